import { afterAll, describe, expect, it } from 'vitest';
import { startApp, tempDataDir, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

let t: TestApp | undefined;
afterAll(async () => {
  await t?.close({ cleanup: true });
});

/** One cumulative export of input and output totals for one series (OTLP/JSON). */
function cumulative(startNano: bigint, timeNano: bigint, input: number, output: number, count: number): string {
  const point = (type: string, sum: number) => ({
    attributes: [
      { key: 'gen_ai.token.type', value: { stringValue: type } },
      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
      { key: 'gen_ai.provider.name', value: { stringValue: 'openai' } },
      { key: 'tollkeeper.api_key.id', value: { stringValue: 'k-restart' } },
    ],
    startTimeUnixNano: String(startNano),
    timeUnixNano: String(timeNano),
    count: String(count),
    sum,
  });
  return JSON.stringify({ resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc-restart' } }] }, scopeMetrics: [{ metrics: [{ name: 'gen_ai.client.token.usage', histogram: { aggregationTemporality: 2, dataPoints: [point('input', input), point('output', output)] } }] }] }] });
}

async function post(app: TestApp, body: string) {
  const res = await fetch(`${app.otlpUrl}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(res.status).toBe(200);
}

async function inputTokens(app: TestApp): Promise<number | undefined> {
  const res = await fetch(`${app.apiUrl}/api/usage/top?kind=api_key`, { headers: { authorization: `Bearer ${app.adminToken}` } });
  const body = (await res.json()) as { entities: { id: string; input_tokens: number }[] };
  return body.entities.find((e) => e.id === 'k-restart')?.input_tokens;
}

describe('cumulative metric series across a tollkeeper restart', () => {
  it('counts only the growth after the restart, not the whole total again', async () => {
    const dataDir = tempDataDir();
    const start = (BigInt(Date.now()) - 120_000n) * 1_000_000n;
    const first = await startApp({ dataDir });
    await post(first, cumulative(start, start + 60_000_000_000n, 100, 10, 2));
    await waitFor(async () => ((await inputTokens(first)) === 100 ? true : undefined), { timeoutMs: 20_000, what: 'first export stored' });
    await first.close();
    t = await startApp({ dataDir, database: first.database });
    await post(t, cumulative(start, start + 60_000_000_000n, 100, 10, 2)); // the exporter retries the last export
    await post(t, cumulative(start, start + 120_000_000_000n, 130, 13, 3));
    const app = t;
    await waitFor(async () => ((await inputTokens(app)) === 130 ? true : undefined), { timeoutMs: 20_000, what: 'growth stored' }).catch(() => undefined);
    expect(await inputTokens(app)).toBe(130);
  });
});
