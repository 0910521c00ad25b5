import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJson } from '../../collector/otlp/index.ts';
import type { DecodedSpan, UsageEvent } from '../../core/usage/types.ts';
import { loadInstrumentationFixtures } from '../helpers/instrumentation-fixtures.ts';
import { meterSpans } from '../helpers/meter-spans.ts';
import { span } from '../helpers/spans.ts';

// Calls are decided per call group on evidence, and the outcome never depends on the order spans arrive in, within
// a request or across requests: every fixture, and traces built to collide, metered in any order and any split into
// requests, store the same totals as when the whole trace comes in one request.


/** Meters the requests in order; no span may be rejected. */
async function meter(requests: DecodedSpan[][]) {
  const r = await meterSpans(requests);
  expect(r.errors).toEqual([]);
  return r;
}

/**
 * What the rollups see, summed over the service (every event has one): every dimension. Ids inherited from an
 * ancestor span need that span in the same or an earlier request (a known limit), so entities are compared where
 * their ids are on the call spans themselves.
 */
function totals(written: UsageEvent[], byKey = false, oneService = false) {
  const out: Record<string, number[]> = {};
  for (const e of written) {
    const k = oneService ? 'all' : byKey ? `${e.apiKey}|${e.tenant}|${e.service}` : e.service;
    const t = (out[k] ??= [0, 0, 0, 0, 0, 0, 0, 0]);
    const add = [e.requests, e.toolCalls, e.inputTokens, e.outputTokens, e.cacheReadTokens, e.cacheWriteTokens, e.reasoningTokens, e.costUsd];
    add.forEach((v, i) => (t[i]! += v));
  }
  for (const t of Object.values(out)) t[7] = Math.round(t[7]! * 1e9) / 1e9;
  return out;
}

/** Spans in the order `perm`, cut into requests where `cuts[i]` is true. */
function split(spans: DecodedSpan[], perm: number[], cuts: boolean[]): DecodedSpan[][] {
  const requests: DecodedSpan[][] = [[]];
  perm.forEach((p, i) => {
    if (i > 0 && cuts[i]) requests.push([]);
    requests[requests.length - 1]!.push(spans[p]!);
  });
  return requests;
}

/**
 * The same trace in any order and any split into requests meters like the whole trace in one request. With
 * `lateMayExceed`, a split where a wrapper whose counts differ slightly from its call's came first may keep the
 * wrapper's (larger) counts: never less than the baseline, and always visible in `callLateEvidence`.
 */
async function orderIndependent(spans: DecodedSpan[], runs = 40, lateMayExceed = false) {
  // A call reported by two processes (an app and a gateway) is attributed to the span stored first (a known limit,
  // docs/concepts/one-call.md): there the totals are compared over all services together.
  const oneService = new Set(spans.map((s) => s.resource['service.name'])).size > 1;
  const baseline = totals((await meter([spans])).written, false, oneService);
  const n = spans.length;
  const idx = [...Array(n).keys()];
  await fc.assert(
    fc.asyncProperty(fc.shuffledSubarray(idx, { minLength: n, maxLength: n }), fc.array(fc.boolean(), { minLength: n, maxLength: n }), async (perm, cuts) => {
      const { written, counters } = await meter(split(spans, perm, cuts));
      const got = totals(written, false, oneService);
      if (lateMayExceed && counters.callLateEvidence > 0) {
        for (const [k, t] of Object.entries(baseline)) t.forEach((v, i) => expect(got[k]![i]).toBeGreaterThanOrEqual(v - 1e-9));
      } else expect(got).toEqual(baseline);
    }),
    { numRuns: runs },
  );
  return baseline;
}

/** OpenLIT's Anthropic stream span reports one output token more than the SDK span inside it (see the fixtures README). */
const WRAPPER_DIFFERS = new Set(['openlit/anthropic-stream']);

const fixtures = loadInstrumentationFixtures();
const fixtureSpans = (name: string) => {
  const f = fixtures.find((x) => x.name === name)!;
  return f.bodies.flatMap((b) => {
    const d = decodeJson(b);
    if (!d.ok) throw new Error(`${name}: ${d.error}`);
    return d.spans;
  });
};

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const ns = (ms: number) => BigInt(ms) * 1_000_000n;
const sid = (n: number) => n.toString(16).padStart(16, '0');

