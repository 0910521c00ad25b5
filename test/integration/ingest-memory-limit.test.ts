// The memory limiter on the real app: with a limit below the process's resident memory, every new trace request is
// refused with 429 and Retry-After before its body is read, nothing of it is stored, and the refusals show on
// /metrics and in the ingest stats. With the limiter off (0) the same request is stored.
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';
import { parseExposition } from '../helpers/prometheus.ts';

const METRICS_TOKEN = 'tkm_memory-limit-metrics-token';
let t: TestApp | undefined;
afterEach(async () => {
  await t?.close({ cleanup: true });
  t = undefined;
});

const spans = () => [1, 2].map(() => chatSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20, 'api_key.id': 'k-mem' }));

async function post(app: TestApp): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const res = await fetch(`${app.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: exportJson(spans()) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

async function stored(app: TestApp): Promise<number> {
  const [r] = await app.app.store.query<{ n: number }>(`SELECT count() AS n FROM ${app.app.store.table('usage_events')}`);
  return Number(r?.n ?? -1);
}

describe('ingest.memory_limit_mib', () => {
  it('refuses new requests with 429 and Retry-After while resident memory is over the limit, and counts them', async () => {
    t = await startApp({ startLoop: false, yaml: [`auth: { metrics_token: ${METRICS_TOKEN} }`, 'ingest: { memory_limit_mib: 1, memory_spike_mib: 0 }'].join('\n') });
    const app = t;
    for (let i = 0; i < 3; i++) {
      const r = await post(app);
      expect(r.status).toBe(429);
      expect(r.retryAfter).toBe('1');
      expect(JSON.parse(r.body)).toMatchObject({ code: 8, message: expect.stringContaining('collector over its memory limit') as string });
    }
    await app.app.writer!.flush();
    expect(await stored(app)).toBe(0);

    const res = await fetch(`${app.otlpUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const m = parseExposition(await res.text());
    expect(m.samples.get('tollkeeper_ingest_requests_refused_total{reason="memory"}')).toBe(3);
    expect(m.samples.get('tollkeeper_ingest_memory_limited')).toBe(1);
    expect(m.sum('tollkeeper_ingest_requests_total', { code: '429' })).toBe(3);

    await app.app.stats!.flush();
    const stats = await fetch(`${app.apiUrl}/api/usage/ingest`, { headers: { authorization: `Bearer ${app.adminToken}` } });
    expect(((await stats.json()) as { requests_refused: Record<string, number> }).requests_refused).toEqual({ memory: 3 });
  });

  it('is off at 0: the same request is stored and nothing is refused', async () => {
    t = await startApp({ startLoop: false, yaml: [`auth: { metrics_token: ${METRICS_TOKEN} }`, 'ingest: { memory_limit_mib: 0 }'].join('\n') });
    const app = t;
    expect((await post(app)).status).toBe(200);
    expect(await stored(app)).toBe(2);
    expect(app.app.memoryLimiter).toBeUndefined();
    const m = parseExposition(await (await fetch(`${app.otlpUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text());
    expect(m.sum('tollkeeper_ingest_requests_refused_total')).toBe(0);
    expect(m.types.has('tollkeeper_ingest_memory_limited')).toBe(false);
  });
});
