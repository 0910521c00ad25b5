import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close({ cleanup: true });
  t = undefined;
});

const HOUR_AGO = Date.now() - 3_600_000;
let seq = 0;
function body(spans: { model: string; provider: string; input: number; output: number; key: string; cost?: number }[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: spans.map((s) => {
              seq++;
              const end = BigInt(HOUR_AGO + seq) * 1_000_000n;
              const attrs: [string, object][] = [
                ['gen_ai.operation.name', { stringValue: 'chat' }],
                ['gen_ai.request.model', { stringValue: s.model }],
                ['gen_ai.provider.name', { stringValue: s.provider }],
                ['gen_ai.usage.input_tokens', { intValue: s.input }],
                ['gen_ai.usage.output_tokens', { intValue: s.output }],
                ['tollkeeper.api_key.id', { stringValue: s.key }],
              ];
              if (s.cost !== undefined) attrs.push(['gen_ai.usage.cost', { doubleValue: s.cost }]);
              return {
                traceId: seq.toString(16).padStart(32, '0'),
                spanId: seq.toString(16).padStart(16, '0'),
                name: 'chat',
                startTimeUnixNano: String(end - 1000n),
                endTimeUnixNano: String(end),
                attributes: attrs.map(([key, value]) => ({ key, value })),
              };
            }),
          },
        ],
      },
    ],
  });
}

async function call(app: TestApp, method: string, path: string, payload?: unknown) {
  const res = await fetch(`${app.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${app.adminToken}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
    ...(payload ? { body: JSON.stringify(payload) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function costs(app: TestApp) {
  const raw = await app.app.store.query<{ model: string; cost: number; source: string; version: string }>(
    `SELECT model, sum(cost_usd) AS cost, any(cost_source) AS source, any(price_version) AS version FROM ${app.app.store.table('usage_events')} FINAL GROUP BY model ORDER BY model`,
  );
  const rollup = await app.app.store.query<{ cost: number; unpriced: number }>(
    `SELECT sum(cost_usd) AS cost, sum(unpriced_requests) AS unpriced FROM ${app.app.store.table('usage_minute')} WHERE kind = 'api_key'`,
  );
  return { raw, rollup: rollup[0]! };
}

describe('pricing in the store', () => {
  it('stores cost source and price version, surfaces unpriced usage, and re-rates after an override', async () => {
    t = await startApp({ yaml: 'policies: [{ name: d, scope: api_key, limits: { cost_usd: 100 } }]' });
    const res = await fetch(`${t.otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body([
        { model: 'gpt-4o', provider: 'openai', input: 1_000_000, output: 100_000, key: 'k' },
        { model: 'acme-llm-7', provider: 'acme', input: 1_000_000, output: 0, key: 'k' },
        { model: 'acme-llm-7', provider: 'acme', input: 10, output: 0, key: 'k', cost: 0.5 },
      ]),
    });
    expect(res.status).toBe(200);
    const before = await costs(t);
    // gpt-4o list price: $2.50 / M input, $10 / M output.
    expect(before.raw.find((r) => r.model === 'gpt-4o')).toMatchObject({ cost: 3.5, source: 'price_db' });
    expect(before.raw.find((r) => r.model === 'gpt-4o')!.version).toMatch(/^genai-prices@/);
    expect(before.rollup).toEqual({ cost: 4, unpriced: 1 });

    const unpriced = await call(t, 'GET', '/api/usage/unpriced');
    expect(unpriced.body).toMatchObject({ total_requests: 1, models: [{ provider: 'acme', model: 'acme-llm-7', requests: 1 }] });
    const status = await call(t, 'GET', '/api/quotas/status?scope=api_key&id=k');
    expect(status.body.policies[0].unpriced_requests).toBe(1);

    const { dataDir, database } = t;
    await t.close();
    t = await startApp({
      dataDir,
      database,
      yaml: 'pricing: { overrides: [{ provider: acme, model: acme-llm-7, input_per_mtok: 2, output_per_mtok: 4, effective_from: 2020-01-01 }, { provider: openai, model: gpt-4o, input_per_mtok: 1, output_per_mtok: 5, effective_from: 2020-01-01 }] }',
    });
    const range = { from: new Date(HOUR_AGO - 60_000).toISOString(), to: new Date(HOUR_AGO + 60_000).toISOString() };
    expect((await call(t, 'POST', '/api/usage/reprice', { from: range.from, to: new Date().toISOString() })).status).toBe(400);
    const dry = await call(t, 'POST', '/api/usage/reprice', { ...range, dry_run: true });
    expect(dry.body).toMatchObject({ scanned: 3, changed: 3, dry_run: true });
    expect((await costs(t)).rollup.cost).toBe(4);
    const done = await call(t, 'POST', '/api/usage/reprice', range);
    expect(done.body).toMatchObject({ scanned: 3, changed: 3, bySource: { override: 3 } });
    const after = await costs(t);
    // Override beats span cost and list price: acme 1M + 10 input at $2/M, gpt-4o 1M at $1 + 0.1M at $5.
    expect(after.raw.find((r) => r.model === 'gpt-4o')).toMatchObject({ cost: 1.5, source: 'override', version: 'override:openai/gpt-4o@2020-01-01' });
    expect(after.raw.find((r) => r.model === 'acme-llm-7')!.cost).toBeCloseTo(2.00002, 8);
    expect(after.rollup.cost).toBeCloseTo(3.50002, 8);
    expect(after.rollup.unpriced).toBe(0);
    const again = await call(t, 'POST', '/api/usage/reprice', range);
    expect(again.body.changed).toBe(0);
    expect((await costs(t)).rollup.cost).toBeCloseTo(3.50002, 8);
  });
});
