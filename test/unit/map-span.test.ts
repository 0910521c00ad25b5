import { describe, expect, it } from 'vitest';
import { createCallDeduper } from '../../core/usage/call-dedupe.ts';
import { DEFAULT_IDENTITY, type IdentityConfig } from '../../core/usage/identity.ts';
import { mapSpan, type MappingConfig, type MapResult } from '../../core/usage/map-span.ts';
import { span } from '../helpers/spans.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 5);
const identity: IdentityConfig = { lists: DEFAULT_IDENTITY, secretAttributes: [], required: [], keep: [], hash: (v) => `h(${v})` };
const config: MappingConfig = { identity, computeOperations: [], maxAgeMs: 35 * 86_400_000, maxFutureMs: 300_000 };

function event(r: MapResult) {
  if (r.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(r)}`);
  return r.event;
}

describe('mapSpan: OTel GenAI semantic conventions', () => {
  it('maps tokens, model, provider, operation and identity', () => {
    const e = event(
      mapSpan(
        span({
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.response.model': 'gpt-4o-2024-08-06',
          'gen_ai.provider.name': 'openai',
          'gen_ai.usage.input_tokens': 1200,
          'gen_ai.usage.output_tokens': 300,
          'gen_ai.usage.cache_read.input_tokens': 200,
          'gen_ai.usage.reasoning.output_tokens': 100,
          'tollkeeper.api_key.id': 'k-1',
          'tenant.id': 't-1',
          'user.id': 'u-1',
          'gen_ai.agent.name': 'planner',
          'gen_ai.conversation.id': 'c-1',
        }),
        config,
        NOW,
      ),
    );
    expect(e).toMatchObject({
      model: 'gpt-4o-2024-08-06',
      provider: 'openai',
      operation: 'chat',
      inputTokens: 1200,
      outputTokens: 300,
      cacheReadTokens: 200,
      reasoningTokens: 100,
      requests: 1,
      toolCalls: 0,
      apiKey: 'k-1',
      tenant: 't-1',
      user: 'u-1',
      agent: 'planner',
      conversation: 'c-1',
      service: 'svc',
      family: 'semconv',
    });
    expect(e.time).toBe(Date.UTC(2026, 10, 25, 12, 0, 0));
    expect(e.eventId).toBe(e.traceId + e.spanId);
  });

  it('accepts deprecated names (gen_ai.system, prompt/completion tokens) with the current names winning', () => {
    const e = event(
      mapSpan(span({ 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.prompt_tokens': 10, 'gen_ai.usage.completion_tokens': 5, 'gen_ai.operation.name': 'chat' }), config, NOW),
    );
    expect(e).toMatchObject({ provider: 'openai', inputTokens: 10, outputTokens: 5 });
    const both = event(mapSpan(span({ 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.prompt_tokens': 99, 'gen_ai.operation.name': 'chat' }), config, NOW));
    expect(both.inputTokens).toBe(7);
  });

  it('falls back from span to resource attributes for identity', () => {
    const e = event(mapSpan(span({ 'gen_ai.usage.input_tokens': 1, 'gen_ai.operation.name': 'chat' }, { resource: { 'service.name': 'r', 'tenant.id': 'from-resource' } }), config, NOW));
    expect(e.tenant).toBe('from-resource');
    expect(e.service).toBe('r');
  });

  it('counts execute_tool spans as tool executions', () => {
    const e = event(mapSpan(span({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search' }), config, NOW));
    expect(e).toMatchObject({ toolCalls: 1, requests: 0, toolName: 'web_search' });
  });

  it('ignores spans without GenAI usage or operation, including identity-only spans', () => {
    expect(mapSpan(span({ 'http.method': 'GET' }), config, NOW).kind).toBe('ignored');
    expect(mapSpan(span({ 'tollkeeper.api_key.id': 'k' }), config, NOW).kind).toBe('ignored');
  });

  it.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['NaN', Number.NaN],
    ['absurd', 1e12],
    ['non-numeric string', 'lots'],
  ])('rejects %s token counts with a message naming the attribute', (_name, value) => {
    const r = mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': value }), config, NOW);
    expect(r.kind).toBe('rejected');
    expect(r.kind === 'rejected' && r.reason).toContain('gen_ai.usage.input_tokens');
  });

  it('rejects a negative cost and spans too old or in the future', () => {
    expect(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.cost': -2 }), config, NOW).kind).toBe('rejected');
    expect(mapSpan(span({ 'gen_ai.operation.name': 'chat' }, { endMs: NOW - 36 * 86_400_000 }), config, NOW).kind).toBe('rejected');
    expect(mapSpan(span({ 'gen_ai.operation.name': 'chat' }, { endMs: NOW + 600_000 }), config, NOW).kind).toBe('rejected');
  });

  it('reads span cost in USD', () => {
    expect(event(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.cost': 0.25 }), config, NOW)).spanCost).toBe(0.25);
    expect(event(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.cost.amount': 0.5, 'gen_ai.usage.cost.currency': 'EUR' }), config, NOW)).spanCost).toBeNull();
  });

  it('stores secret-bearing identity values only as keyed hashes', () => {
    const secretCfg = { ...config, identity: { ...identity, lists: { ...DEFAULT_IDENTITY, api_key: ['api_key.secret'] }, secretAttributes: ['api_key.secret'] } };
    const e = event(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'api_key.secret': 'sk-live-123' }), secretCfg, NOW));
    expect(e.apiKey).toBe('h(sk-live-123)');
    expect(JSON.stringify(e)).not.toContain('sk-live-123"');
  });

  it('rejects spans without a required identity', () => {
    const strict = { ...config, identity: { ...identity, required: ['api_key' as const] } };
    const r = mapSpan(span({ 'gen_ai.operation.name': 'chat' }), strict, NOW);
    expect(r.kind === 'rejected' && r.reason).toMatch(/no api_key identity/);
  });

  it('takes compute seconds from tollkeeper.compute.seconds or, for configured operations, the span duration', () => {
    expect(event(mapSpan(span({ 'tollkeeper.compute.seconds': 42 }), config, NOW)).computeSeconds).toBe(42);
    const sandbox = { ...config, computeOperations: ['sandbox.run'] };
    expect(event(mapSpan(span({ 'gen_ai.operation.name': 'sandbox.run' }), sandbox, NOW)).computeSeconds).toBe(1.5);
  });
});

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
      expect(counted.map((e) => e.spanId)).toEqual(['2'.repeat(16)]);
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
