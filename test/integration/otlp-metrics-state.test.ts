import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

// A cumulative series moves on only with points that were accepted: a point rejected after mapping (a count out of
// range, a time in the future, a missing identity) leaves the series where the last accepted point left it, so the
// next good point counts everything since then, once.

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ yaml: 'identity:\n  required: [api_key]\n' });
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

interface Totals { id: string; input_tokens: number; requests: number }

async function usageOf(apiKey: string): Promise<Totals | undefined> {
  const res = await fetch(`${t.apiUrl}/api/usage/top?kind=api_key&limit=100`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { entities: Totals[] }).entities.find((e) => e.id === apiKey);
}

async function expectUsage(apiKey: string, want: { input: number; requests: number }): Promise<void> {
  const got = await waitFor(async () => {
    const u = await usageOf(apiKey);
    return u && u.input_tokens === want.input && u.requests === want.requests ? u : undefined;
  }, { timeoutMs: 20_000, what: `usage of ${apiKey}` }).catch(async () => usageOf(apiKey));
  expect({ input: got?.input_tokens, requests: got?.requests }).toEqual(want);
}

const START = BigInt(Date.now() - 600_000) * 1_000_000n;

/** Cumulative input points; `attrs` (or a point's own) as raw JSON, `sum` as a raw JSON literal. */
function cumulative(service: string, points: { sum: string; count: number; atMs: number; attrs?: string; start?: bigint }[], attrs: string): string {
  const dataPoints = points.map((p) =>
    `{"attributes":[{"key":"gen_ai.token.type","value":{"stringValue":"input"}},{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},` +
    `{"key":"gen_ai.provider.name","value":{"stringValue":"openai"}}${p.attrs ?? attrs}],` +
    `"startTimeUnixNano":"${p.start ?? START}","timeUnixNano":"${BigInt(p.atMs) * 1_000_000n}","count":"${p.count}","sum":${p.sum}}`).join(',');
  return `{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"${service}"}}]},` +
    `"scopeMetrics":[{"scope":{"name":"manual"},"metrics":[{"name":"gen_ai.client.token.usage","histogram":{"aggregationTemporality":2,"dataPoints":[${dataPoints}]}}]}]}]}`;
}

const keyAttr = (k: string) => `,{"key":"tollkeeper.api_key.id","value":{"stringValue":"${k}"}}`;

async function send(body: string): Promise<{ rejected: number; message: string }> {
  const res = await fetch(`${t.otlpUrl}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(res.status).toBe(200);
  const answer = (await res.json()) as { partialSuccess?: { rejectedDataPoints?: string; errorMessage?: string } };
  return { rejected: Number(answer.partialSuccess?.rejectedDataPoints ?? 0), message: answer.partialSuccess?.errorMessage ?? '' };
}

describe('cumulative series state moves only with accepted points', () => {
  it('a count out of range between two good points: the next good point counts from the last accepted one', async () => {
    const now = Date.now();
    expect((await send(cumulative('state-range', [{ sum: '100', count: 1, atMs: now - 3000 }], keyAttr('k-state-range')))).rejected).toBe(0);
    expect((await send(cumulative('state-range', [{ sum: '1e300', count: 2, atMs: now - 2000 }], keyAttr('k-state-range')))).rejected).toBe(1);
    expect((await send(cumulative('state-range', [{ sum: '150', count: 3, atMs: now - 1000 }], keyAttr('k-state-range')))).rejected).toBe(0);
    await expectUsage('k-state-range', { input: 150, requests: 3 });
  });

  it('a point from the future (a skewed clock) does not make later points look already counted', async () => {
    const now = Date.now();
    expect((await send(cumulative('state-future', [{ sum: '10', count: 1, atMs: now - 3000 }], keyAttr('k-state-future')))).rejected).toBe(0);
    const future = await send(cumulative('state-future', [{ sum: '20', count: 2, atMs: now + 3_600_000 }], keyAttr('k-state-future')));
    expect(future.rejected).toBe(1);
    expect(future.message).toMatch(/future/);
    expect((await send(cumulative('state-future', [{ sum: '30', count: 3, atMs: now - 1000 }], keyAttr('k-state-future')))).rejected).toBe(0);
    await expectUsage('k-state-future', { input: 30, requests: 3 });
  });

  it('within one export, a rejected point between two good ones of the same series is skipped, not subtracted', async () => {
    const now = Date.now();
    const body = cumulative('state-one-export', [
      { sum: '5', count: 1, atMs: now - 3000 },
      { sum: '40', count: 2, atMs: now + 3_600_000 },
      { sum: '60', count: 4, atMs: now - 1000 },
    ], keyAttr('k-state-one'));
    expect((await send(body)).rejected).toBe(1);
    await expectUsage('k-state-one', { input: 60, requests: 4 });
    // A retry of the same export adds nothing.
    expect((await send(body)).rejected).toBe(1);
    await expectUsage('k-state-one', { input: 60, requests: 4 });
  });

  it('two series interleaved in one export, one reset (new start time), a late point after a newer one', async () => {
    const now = Date.now();
    const a = keyAttr('k-state-ia');
    const b = keyAttr('k-state-ib');
    expect((await send(cumulative('state-interleave', [
      { sum: '10', count: 1, atMs: now - 5000, attrs: a }, { sum: '100', count: 1, atMs: now - 5000, attrs: b },
      { sum: '25', count: 2, atMs: now - 4000, attrs: a }, { sum: '150', count: 2, atMs: now - 4000, attrs: b },
    ], ''))).rejected).toBe(0);
    const restart = BigInt(now - 3500) * 1_000_000n;
    expect((await send(cumulative('state-interleave', [
      { sum: '40', count: 3, atMs: now - 2000, attrs: a }, { sum: '7', count: 1, atMs: now - 2000, attrs: b, start: restart },
      { sum: '30', count: 3, atMs: now - 3000, attrs: a },
    ], ''))).rejected).toBe(0);
    await expectUsage('k-state-ia', { input: 40, requests: 3 });
    await expectUsage('k-state-ib', { input: 157, requests: 3 });
  });
});
