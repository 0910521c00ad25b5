import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';
import { waitFor } from '../helpers/wait.ts';

// A `tokens_per_minute` throttle enforced by /v1/authorize: tokens are known only after a call, so the stored usage
// of the throttled entity (real spans through OTLP, stored by the writer) debits a post-paid bucket, and while the
// bucket is in debt both listeners refuse with 429 and Retry-After = the time until the debt is repaid.

const TPM = 600; // 10 tokens a second, one minute's worth (600) at once
let t: TestApp;
let gw: Record<string, string>;

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

async function authorize(base: string, apiKey: string): Promise<Answer> {
  const res = await fetch(`${base}/v1/authorize`, { headers: { ...gw, 'x-tollkeeper-api-key': apiKey } });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

async function enforce(body: unknown): Promise<number> {
  const res = await fetch(`${t.apiUrl}/v1/enforcement`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { version: number }).version;
}

/** Both listeners' copies of the list are at `version`. */
async function settled(version: number): Promise<void> {
  await waitFor(async () => {
    const codes = await Promise.all([t.apiUrl, t.gatewayUrl].map(async (base) => (await fetch(`${base}/v1/revocations`, { headers: { ...gw, 'if-none-match': `"${version}"` } })).status));
    return codes.every((c) => c === 304);
  }, { what: `both listeners at version ${version}` });
}

async function spend(calls: { key: string; input: number; output: number }[]): Promise<void> {
  const spans = calls.map((c) => chatSpan({ 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': c.input, 'gen_ai.usage.output_tokens': c.output, 'api_key.id': c.key }));
  const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: exportJson(spans) });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
}

describe('tokens_per_minute throttles on /v1/authorize (post-paid bucket)', () => {
  beforeAll(async () => {
    t = await startApp({ yaml: 'detector: { interval: 200ms }\nanomaly: { enabled: false }' });
    gw = { authorization: `Bearer ${t.gatewayToken}` };
    for (const id of ['k-heavy', 'k-light']) await enforce({ action: 'throttle', kind: 'api_key', id, reason: 'token diet', limit: { tokens_per_minute: TPM } });
    await settled(await enforce({ action: 'throttle', kind: 'api_key', id: 'k-both', reason: 'both limits', limit: { tokens_per_minute: TPM, requests_per_minute: 600 } }));
  });
  afterAll(async () => {
    await t.close({ cleanup: true });
  });

  it('lets a throttled key through while its bucket is not in debt', async () => {
    for (const base of [t.apiUrl, t.gatewayUrl]) expect((await authorize(base, 'k-heavy')).status).toBe(200);
  });

  it('refuses with 429 once stored usage puts it in debt, Retry-After = time to repay, on both listeners', async () => {
    // 5,000 tokens against a bucket of 600 refilling 10 a second: 4,400 in debt, repaid in 440 s. k-light spends
    // 100 of its 600 in the same request (before k-heavy, so it is stored no later): it stays allowed.
    await spend([{ key: 'k-light', input: 80, output: 20 }, { key: 'k-heavy', input: 4_000, output: 1_000 }, { key: 'k-both', input: 3_000, output: 0 }]);
    const [api, gateway] = await waitFor(async () => {
      const r = await Promise.all([authorize(t.apiUrl, 'k-heavy'), authorize(t.gatewayUrl, 'k-heavy')]);
      return r.every((a) => a.status === 429) ? r : null;
    }, { what: 'k-heavy refused on both listeners' });
    for (const a of [api, gateway]) {
      const seconds = Number(a.headers.get('retry-after'));
      // Up to 440 s; a little less as time passed since the usage was stored (the test waits at most 20 s).
      expect(seconds).toBeGreaterThan(415);
      expect(seconds).toBeLessThanOrEqual(440);
      expect(a.headers.get('ratelimit-policy')).toBe(`"manual";q=${TPM};qu="tokens";w=60`);
      expect(a.headers.get('ratelimit')).toBe(`"manual";r=0;t=${seconds}`);
      expect(a.headers.get('x-tollkeeper-reason')).toBe('throttle: token diet');
      expect(JSON.parse(a.body)).toMatchObject({ decision: 'throttle', entity: { kind: 'api_key', id: 'k-heavy' }, source: 'manual' });
    }
    for (const base of [t.apiUrl, t.gatewayUrl]) {
      expect((await authorize(base, 'k-light')).status).toBe(200);
      // A key with a request rate as well: refused for its token debt (the longer wait), 240 s at most.
      const both = await authorize(base, 'k-both');
      expect(both.status).toBe(429);
      expect(Number(both.headers.get('retry-after'))).toBeGreaterThan(215);
      expect(Number(both.headers.get('retry-after'))).toBeLessThanOrEqual(240);
    }
  });

  it('lets the key through again once it is restored', async () => {
    await settled(await enforce({ action: 'restore', kind: 'api_key', id: 'k-heavy', reason: 'topped up' }));
    for (const base of [t.apiUrl, t.gatewayUrl]) expect((await authorize(base, 'k-heavy')).status).toBe(200);
  });
});
