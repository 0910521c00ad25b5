// The call deduper on mapped spans: one LLM call counts once (aggregates, second instrumentations), and calls take
// missing ids from their ancestors. The grouping rules alone: call-groups.test.ts.
import { describe, expect, it } from 'vitest';
import { createCallDeduper } from '../../core/usage/call-dedupe.ts';
import type { InheritableIdentity } from '../../core/usage/identity.ts';
import { mapSpan, type MappingConfig, type Unpriced } from '../../core/usage/map-span.ts';
import type { DecodedSpan } from '../../core/usage/types.ts';
import { eventOf as event, span, TEST_IDENTITY as identity, TEST_MAPPING as config } from '../helpers/spans.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 5);

describe('call dedupe: one LLM call counts once', () => {
  it('drops an aggregate parent that repeats its child call usage, whichever arrives first', () => {
    const parent = span({ 'ai.operationId': 'ai.generateText', 'ai.usage.promptTokens': 100, 'ai.usage.completionTokens': 20 }, { traceId: 'a'.repeat(32), spanId: '1'.repeat(16), name: 'ai.generateText' });
    const child = span(
      { 'ai.operationId': 'ai.generateText.doGenerate', 'ai.usage.promptTokens': 100, 'ai.usage.completionTokens': 20, 'gen_ai.request.model': 'gpt-4o' },
      { traceId: 'a'.repeat(32), spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), name: 'ai.generateText.doGenerate' },
    );
    for (const order of [[parent, child], [child, parent]]) {
      const dedupe = createCallDeduper();
      const events = order.map((s) => event(mapSpan(s, config, NOW)));
      const { counted } = dedupe.select(events, order);
      expect(counted.map((r) => r.event.spanId)).toEqual(['2'.repeat(16)]);
    }
  });

  it('recognises an aggregate exported in a later request than its children', () => {
    const dedupe = createCallDeduper();
    const child = span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 5 }, { traceId: 'b'.repeat(32), spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16) });
    const parent = span({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.usage.input_tokens': 5 }, { traceId: 'b'.repeat(32), spanId: '1'.repeat(16) });
    expect(dedupe.select([event(mapSpan(child, config, NOW))], [child]).counted).toHaveLength(1);
    expect(dedupe.select([event(mapSpan(parent, config, NOW))], [parent]).counted).toHaveLength(0);
  });

  it('keeps identical parallel calls from one instrumentation but merges two instrumentations reporting one call', () => {
    const attrs = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 9, 'gen_ai.usage.output_tokens': 1 };
    const t = 'c'.repeat(32);
    const a = span(attrs, { traceId: t, spanId: '1'.repeat(16), parentSpanId: 'f'.repeat(16) });
    const b = span(attrs, { traceId: t, spanId: '2'.repeat(16), parentSpanId: 'f'.repeat(16) });
    expect(createCallDeduper().select([a, b].map((s) => event(mapSpan(s, config, NOW))), [a, b]).counted).toHaveLength(2);
    const oi = span({ 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o', 'llm.token_count.prompt': 9, 'llm.token_count.completion': 1 }, { traceId: t, spanId: '3'.repeat(16), parentSpanId: 'f'.repeat(16) });
    expect(createCallDeduper().select([a, oi].map((s) => event(mapSpan(s, config, NOW))), [a, oi]).counted).toHaveLength(1);
  });
});

