import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { createTracer } from '../helpers/otel.ts';
import { waitFor } from '../helpers/wait.ts';

const CONFIG = `
detector: { interval: 200ms }
policies:
  - name: daily-cost
    scope: api_key
    period: { calendar: day, timezone: UTC }
    limits: { cost_usd: 1, tokens: 5000000 }
    action: revoke
`;

interface RevocationBody {
  version: number;
  generated_at: string;
  entries: { kind: string; id: string; action: string; source: string; ref: string; expires_at?: string }[];
}

async function revocations(t: TestApp, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${t.apiUrl}/v1/revocations`, { headers: { authorization: `Bearer ${t.gatewayToken}`, ...headers } });
}

describe.each(['protobuf', 'json'] as const)('OTel SDK (%s exporter) → collector → ClickHouse → daily quota → revocation list', (format) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close({ cleanup: true });
    t = undefined;
  });

  it('revokes the key over its daily cost and leaves the one under it', async () => {
    t = await startApp({ yaml: CONFIG });
    const sdk = createTracer(t.otlpUrl, format);
    // gpt-4o at list price: 100k input + 50k output = $0.75 per call; 3 calls = $2.25 > $1.
    for (let i = 0; i < 3; i++) {
      sdk.chat({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100_000, 'gen_ai.usage.output_tokens': 50_000, 'tollkeeper.api_key.id': 'key-A' });
    }
    sdk.chat({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100, 'tollkeeper.api_key.id': 'key-B' });
    await sdk.flush();

    const body = await waitFor(
      async () => {
        const b = (await (await revocations(t!)).json()) as RevocationBody;
        return b.entries.some((e) => e.id === 'key-A') ? b : undefined;
      },
      { what: 'key-A on the revocation list' },
    );
    const a = body.entries.find((e) => e.id === 'key-A')!;
    expect(a).toMatchObject({ kind: 'api_key', action: 'revoke', source: 'quota', ref: 'daily-cost' });
    // A calendar-day quota ends at the next UTC midnight.
    expect(Date.parse(a.expires_at!)).toBe(Math.ceil((Date.now() + 1) / 86_400_000) * 86_400_000);
    expect(body.entries.some((e) => e.id === 'key-B')).toBe(false);
    expect(body.version).toBeGreaterThan(0);

    const first = await revocations(t);
    const etag = first.headers.get('etag');
    expect(etag).toBe(`"${body.version}"`);
    const notModified = await revocations(t, { 'if-none-match': etag! });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
    await sdk.shutdown();
  });
});

describe('fresh usage nudges the detector', () => {
  it('acts on a crossed hard limit long before the next interval tick', async () => {
    const t = await startApp({ yaml: CONFIG.replace('interval: 200ms', 'interval: 1h') });
    try {
      // The loop ticks once at start; the next interval tick is an hour away.
      await waitFor(() => t.app.loop!.stats.ticks >= 1, { what: 'first tick' });
      const sdk = createTracer(t.otlpUrl, 'json');
      for (let i = 0; i < 3; i++) sdk.chat({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100_000, 'gen_ai.usage.output_tokens': 50_000, 'tollkeeper.api_key.id': 'nudged' });
      await sdk.flush();
      await waitFor(async () => ((await (await revocations(t)).json()) as RevocationBody).entries.some((e) => e.id === 'nudged'), { what: 'nudged tick', timeoutMs: 10_000 });
      await sdk.shutdown();
    } finally {
      await t.close({ cleanup: true });
    }
  });
});

describe('revocation list auth', () => {
  it('needs a token, and keeps its version across a restart', async () => {
    const first = await startApp();
    const anonymous = await fetch(`${first.apiUrl}/v1/revocations`);
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(`${first.apiUrl}/v1/revocations`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const post = await fetch(`${first.apiUrl}/v1/enforcement`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'revoke', kind: 'api_key', id: 'leaked', reason: 'posted on a forum' }),
    });
    expect(post.status).toBe(200);
    const gatewayPost = await fetch(`${first.apiUrl}/v1/enforcement`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.gatewayToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'restore', kind: 'api_key', id: 'leaked' }),
    });
    expect(gatewayPost.status).toBe(403);
    await first.close();

    const second = await startApp({ dataDir: first.dataDir, database: first.database });
    try {
      const body = (await (await revocations(second)).json()) as RevocationBody;
      expect(body.version).toBe(1);
      expect(body.entries).toMatchObject([{ kind: 'api_key', id: 'leaked', action: 'revoke', source: 'manual' }]);
    } finally {
      await second.close({ cleanup: true });
    }
  });
});
