// The at-scale shape, live: two `tollkeeper collector` processes and one `tollkeeper detector` (the real CLI) against
// a ClickHouse server (the HTTP shim over chdb, test/helpers/clickhouse-http.ts), spans from the real OTel SDK.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../../store/clickhouse.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import type { ClickHouse } from '../../store/port.ts';
import { AppExitedError, startAppProcess, type AppProcess } from '../helpers/app-process.ts';
import { startClickHouseHttp, type ClickHouseHttp } from '../helpers/clickhouse-http.ts';
import { usageEvent } from '../helpers/events.ts';
import { createTracer } from '../helpers/otel.ts';
import { eventTotals, rollupTotals } from '../helpers/test-store.ts';
import { waitFor } from '../helpers/wait.ts';

// Every process gets the same file, as a deployment must (pricing, identity and policies are read by each role).
const YAML = `
detector: { interval: 250ms }
anomaly: { actions: { warning: alert, critical: revoke } }
policies:
  - name: user-daily
    scope: user
    period: { calendar: day, timezone: UTC }
    limits: { cost_usd: 1, requests: 1000 }
    action: revoke
`;
const HOUR = 3_600_000;
const BIG_CALL = { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100_000, 'gen_ai.usage.output_tokens': 50_000 };

let shim: ClickHouseHttp;
let store: ClickHouse;
let collectors: AppProcess[] = [];
let detector: AppProcess;
const root = mkdtempSync(join(tmpdir(), 'tk-split-'));
const start = (role: 'collector' | 'detector', name: string) =>
  startAppProcess({ role, dataDir: join(root, name), yaml: YAML, args: ['--clickhouse-url', shim.url] });

async function api(path: string): Promise<any> {
  const res = await fetch(`${detector.apiUrl}${path}`, { headers: { authorization: `Bearer ${detector.adminToken}` } });
  expect(res.status).toBe(200);
  return res.json();
}

/** What the detector's quota status says `user` used today (requests and cost). */
async function usedBy(user: string): Promise<{ requests: number; cost: number }> {
  const body = await api(`/api/quotas/status?scope=user&id=${user}`);
  const dims = body.policies[0].dimensions;
  return { requests: dims.requests.used, cost: dims.cost_usd.used };
}

/** Finished spans from the real SDK, held to be exported by hand (the same batch to two collectors). */
function recordSpans(n: number, attributes: Record<string, string | number>): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('split-test');
  for (let i = 0; i < n; i++) tracer.startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', ...attributes } }).end();
  return memory.getFinishedSpans();
}

/** One export by an OTel SDK exporter, as a promise (a failed export always carries its error: otlp-exporter-base). */
function exported<T>(exporter: { export(items: T, done: (r: { error?: Error }) => void): void }, items: T): Promise<void> {
  return new Promise((resolve, reject) => exporter.export(items, (r) => (r.error ? reject(r.error) : resolve())));
}