describe('call dedupe: identity inheritance and pairs of spans for one call', () => {
  const T = 'd'.repeat(32);
  const id = (n: number) => n.toString(16).padStart(16, '0');

  /** The collector's pipeline over requests of spans: mapSpan, ignored spans' ids, then the deduper. */
  function run(requests: DecodedSpan[][], cfg: MappingConfig = config, dedupe = createCallDeduper()) {
    const out = { counted: [] as Unpriced[], discrepancies: 0, collisions: 0, inherited: 0, rejected: [] as string[] };
    for (const spans of requests) {
      const events: Unpriced[] = [];
      const ids = new Map<string, InheritableIdentity>();
      for (const s of spans) {
        const r = mapSpan(s, cfg, NOW);
        if (r.kind === 'event') events.push(r.event);
        else if (r.kind === 'ignored' && r.identity) ids.set(s.traceId + s.spanId, r.identity);
        else if (r.kind === 'rejected') out.rejected.push(r.reason);
      }
      const res = dedupe.select(events, spans, ids);
      out.counted.push(...res.counted.map((r) => r.event));
      out.discrepancies += res.discrepancies;
      out.collisions += res.collisions;
      out.inherited += res.inherited;
      out.rejected.push(...res.rejected.map((x) => x.event.spanId));
    }
    return out;
  }

  const agent = span({ 'gen_ai.operation.name': 'invoke_agent', 'tollkeeper.api_key.id': 'k-parent', 'tenant.id': 't-parent' }, { traceId: T, spanId: id(1), name: 'invoke_agent a' });
  const chat = (spanId: number, parent: number, attrs: Record<string, string | number> = {}, o: Partial<DecodedSpan> = {}) =>
    span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10, ...attrs }, { traceId: T, spanId: id(spanId), parentSpanId: id(parent), ...o });

  it('fills ids the call span lacks from the nearest ancestor, which beats the resource but not the span', () => {
    const workflow = span({ 'traceloop.span.kind': 'workflow', 'user.id': 'u-workflow' }, { traceId: T, spanId: id(2), parentSpanId: id(1) });
    const call = chat(3, 2, { 'tenant.id': 't-own' }, { resource: { 'service.name': 'svc', 'tollkeeper.api_key.id': 'k-resource' } });
    const { counted, inherited } = run([[call, workflow, agent]]);
    expect(counted).toHaveLength(1);
    expect(counted[0]).toMatchObject({ apiKey: 'k-parent', tenant: 't-own', user: 'u-workflow', service: 'svc' });
    expect(inherited).toBe(1);
  });

  it('inherits from an ancestor exported in an earlier request (parent that ended first)', () => {
    const dedupe = createCallDeduper();
    run([[agent]], config, dedupe);
    expect(run([[chat(4, 1)]], config, dedupe).counted[0]).toMatchObject({ apiKey: 'k-parent', tenant: 't-parent' });
  });

  it('satisfies identity.required from an ancestor, and rejects the call when no ancestor has it', () => {
    const strict = { ...config, identity: { ...identity, required: ['api_key' as const] } };
    expect(run([[chat(5, 1), agent]], strict)).toMatchObject({ rejected: [] });
    const orphan = chat(6, 99);
    expect(run([[orphan]], strict)).toMatchObject({ counted: [], rejected: [orphan.spanId] });
  });

  it('counts the innermost span of a wrapped call, filling model, provider, ids and agreeing span cost from the outer', () => {
    const outer = span(
      { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-x', 'gen_ai.usage.input_tokens': 40, 'gen_ai.usage.cache_read.input_tokens': 1000, 'gen_ai.usage.output_tokens': 7, 'gen_ai.usage.cost': 0.5, 'user.id': 'u' },
      { traceId: T, spanId: id(10), scopeName: '@openlit/instrumentation-anthropic' },
    );
    const inner = span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 1040, 'gen_ai.usage.cache_read.input_tokens': 1000, 'gen_ai.usage.output_tokens': 7 }, { traceId: T, spanId: id(11), parentSpanId: id(10), scopeName: 'com.anthropic.sdk.typescript' });
    const r = run([[inner, outer]]);
    expect(r.counted).toHaveLength(1);
    expect(r.counted[0]).toMatchObject({ spanId: id(11), provider: 'anthropic', model: 'claude-x', user: 'u', inputTokens: 1040, cacheReadTokens: 1000, outputTokens: 7, spanCost: 0.5 });
    expect(r.discrepancies).toBe(0);
  });

  it('keeps the innermost counts and counts a discrepancy when the two spans disagree; the outer cost is dropped', () => {
    const outer = chat(20, 0, { 'gen_ai.usage.output_tokens': 11, 'gen_ai.usage.cost': 0.5 }, { parentSpanId: '' });
    const inner = chat(21, 20);
    const r = run([[inner, outer]]);
    expect(r.counted.map((e) => [e.spanId, e.outputTokens, e.spanCost])).toEqual([[id(21), 10, null]]);
    expect(r.discrepancies).toBe(1);
  });

  it("takes the outer span's counts when the inner one recorded none", () => {
    const outer = chat(30, 0, {}, { parentSpanId: '' });
    const inner = span({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm' }, { traceId: T, spanId: id(31), parentSpanId: id(30) });
    expect(run([[inner, outer]]).counted.map((e) => [e.spanId, e.inputTokens, e.outputTokens, e.requests])).toEqual([[id(31), 100, 10, 1]]);
  });

  it('does not merge a span over several calls into one of them; it adds nothing when it repeats their sum', () => {
    const sum = chat(40, 0, { 'gen_ai.usage.input_tokens': 200, 'gen_ai.usage.output_tokens': 20, 'gen_ai.request.model': 'outer-model' }, { parentSpanId: '' });
    const r = run([[chat(41, 40), chat(42, 40), sum]]);
    expect(r.counted.map((e) => [e.spanId, e.model])).toEqual([
      [id(41), ''],
      [id(42), ''],
    ]);
    expect(r.discrepancies).toBe(0);
  });

  it('counts a span over several calls that does not repeat their usage as a call of its own (evidence disagrees)', () => {
    const over = chat(40, 0, { 'gen_ai.usage.output_tokens': 20, 'gen_ai.request.model': 'outer-model' }, { parentSpanId: '' });
    const r = run([[chat(41, 40), chat(42, 40), over]]);
    expect(r.counted.map((e) => e.spanId).sort()).toEqual([id(40), id(41), id(42)]);
    expect(r.collisions).toBe(1);
  });
});
