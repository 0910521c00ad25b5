import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { anyValue } from '../helpers/otlp-bodies.ts';

// The collector's counters reach the store (ingest_stats) and the admin API reads them from there, so they are
// visible whether the collector runs in the API's process or another one.

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close({ cleanup: true });
  t = undefined;
});

interface S {
  spanId: string;
  parent?: string;
  scope: string;
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
}

/** One OTLP/JSON body with the spans grouped by scope, as an SDK exports several instrumentations at once. */
function body(traceId: string, spans: S[]): string {
  const scopes = [...new Set(spans.map((s) => s.scope))];
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: scopes.map((scope) => ({
          scope: { name: scope },
          spans: spans
            .filter((s) => s.scope === scope)
            .map((s) => ({
              traceId,
              spanId: s.spanId,
              parentSpanId: s.parent ?? '',
              name: 'chat',
              kind: 3,
              startTimeUnixNano: String(BigInt(s.startMs) * 1_000_000n),
              endTimeUnixNano: String(BigInt(s.endMs) * 1_000_000n),
              attributes: Object.entries(s.attributes).map(([key, value]) => ({ key, value: anyValue(value) })),
            })),
        })),
      },
    ],
  });
}

async function post(app: TestApp, json: string): Promise<number> {
  const res = await fetch(`${app.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
  await res.arrayBuffer();
  return res.status;
}

async function get(app: TestApp, path: string, token: string | null = app.adminToken): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${app.apiUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Two calls in one trace whose spans (Traceloop's and the SDK's own) all share one response id. */
function sharedIdCalls(traceId: string, t0: number): string {
  const spans: S[] = [];
  for (const [i, start] of [[1, t0], [3, t0 + 500]] as const) {
    const id = 'msg_' + Math.floor(t0 / 1000);
    spans.push({
      spanId: i.toString(16).padStart(16, '0'),
      scope: '@traceloop/instrumentation-anthropic',
      startMs: start,
      endMs: start + 400,
      attributes: { 'llm.request.type': 'chat', 'gen_ai.system': 'Anthropic', 'gen_ai.request.model': 'claude-sonnet-4-6', 'gen_ai.usage.prompt_tokens': 30, 'gen_ai.usage.completion_tokens': 7, 'gen_ai.response.id': id },
    });
    spans.push({
      spanId: (i + 1).toString(16).padStart(16, '0'),
      parent: i.toString(16).padStart(16, '0'),
      scope: 'com.anthropic.sdk.typescript',
      startMs: start + 5,
      endMs: start + 395,
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.response.model': 'claude-sonnet-4-6', 'gen_ai.usage.input_tokens': 30, 'gen_ai.usage.output_tokens': 7, 'gen_ai.response.id': id },
    });
  }
  return body(traceId, spans);
}

describe('ingest stats in the store and the admin API', () => {
  it('lists unrecognized usage attributes and sums the counters, collisions included', async () => {
    t = await startApp({ startLoop: false });
    const now = Date.now() - 60_000;
    expect(await post(t, sharedIdCalls('a1'.repeat(16), now))).toBe(200);
    const odd = body('b2'.repeat(16), [
      { spanId: '1'.padStart(16, '0'), scope: 'my-llm-lib', startMs: now, endMs: now + 100, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.usage.prompt_units': 12 } },
    ]);
    expect(await post(t, odd)).toBe(200);
    await t.app.stats!.flush();

    const unrecognized = await get(t, '/api/usage/unrecognized');
    expect(unrecognized.status).toBe(200);
    expect(unrecognized.body.attributes).toEqual([{ attribute: 'gen_ai.usage.prompt_units', spans: 1, last_seen: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) as string }]);

    const ingest = await get(t, '/api/usage/ingest');
    expect(ingest.status).toBe(200);
    expect(ingest.body.counters).toEqual({
      spans_received: 5,
      spans_ignored: 0,
      spans_superseded: 2,
      events_accepted: 3,
      call_collisions: 1,
      call_discrepancies: 0,
      call_late_evidence: 0,
    });
    expect(ingest.body.unrecognized_usage_attribute).toEqual({ 'gen_ai.usage.prompt_units': 1 });
    expect(ingest.body.calls_without_counts).toEqual({});
    expect(ingest.body.gauges).toMatchObject({ spool_files: 0, writer_queue: 0 });

    // Both calls were stored: the shared response id did not make one of them vanish.
    const rows = await t.app.store.query<{ requests: number; input: number }>(
      `SELECT sum(requests) AS requests, sum(input_tokens) AS input FROM ${t.app.store.table('usage_events')} WHERE trace_id = {t:String}`,
      { t: 'a1'.repeat(16) },
    );
    expect(rows.map((r) => [Number(r.requests), Number(r.input)])).toEqual([[2, 60]]);
  });

  it('answers 401 before validating the query, and 400 for a bad range', async () => {
    t = await startApp({ startLoop: false });
    expect((await get(t, '/api/usage/ingest?from=not-a-date', null)).status).toBe(401);
    expect((await get(t, '/api/usage/unrecognized?from=x', t.gatewayToken)).status).toBe(403);
    expect((await get(t, '/api/usage/ingest?from=2026-12-03T10:00:00Z&to=2026-12-03T09:00:00Z')).status).toBe(400);
  });

  it('keeps ingesting while the stats cannot be written, and flushes the kept counts later', async () => {
    t = await startApp({ startLoop: false });
    const store = t.app.store;
    await store.command(`RENAME TABLE ${store.table('ingest_stats')} TO ${store.table('ingest_stats_away')}`);
    const now = Date.now() - 60_000;
    expect(await post(t, sharedIdCalls('c3'.repeat(16), now))).toBe(200);
    await t.app.stats!.flush();
    await store.command(`RENAME TABLE ${store.table('ingest_stats_away')} TO ${store.table('ingest_stats')}`);
    expect(await post(t, sharedIdCalls('d4'.repeat(16), now))).toBe(200);
    await t.app.stats!.flush();
    const ingest = await get(t, '/api/usage/ingest');
    expect(ingest.body.counters).toMatchObject({ spans_received: 8, events_accepted: 4, call_collisions: 2 });
  });
});