const exportTo = (otlpUrl: string, spans: ReadableSpan[]) => exported(new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces` }), spans);

/** A metric reader collected by hand, so one sender's successive exports can go to different collectors. */
class HandReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const exportMetricsTo = (otlpUrl: string, metrics: ResourceMetrics) => exported(new OTLPMetricExporter({ url: `${otlpUrl}/v1/metrics` }), metrics);

beforeAll(async () => {
  shim = await startClickHouseHttp({ path: join(root, 'clickhouse') });
  // All three at once, as an orchestrator starts them: each runs the migrations on start.
  const [d, a, b] = await Promise.all([start('detector', 'detector'), start('collector', 'collector-a'), start('collector', 'collector-b')]);
  detector = d;
  collectors = [a, b];
  store = await openClickHouse({ kind: 'server', url: shim.url, database: 'tollkeeper', username: 'default', password: '' });
});
afterAll(async () => {
  await Promise.all([...collectors, detector].map((p) => p?.stop()));
  await store?.close();
  await shim?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('collectors and a detector as separate processes on a ClickHouse server', () => {
  it('counts a batch sent to both collectors once, in raw events, rollups and the quota', async () => {
    const spans = recordSpans(3, { ...BIG_CALL, 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 10, 'user.id': 'u-once', 'tollkeeper.api_key.id': 'k-once' });
    // A retry after a lost answer reaches the other replica: the same spans, acknowledged by both.
    await exportTo(collectors[0]!.otlpUrl, spans);
    await exportTo(collectors[1]!.otlpUrl, spans);
    expect(await eventTotals(store, 'k-once')).toMatchObject({ rows: 3, distinctIds: 3 });
    expect(await rollupTotals(store, 'k-once')).toMatchObject({ events: 3, requests: 3 });
    expect(await waitFor(async () => ((await usedBy('u-once')).requests === 3 ? usedBy('u-once') : undefined), { what: 'u-once in the quota status' })).toMatchObject({ requests: 3 });
  });

  it('counts a cumulative token metric once when its exports alternate between the collectors', async () => {
    const reader = new HandReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
    const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'metrics-behind-lb' }), readers: [reader] });
    const histogram = provider.getMeter('split-test').createHistogram('gen_ai.client.token.usage', { unit: '{token}' });
    const call = (input: number, output: number) => {
      const attrs = { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'tollkeeper.api_key.id': 'k-metrics' };
      histogram.record(input, { ...attrs, 'gen_ai.token.type': 'input' });
      histogram.record(output, { ...attrs, 'gen_ai.token.type': 'output' });
    };
    // A load balancer sends successive exports of the one series to A, B, then A again.
    for (const [i, [input, output]] of [[100, 10], [50, 5], [25, 5]].entries()) {
      call(input!, output!);
      await exportMetricsTo(collectors[i % 2]!.otlpUrl, (await reader.collect()).resourceMetrics);
    }
    await provider.shutdown();
    expect(await eventTotals(store, 'k-metrics')).toMatchObject({ inputTokens: 175 });
    expect(await rollupTotals(store, 'k-metrics')).toMatchObject({ inputTokens: 175, requests: 3 });
  });

  it('puts a user over its quota on the detector revocation list, and an attacking key in an incident', async () => {
    // A week of ordinary spend for a few keys, so the detector knows what usual is.
    const now = Date.now();
    const history = ['k-1', 'k-2', 'k-3', 'k-4'].flatMap((key) =>
      Array.from({ length: 7 * 24 }, (_, h) => usageEvent({ apiKey: key, tenant: 'acme', costUsd: 0.6, inputTokens: 12_000, requests: 20, time: now - (h + 1) * HOUR })),
    );
    await createUsageRepo(store).insert(history);
    const a = createTracer(collectors[0]!.otlpUrl, 'protobuf');
    const b = createTracer(collectors[1]!.otlpUrl, 'json');
    // gpt-4o at list price: $0.75 a call; three calls are over the user's $1 a day.
    for (let i = 0; i < 3; i++) (i % 2 ? b : a).chat({ ...BIG_CALL, 'user.id': 'u-quota' });
    for (let i = 0; i < 40; i++) (i % 2 ? b : a).chat({ ...BIG_CALL, 'tollkeeper.api_key.id': 'k-leaked', 'tenant.id': 'acme' });
    await Promise.all([a.flush(), b.flush()]);

    const list = await waitFor(
      async () => {
        const body = await api('/v1/revocations');
        return body.entries.some((e: any) => e.id === 'u-quota') && body.entries.some((e: any) => e.id === 'k-leaked') ? body : undefined;
      },
      { what: 'u-quota and k-leaked on the revocation list', timeoutMs: 30_000 },
    );
    expect(list.entries.find((e: any) => e.id === 'u-quota')).toMatchObject({ kind: 'user', action: 'revoke', source: 'quota', ref: 'user-daily' });
    expect(list.entries.find((e: any) => e.id === 'k-leaked')).toMatchObject({ kind: 'api_key', action: 'revoke', source: 'anomaly' });
    const incidents = (await api('/api/incidents?entity=k-leaked')).incidents;
    expect(incidents[0]).toMatchObject({ entity: { kind: 'api_key', id: 'k-leaked' }, severity: 'critical', status: 'open' });
    await Promise.all([a.shutdown(), b.shutdown()]);

    // A restarted detector serves the same list under the same version, rebuilt from the store.
    await detector.stop();
    detector = await start('detector', 'detector');
    const again = await api('/v1/revocations');
    expect(again.version).toBe(list.version);
    expect(again.entries.map((e: any) => `${e.kind}:${e.id}`).sort()).toEqual(list.entries.map((e: any) => `${e.kind}:${e.id}`).sort());
  });

  it('refuses a collector that would hash secret attributes with a key of its own (the detector checks the same)', async () => {
    const yaml = `${YAML}identity: { secret_attributes: [api_key.secret] }\n`;
    const err = await startAppProcess({ role: 'collector', dataDir: join(root, 'collector-own-key'), yaml, args: ['--clickhouse-url', shim.url] }).then(
      async (p) => {
        await p.stop();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppExitedError);
    expect((err as AppExitedError).code).toBe(2);
    expect((err as AppExitedError).output).toMatch(/identity\.hash_key/);
  });

  it('acknowledges from the spool while the store is down, serves the list meanwhile, and counts the spans once it is back', async () => {
    const before = await api('/v1/revocations');
    await shim.down();
    try {
      const res = await fetch(`${collectors[1]!.otlpUrl}/readyz`);
      expect(res.status).toBe(503);
      // Gateways keep being answered from the detector's memory while the store is away.
      expect(await api('/v1/revocations')).toMatchObject({ version: before.version, entries: before.entries });
      await exportTo(collectors[1]!.otlpUrl, recordSpans(2, { ...BIG_CALL, 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 10, 'user.id': 'u-spool' }));
    } finally {
      await shim.up();
    }
    await waitFor(async () => (await usedBy('u-spool')).requests === 2, { what: 'the spooled spans counted on the detector', timeoutMs: 20_000 });
    expect(await waitFor(async () => (await fetch(`${collectors[1]!.otlpUrl}/readyz`)).ok, { what: 'the collector ready again' })).toBe(true);
  });
});
