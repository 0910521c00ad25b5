import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../app/metrics.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';
import { parseExposition, type Exposition } from '../helpers/prometheus.ts';
import { waitFor } from '../helpers/wait.ts';

// GET /metrics on the real app: scraped over HTTP, parsed strictly, and checked to move with what the app does.
const METRICS_TOKEN = 'tkm_metrics-token-for-the-test';
let t: TestApp;

async function scrape(base = t.apiUrl, token: string | null = METRICS_TOKEN): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

async function metrics(base = t.apiUrl): Promise<Exposition> {
  const r = await scrape(base);
  expect(r.status).toBe(200);
  return parseExposition(r.text);
}

async function postTraces(spans: Parameters<typeof exportJson>[0]): Promise<number> {
  const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: exportJson(spans) });
  await res.arrayBuffer();
  return res.status;
}

describe('GET /metrics', () => {
  beforeAll(async () => {
    t = await startApp({
      yaml: [
        'detector: { interval: 200ms }',
        `auth: { metrics_token: ${METRICS_TOKEN} }`,
        // Nothing listens on port 9 of 127.0.0.1: every delivery attempt fails at once.
        'alerts: { webhooks: [{ url: "http://127.0.0.1:9/hook", secret: whsec_metricstest, events: [key.revoked] }] }',
      ].join('\n'),
    });
  });
  afterAll(async () => {
    await t.close({ cleanup: true });
  });

  it('answers the metrics and admin tokens, refuses the gateway token and anonymous callers', async () => {
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect((await scrape(t.apiUrl, t.adminToken)).status).toBe(200);
    expect((await scrape(t.apiUrl, t.gatewayToken)).status).toBe(403);
    expect((await scrape(t.apiUrl, null)).status).toBe(401);
    // The metrics token reads nothing else.
    const other = await fetch(`${t.apiUrl}/v1/revocations`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(other.status).toBe(403);
    await other.arrayBuffer();
  });

  it('is valid exposition text holding every documented family, process metrics included', async () => {
    const m = await metrics();
    for (const family of [
      'tollkeeper_ingest_spans_received_total',
      'tollkeeper_ingest_events_stored_total',
      'tollkeeper_ingest_spans_rejected_total',
      'tollkeeper_spool_batches',
      'tollkeeper_spool_bytes',
      'tollkeeper_dead_events_total',
      'tollkeeper_writer_lag_seconds',
      'tollkeeper_ingest_body_bytes',
      'tollkeeper_ingest_body_budget_refusals_total',
      'tollkeeper_ingest_metric_points_received_total',
      'tollkeeper_detector_tick_seconds',
      'tollkeeper_detector_findings_total',
      'tollkeeper_outbox_backlog',
      'tollkeeper_outbox_delivery_failures_total',
      'tollkeeper_revocation_list_version',
      'tollkeeper_revocation_list_entries',
      'tollkeeper_revocation_polls_total',
      'tollkeeper_authorize_decisions_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(m.types.has(family.replace(/_total$/, '')) || m.types.has(family), family).toBe(true);
    }
    expect(m.types.get('tollkeeper_detector_tick_seconds')).toBe('histogram');
    expect(m.sum('process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
  });

  it('moves with ingest: spans received and stored, rejections by reason, answers by status', async () => {
    const before = await metrics();
    const good = [1, 2, 3].map(() => chatSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20, 'api_key.id': 'k-metrics' }));
    const bad = chatSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': -5, 'api_key.id': 'k-metrics' });
    expect(await postTraces([...good, bad])).toBe(200);
    const after = await waitFor(async () => {
      const m = await metrics(t.otlpUrl);
      return m.sum('tollkeeper_ingest_events_stored_total') - before.sum('tollkeeper_ingest_events_stored_total') >= 3 ? m : null;
    }, { what: 'three stored events in the metrics' });
    expect(after.sum('tollkeeper_ingest_spans_received_total') - before.sum('tollkeeper_ingest_spans_received_total')).toBe(4);
    expect(after.sum('tollkeeper_ingest_events_stored_total') - before.sum('tollkeeper_ingest_events_stored_total')).toBe(3);
    expect(after.sum('tollkeeper_ingest_spans_rejected_total') - before.sum('tollkeeper_ingest_spans_rejected_total')).toBe(1);
    expect(after.sum('tollkeeper_ingest_requests_total', { code: '200' }) - before.sum('tollkeeper_ingest_requests_total', { code: '200' })).toBe(1);
    expect(after.sum('tollkeeper_writer_queue_events')).toBe(0);
    // The request's body was given back once it was answered.
    expect(after.sum('tollkeeper_ingest_body_bytes')).toBe(0);
  });

  it('moves with enforcement: list version and size, polls, authorize decisions, failed alert deliveries by channel', async () => {
    const before = await metrics();
    const res = await fetch(`${t.apiUrl}/v1/enforcement`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'revoke', kind: 'api_key', id: 'k-leaked', reason: 'metrics test' }),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const gw = { authorization: `Bearer ${t.gatewayToken}` };
    const poll = await fetch(`${t.apiUrl}/v1/revocations`, { headers: gw });
    const etag = poll.headers.get('etag') ?? '';
    await poll.arrayBuffer();
    const again = await fetch(`${t.apiUrl}/v1/revocations`, { headers: { ...gw, 'if-none-match': etag } });
    expect(again.status).toBe(304);
    for (const key of ['k-leaked', 'k-fine']) await (await fetch(`${t.apiUrl}/v1/authorize`, { headers: { ...gw, 'x-tollkeeper-api-key': key } })).arrayBuffer();

    const after = await waitFor(async () => {
      const m = await metrics();
      return m.sum('tollkeeper_outbox_delivery_failures_total', { channel: 'webhook' }) > before.sum('tollkeeper_outbox_delivery_failures_total', { channel: 'webhook' }) ? m : null;
    }, { what: 'a failed webhook delivery in the metrics' });
    expect(after.sum('tollkeeper_revocation_list_version')).toBeGreaterThan(before.sum('tollkeeper_revocation_list_version'));
    expect(after.sum('tollkeeper_revocation_list_entries', { action: 'revoke' })).toBe(before.sum('tollkeeper_revocation_list_entries', { action: 'revoke' }) + 1);
    expect(after.sum('tollkeeper_revocation_polls_total', { code: '200' }) - before.sum('tollkeeper_revocation_polls_total', { code: '200' })).toBe(1);
    expect(after.sum('tollkeeper_revocation_polls_total', { code: '304' }) - before.sum('tollkeeper_revocation_polls_total', { code: '304' })).toBe(1);
    expect(after.sum('tollkeeper_authorize_decisions_total', { outcome: 'deny' }) - before.sum('tollkeeper_authorize_decisions_total', { outcome: 'deny' })).toBe(1);
    expect(after.sum('tollkeeper_authorize_decisions_total', { outcome: 'allow' }) - before.sum('tollkeeper_authorize_decisions_total', { outcome: 'allow' })).toBe(1);
    // The failed delivery waits for its retry: it is in the backlog.
    expect(after.sum('tollkeeper_outbox_backlog', { channel: 'webhook' })).toBeGreaterThanOrEqual(1);
  });

  it('observes detector ticks in the histogram', async () => {
    const first = (await metrics()).sum('tollkeeper_detector_tick_seconds_count');
    await waitFor(async () => (await metrics()).sum('tollkeeper_detector_tick_seconds_count') >= first + 2, { what: 'two more ticks' });
  });
});

describe('metrics registry', () => {
  it('counts findings by pattern and severity from what the anomaly job reports to the tick recorder', async () => {
    const m = createMetrics();
    m.watchDetector({ enforcement: { version: 0, snapshot: () => ({ version: 0, entries: [] }) }, outbox: { stats: () => ({ open: 0, inflight: 0, unstored: 0, openByChannel: { webhook: 0, slack: 0, email: 0 }, failuresByChannel: { webhook: 0, slack: 0, email: 0 }, deadByChannel: { webhook: 0, slack: 0, email: 0 }, deliveredByChannel: { webhook: 0, slack: 0, email: 0 } }) } });
    const recorded: number[] = [];
    const recorder = m.recordTicks({ record: (r) => recorded.push(r.tookMs), flush: async () => undefined });
    recorder.record({ at: 0, tookMs: 40, failures: 0, results: [{ findingLabels: ['burst/critical', 'burst/critical', 'slow_drip/warning'], entitiesScored: 3 }, 'not a detection result'] });
    const e = parseExposition(await m.registry.metrics());
    expect(e.samples.get('tollkeeper_detector_findings_total{pattern="burst",severity="critical"}')).toBe(2);
    expect(e.samples.get('tollkeeper_detector_findings_total{pattern="slow_drip",severity="warning"}')).toBe(1);
    expect(e.samples.get('tollkeeper_detector_tick_seconds_count')).toBe(1);
    expect(e.samples.get('tollkeeper_detector_tick_seconds_bucket{le="0.05"}')).toBe(1);
    expect(e.samples.get('tollkeeper_detector_tick_seconds_bucket{le="0.025"}')).toBe(0);
    // The stats recorder behind it still gets every tick.
    expect(recorded).toEqual([40]);
  });
});

describe('GET /metrics in a split deployment', () => {
  it('a collector process exposes its ingest figures on the OTLP port and no detector figures', async () => {
    const c = await startApp({ role: 'collector', yaml: `auth: { metrics_token: ${METRICS_TOKEN} }` });
    try {
      const res = await fetch(`${c.otlpUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(res.status).toBe(200);
      const m = parseExposition(await res.text());
      expect(m.types.has('tollkeeper_ingest_spans_received_total')).toBe(true);
      expect(m.types.has('tollkeeper_writer_lag_seconds')).toBe(true);
      expect(m.types.has('tollkeeper_detector_tick_seconds')).toBe(false);
      expect(m.types.has('tollkeeper_revocation_list_version')).toBe(false);
      const anonymous = await fetch(`${c.otlpUrl}/metrics`);
      expect(anonymous.status).toBe(401);
      await anonymous.arrayBuffer();
    } finally {
      await c.close({ cleanup: true });
    }
  });
});
