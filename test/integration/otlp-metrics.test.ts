import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { parseExposition } from '../helpers/prometheus.ts';
import { waitFor } from '../helpers/wait.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ yaml: 'policies:\n  - { name: key-tokens, scope: api_key, period: { calendar: day, timezone: UTC }, limits: { tokens: 1000000 }, action: alert }\n' });
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

/** A real OTel metrics SDK pipeline (one "process" of the sender), flushed by hand. */
function sender(service: string, temporality: AggregationTemporality) {
  const exporter = new OTLPMetricExporter({ url: `${t.otlpUrl}/v1/metrics`, temporalityPreference: temporality });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': service }), readers: [reader] });
  const histogram = provider.getMeter('test-genai').createHistogram('gen_ai.client.token.usage', { unit: '{token}' });
  return {
    call(apiKey: string, input: number, output: number) {
      const attrs = { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'tollkeeper.api_key.id': apiKey };
      histogram.record(input, { ...attrs, 'gen_ai.token.type': 'input' });
      histogram.record(output, { ...attrs, 'gen_ai.token.type': 'output' });
    },
    flush: () => reader.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

interface Totals { id: string; input_tokens: number; output_tokens: number; requests: number; cost_usd: number; unpriced_requests: number }

async function usageOf(apiKey: string): Promise<Totals | undefined> {
  const res = await fetch(`${t.apiUrl}/api/usage/top?kind=api_key&limit=100`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { entities: Totals[] };
  return body.entities.find((e) => e.id === apiKey);
}

/** Waits until the key's stored usage is exactly `want` (a bounded wait on the store, then a strict comparison). */
async function expectUsage(apiKey: string, want: { input: number; output: number; requests: number }) {
  const got = await waitFor(async () => {
    const u = await usageOf(apiKey);
    return u && u.input_tokens === want.input && u.output_tokens === want.output && u.requests === want.requests ? u : undefined;
  }, { timeoutMs: 20_000, what: `usage of ${apiKey}` }).catch(async () => usageOf(apiKey));
  expect({ input: got?.input_tokens, output: got?.output_tokens, requests: got?.requests }).toEqual(want);
  return got!;
}

describe('POST /v1/metrics with the OTel metrics SDK', () => {
  it('delta temporality: each export adds its points; priced like spans and visible in quotas', async () => {
    const s = sender('metrics-delta', AggregationTemporality.DELTA);
    s.call('k-delta', 100, 20);
    s.call('k-delta', 50, 10);
    await s.flush();
    s.call('k-delta', 7, 3);
    await s.flush();
    await s.flush(); // nothing recorded since: nothing to add
    const u = await expectUsage('k-delta', { input: 157, output: 33, requests: 3 });
    expect(u.cost_usd).toBeGreaterThan(0);
    expect(u.unpriced_requests).toBe(0);
    const q = await fetch(`${t.apiUrl}/api/quotas/status?scope=api_key&id=k-delta`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(q.status).toBe(200);
    expect(JSON.stringify(await q.json())).toContain('190');
    await s.shutdown();
  });

  it('cumulative temporality: deltas per series, a sender restart counts from zero, nothing twice', async () => {
    const first = sender('metrics-cumulative', AggregationTemporality.CUMULATIVE);
    first.call('k-cum', 100, 10);
    await first.flush();
    first.call('k-cum', 40, 4);
    await first.flush();
    await first.flush(); // the same totals again: nothing new
    await expectUsage('k-cum', { input: 140, output: 14, requests: 2 });
    await first.shutdown();
    // The sender restarts: a new start time, its totals begin again from zero.
    const second = sender('metrics-cumulative', AggregationTemporality.CUMULATIVE);
    second.call('k-cum', 5, 1);
    await second.flush();
    await expectUsage('k-cum', { input: 145, output: 15, requests: 3 });
    await second.shutdown();
  });
});

function jsonExport(service: string, apiKey: string, temporality: number, startNano: bigint, timeNano: bigint, input: number, output: number, count: number): string {
  const point = (type: string, sum: number) => ({
    attributes: [
      { key: 'gen_ai.token.type', value: { stringValue: type } },
      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
      { key: 'gen_ai.provider.name', value: { stringValue: 'openai' } },
      { key: 'tollkeeper.api_key.id', value: { stringValue: apiKey } },
    ],
    startTimeUnixNano: String(startNano),
    timeUnixNano: String(timeNano),
    count: String(count),
    sum,
  });
  return JSON.stringify({
    resourceMetrics: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeMetrics: [{ scope: { name: 'manual' }, metrics: [{ name: 'gen_ai.client.token.usage', histogram: { aggregationTemporality: temporality, dataPoints: [point('input', input), point('output', output)] } }] }],
    }],
  });
}

const postMetrics = (body: string) => fetch(`${t.otlpUrl}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('POST /v1/metrics in OTLP/JSON', () => {
  it('a repeated export of the same point counts once (delta and cumulative)', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    for (const temporality of [1, 2]) {
      const body = jsonExport('metrics-json', `k-repeat-${temporality}`, temporality, now - 60_000_000_000n, now, 30, 6, 2);
      for (let i = 0; i < 3; i++) {
        const res = await postMetrics(body);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({});
      }
      await expectUsage(`k-repeat-${temporality}`, { input: 30, output: 6, requests: 2 });
    }
  });

  it('a service that sends GenAI spans is counted from its spans only', async () => {
    const end = BigInt(Date.now()) * 1_000_000n;
    const span = {
      traceId: 'c'.repeat(32),
      spanId: 'd'.repeat(16),
      name: 'chat gpt-4o-mini',
      startTimeUnixNano: String(end - 1_000_000n),
      endTimeUnixNano: String(end),
      attributes: [
        { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
        { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
        { key: 'gen_ai.provider.name', value: { stringValue: 'openai' } },
        { key: 'gen_ai.usage.input_tokens', value: { intValue: 11 } },
        { key: 'gen_ai.usage.output_tokens', value: { intValue: 2 } },
        { key: 'tollkeeper.api_key.id', value: { stringValue: 'k-both' } },
      ],
    };
    const traces = await fetch(`${t.otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc-both' } }] }, scopeSpans: [{ spans: [span] }] }] }),
    });
    expect(traces.status).toBe(200);
    const skippedBefore = t.app.metricsIngest!.counters.pointsSkippedForSpans;
    expect((await postMetrics(jsonExport('svc-both', 'k-both', 1, end - 60_000_000_000n, end, 11, 2, 1))).status).toBe(200);
    expect(t.app.metricsIngest!.counters.pointsSkippedForSpans).toBe(skippedBefore + 2);
    // SREs see the skipped points on /metrics.
    const scraped = await fetch(`${t.otlpUrl}/metrics`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(scraped.status).toBe(200);
    const exposition = parseExposition(await scraped.text());
    expect(exposition.sum('tollkeeper_ingest_metric_points_skipped_total', { reason: 'service_sends_spans' })).toBe(skippedBefore + 2);
    expect(exposition.sum('tollkeeper_ingest_metric_points_received_total')).toBeGreaterThanOrEqual(2);
    await expectUsage('k-both', { input: 11, output: 2, requests: 1 });
  });

  it('rejects malformed bodies with an OTLP status', async () => {
    const res = await postMetrics('{"resourceMetrics": 5}');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain('resourceMetrics');
  });
});

describe('POST /v1/logs', () => {
  it('answers 200 with every record rejected and a message, in JSON and protobuf', async () => {
    const body = JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'a' } }, { body: { stringValue: 'b' } }] }] }] });
    const res = await fetch(`${t.otlpUrl}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ partialSuccess: { rejectedLogRecords: '2', errorMessage: expect.stringContaining('not ingested') as unknown } });
    const pb = await fetch(`${t.otlpUrl}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0) });
    expect(pb.status).toBe(200);
    expect(pb.headers.get('content-type')).toContain('application/x-protobuf');
  });
});