/**
 * Traceloop JS over an Anthropic-compatible endpoint: each call is Traceloop's span around the SDK's own span, and the
 * endpoint builds response ids from the time in seconds, so both calls (same prompt, same counts) share one id.
 */
function sharedIdTrace(trace: string): DecodedSpan[] {
  const app = span({ 'tollkeeper.api_key.id': 'k-1' }, { traceId: trace, spanId: sid(1), name: 'agent', startTimeUnixNano: ns(T0), endTimeUnixNano: ns(T0 + 1000) });
  const call = (wrapper: number, start: number) => [
    span(
      { 'llm.request.type': 'chat', 'gen_ai.system': 'Anthropic', 'gen_ai.request.model': 'claude-sonnet-4-6', 'gen_ai.usage.prompt_tokens': 30, 'gen_ai.usage.completion_tokens': 7, 'gen_ai.response.id': 'msg_1764072000' },
      { traceId: trace, spanId: sid(wrapper), parentSpanId: sid(1), name: 'anthropic.chat', scopeName: '@traceloop/instrumentation-anthropic', startTimeUnixNano: ns(start), endTimeUnixNano: ns(start + 400) },
    ),
    span(
      { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.response.model': 'claude-sonnet-4-6', 'gen_ai.usage.input_tokens': 30, 'gen_ai.usage.output_tokens': 7, 'gen_ai.response.id': 'msg_1764072000' },
      { traceId: trace, spanId: sid(wrapper + 1), parentSpanId: sid(wrapper), name: 'chat claude-sonnet-4-6', scopeName: 'com.anthropic.sdk.typescript', startTimeUnixNano: ns(start + 5), endTimeUnixNano: ns(start + 395) },
    ),
  ];
  return [app, ...call(2, T0 + 10), ...call(4, T0 + 500)];
}

describe('one call, by evidence', () => {
  it('counts two calls that share a response id, in every order and split, and counts the collision', async () => {
    const spans = sharedIdTrace('e'.repeat(32));
    const baseline = await orderIndependent(spans);
    expect(baseline).toEqual({ svc: [2, 0, 60, 14, 0, 0, 0, expect.any(Number) as number] });
    const { counters } = await meter([spans]);
    expect(counters.callCollisions).toBe(1);
    expect(counters.spansSuperseded).toBe(2);
  });

  it('counts a wrapper once when it arrives in an earlier request than the span it wraps', async () => {
    const spans = fixtureSpans('openinference/anthropic-tools');
    const outer = (s: DecodedSpan) => s.name === 'Anthropic Messages';
    const { written } = await meter([spans.filter(outer), spans.filter((s) => !outer(s))]);
    expect(written.reduce((n, e) => n + e.requests, 0)).toBe(2);
    expect(totals(written)).toEqual(totals((await meter([spans])).written));
  });

  it('counts an aggregate stored before its steps once: the steps draw on what it stored', async () => {
    const spans = fixtureSpans('vercel-ai/openai-tools');
    const aggregate = (s: DecodedSpan) => s.name === 'ai.generateText';
    const { written, counters } = await meter([spans.filter(aggregate), spans.filter((s) => !aggregate(s))]);
    expect(totals(written)).toEqual(totals((await meter([spans])).written));
    expect(counters.callLateEvidence).toBe(1);
  });

  it('an inference span over several calls (an aggregate) stored before them becomes their credit, not a second count', async () => {
    const tr = 'a'.repeat(32);
    const chat = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai' };
    const agg = span({ ...chat, 'gen_ai.usage.input_tokens': 300, 'gen_ai.usage.output_tokens': 30 }, { traceId: tr, spanId: sid(1), scopeName: 'framework', startTimeUnixNano: ns(T0), endTimeUnixNano: ns(T0 + 1000) });
    const c1 = span({ ...chat, 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10 }, { traceId: tr, spanId: sid(2), parentSpanId: sid(1), scopeName: 'sdk', startTimeUnixNano: ns(T0 + 10), endTimeUnixNano: ns(T0 + 400) });
    const c2 = span({ ...chat, 'gen_ai.usage.input_tokens': 200, 'gen_ai.usage.output_tokens': 20 }, { traceId: tr, spanId: sid(3), parentSpanId: sid(1), scopeName: 'sdk', startTimeUnixNano: ns(T0 + 500), endTimeUnixNano: ns(T0 + 900) });
    const baseline = totals((await meter([[agg, c1, c2]])).written);
    expect(baseline.svc!.slice(0, 4)).toEqual([2, 0, 300, 30]);
    const after = await meter([[agg], [c1, c2]]);
    expect(totals(after.written)).toEqual(baseline);
    expect(after.counters.callLateEvidence).toBe(1);
    // A part that arrives between the aggregate and the evidence that it is one is counted in full (a known limit,
    // docs/concepts/one-call.md), the rest draws on the aggregate: never more than the aggregate plus that part.
    for (const order of [[[agg], [c1], [c2]], [[c1], [agg], [c2]]]) {
      const { written, counters } = await meter(order);
      expect(totals(written).svc!.slice(0, 4)).toEqual([2, 0, 400, 40]);
      expect(counters.callLateEvidence).toBe(1);
    }
  });

  it.each(fixtures.map((f) => [f.name] as const))('%s: the same totals in any order and split into requests', async (name) => {
    await orderIndependent(fixtureSpans(name), 15, WRAPPER_DIFFERS.has(name));
  });
});

describe('usage vocabulary', () => {
  it('counts a Vercel AI SDK embeddings call (only ai.usage.tokens) as input tokens, not as a call without counts', async () => {
    const trace = 'f'.repeat(32);
    const embed = span({ 'ai.operationId': 'ai.embed', 'ai.model.id': 'text-embedding-3-small', 'ai.model.provider': 'openai.embedding', 'ai.usage.tokens': 12 }, { traceId: trace, spanId: sid(1), name: 'ai.embed', scopeName: 'ai' });
    const doEmbed = span(
      { 'ai.operationId': 'ai.embed.doEmbed', 'ai.model.id': 'text-embedding-3-small', 'ai.model.provider': 'openai.embedding', 'ai.usage.tokens': 12 },
      { traceId: trace, spanId: sid(2), parentSpanId: sid(1), name: 'ai.embed.doEmbed', scopeName: 'ai' },
    );
    const { written, counters } = await meter([[embed, doEmbed]]);
    expect(written.map((e) => [e.requests, e.inputTokens, e.outputTokens, e.provider, e.costSource])).toEqual([[1, 12, 0, 'openai', 'price_db']]);
    expect(counters.callsWithoutCounts).toEqual({});
  });

  it('counts usage attributes it does not know per name, not as "recorded no token counts"', async () => {
    const s = span({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.prompt_units': 40, 'llm.usage.billed_units': 3 });
    const { written, counters } = await meter([[s]]);
    expect(written.map((e) => [e.requests, e.costSource])).toEqual([[1, 'unpriced']]);
    expect(counters.unrecognizedUsage).toEqual({ 'gen_ai.usage.prompt_units': 1, 'llm.usage.billed_units': 1 });
    expect(counters.callsWithoutCounts).toEqual({});
  });

  it('reads Traceloop llm.usage.total_tokens and OpenInference cache_input', async () => {
    const total = span({ 'llm.request.type': 'embedding', 'gen_ai.request.model': 'text-embedding-3-small', 'gen_ai.system': 'openai', 'llm.usage.total_tokens': 9 }, { scopeName: 'opentelemetry.instrumentation.openai.v1', scopeVersion: '0.47.3' });
    const oi = span({ 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o', 'llm.token_count.prompt': 100, 'llm.token_count.completion': 5, 'llm.token_count.prompt_details.cache_input': 64 });
    const { written } = await meter([[total], [oi]]);
    expect(written.map((e) => [e.family, e.inputTokens, e.cacheReadTokens])).toEqual([
      ['traceloop', 9, 0],
      ['openinference', 100, 64],
    ]);
  });
});
