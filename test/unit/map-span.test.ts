import { describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY } from '../../core/usage/identity.ts';
import { mapSpan } from '../../core/usage/map-span.ts';
import { eventOf as event, span, TEST_IDENTITY as identity, TEST_MAPPING as config } from '../helpers/spans.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 5);

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

describe('mapSpan: instrumentation profiles (normalization, docs/concepts/one-call.md)', () => {
  const anthropicUsage = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.usage.output_tokens': 10, 'gen_ai.usage.cache_read.input_tokens': 1000 };

  it.each([
    // Input ≥ cache, so only the profile can tell whether cache is inside the input count.
    ['Traceloop JS Anthropic (raw input)', '@traceloop/instrumentation-anthropic', 5000, 6000, 'traceloop'],
    // Traceloop Python's current scopes carry no `llm.request.type`: the scope name alone says traceloop.
    ['Traceloop Python Anthropic (input with cache)', 'opentelemetry.instrumentation.anthropic', 6000, 6000, 'traceloop'],
    ['OpenLIT JS Anthropic (raw input)', '@openlit/instrumentation-anthropic', 5000, 6000, 'openlit'],
    ['OpenLIT Python Anthropic (raw input)', 'openlit.instrumentation.anthropic', 5000, 6000, 'openlit'],
    ['Anthropic SDK (input with cache)', 'com.anthropic.sdk.typescript', 6000, 6000, 'anthropic-sdk'],
    ['unknown semconv instrumentation (input with cache)', 'my-llm-lib', 6000, 6000, 'semconv'],
  ])('%s: input %i → %i', (_name, scopeName, input, expected, family) => {
    const e = event(mapSpan(span({ ...anthropicUsage, 'gen_ai.usage.input_tokens': input }, { scopeName }), config, NOW));
    expect(e).toMatchObject({ inputTokens: expected, cacheReadTokens: 1000, family, provider: 'anthropic' });
  });

  it('adds cache back to any input count smaller than the cache counts (it cannot include them)', () => {
    const e = event(mapSpan(span({ ...anthropicUsage, 'gen_ai.usage.input_tokens': 40, 'gen_ai.usage.cache_creation.input_tokens': 500 }), config, NOW));
    expect(e).toMatchObject({ inputTokens: 1540, cacheReadTokens: 1000, cacheWriteTokens: 500 });
  });

  it('leaves OpenAI input alone under OpenLIT and Traceloop, and reads the legacy cache_write name', () => {
    const openai = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 5000, 'gen_ai.usage.cache_read.input_tokens': 1000 };
    expect(event(mapSpan(span(openai, { scopeName: '@openlit/instrumentation-vllm' }), config, NOW)).inputTokens).toBe(5000);
    const sdk = event(mapSpan(span({ ...anthropicUsage, 'gen_ai.usage.input_tokens': 2000, 'gen_ai.usage.cache_write.input_tokens': 900, 'anthropic.usage.cache_creation.ephemeral_5m_input_tokens': 900 }, { scopeName: 'com.anthropic.sdk.typescript' }), config, NOW));
    expect(sdk).toMatchObject({ inputTokens: 2000, cacheReadTokens: 1000, cacheWriteTokens: 900 });
  });

  it('takes the scope over attributes: the Anthropic SDK span stamped with Traceloop properties stays anthropic-sdk', () => {
    const attrs = { ...anthropicUsage, 'gen_ai.usage.input_tokens': 6000, 'traceloop.workflow.name': 'w', 'traceloop.association.properties.api_key_id': 'k' };
    expect(event(mapSpan(span(attrs, { scopeName: 'com.anthropic.sdk.typescript' }), config, NOW))).toMatchObject({ family: 'anthropic-sdk', inputTokens: 6000, apiKey: 'k' });
  });

  it("treats OpenLIT's cost 0 as unknown, but a 0 from other families as a cost", () => {
    const attrs = { 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.cost': 0 };
    expect(event(mapSpan(span(attrs, { scopeName: '@openlit/instrumentation-vllm' }), config, NOW)).spanCost).toBeNull();
    expect(event(mapSpan(span(attrs, { scopeName: 'openlit.instrumentation.openai' }), config, NOW)).spanCost).toBeNull();
    expect(event(mapSpan(span({ ...attrs, 'gen_ai.usage.cost': 0.01 }, { scopeName: '@openlit/instrumentation-vllm' }), config, NOW)).spanCost).toBe(0.01);
    expect(event(mapSpan(span(attrs), config, NOW)).spanCost).toBe(0);
  });

  it('reads Vercel AI SDK steps, strips the provider suffix and never counts the aggregate as a request', () => {
    const step = {
      'ai.operationId': 'ai.generateText.doGenerate',
      'ai.model.provider': 'anthropic.messages',
      'ai.model.id': 'claude-sonnet-4-6',
      'ai.usage.inputTokens': 1910,
      'ai.usage.inputTokenDetails.cacheWriteTokens': 1844,
      'ai.usage.outputTokens': 541,
      'ai.usage.totalTokens': 2451,
    };
    expect(event(mapSpan(span(step, { scopeName: 'ai' }), config, NOW))).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-6', inputTokens: 1910, cacheWriteTokens: 1844, outputTokens: 541, requests: 1 });
    // Traceloop renames the aggregate like its steps and gives it a provider: ai.operationId still tells.
    const aggregate = { ...step, 'ai.operationId': 'ai.generateText', 'gen_ai.provider.name': 'openai' };
    expect(event(mapSpan(span(aggregate, { scopeName: 'ai', name: 'chat gpt-5-mini' }), config, NOW))).toMatchObject({ requests: 0, toolCalls: 0 });
  });

  it('counts a call span without token counts as a request with no tokens (streams some families do not read)', () => {
    const oi = event(mapSpan(span({ 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-5-mini', 'llm.system': 'openai' }, { name: 'OpenAI Chat Completions' }), config, NOW));
    expect(oi).toMatchObject({ requests: 1, inputTokens: 0, outputTokens: 0, provider: 'openai', model: 'gpt-5-mini', family: 'openinference' });
    const tl = event(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai' }, { scopeName: '@traceloop/instrumentation-openai' }), config, NOW));
    expect(tl).toMatchObject({ requests: 1, inputTokens: 0 });
  });

  it.each([
    ['OpenInference TOOL', { 'openinference.span.kind': 'TOOL' }, 'get_weather'],
    ['Vercel ai.toolCall', { 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': 'get_weather' }, 'get_weather'],
    ['Traceloop tool', { 'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'get_weather' }, 'get_weather'],
  ])('counts %s spans as tool executions', (_name, attrs, toolName) => {
    expect(event(mapSpan(span(attrs, { name: 'get_weather' }), config, NOW))).toMatchObject({ toolCalls: 1, requests: 0, toolName });
  });

  it('does not count container spans (AGENT, workflow, invoke_agent) as requests or tools', () => {
    expect(mapSpan(span({ 'openinference.span.kind': 'AGENT' }), config, NOW).kind).toBe('ignored');
    expect(mapSpan(span({ 'traceloop.span.kind': 'workflow' }), config, NOW).kind).toBe('ignored');
    expect(event(mapSpan(span({ 'gen_ai.operation.name': 'invoke_agent' }), config, NOW))).toMatchObject({ requests: 0, toolCalls: 0 });
  });
});

describe('mapSpan: identity under the families metadata', () => {
  it.each([
    ['Vercel metadata, snake_case', { 'ai.telemetry.metadata.api_key_id': 'k', 'ai.telemetry.metadata.tenant_id': 't', 'ai.telemetry.metadata.user_id': 'u' }],
    ['Vercel metadata, camelCase', { 'ai.telemetry.metadata.apiKeyId': 'k', 'ai.telemetry.metadata.tenantId': 't', 'ai.telemetry.metadata.userId': 'u' }],
    ['Traceloop association properties', { 'traceloop.association.properties.api_key_id': 'k', 'traceloop.association.properties.tenant_id': 't', 'traceloop.association.properties.user_id': 'u' }],
    ['Traceloop standard keys (customer_id is the tenant)', { 'traceloop.association.properties.api_key_id': 'k', 'traceloop.association.properties.customer_id': 't', 'traceloop.association.properties.user_id': 'u' }],
    ['OpenInference metadata JSON', { metadata: '{"api_key_id":"k","tenant_id":"t"}', 'user.id': 'u' }],
  ])('%s', (_name, attrs) => {
    expect(event(mapSpan(span({ 'gen_ai.operation.name': 'chat', ...attrs }), config, NOW))).toMatchObject({ apiKey: 'k', tenant: 't', user: 'u' });
  });

  it('prefers a direct attribute over metadata, and ignores metadata JSON that is not a small object', () => {
    const e = event(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'tenant.id': 'direct', 'ai.telemetry.metadata.tenant_id': 'meta' }), config, NOW));
    expect(e.tenant).toBe('direct');
    const big = JSON.stringify({ api_key_id: 'k', pad: 'x'.repeat(10_000) });
    expect(event(mapSpan(span({ 'gen_ai.operation.name': 'chat', metadata: big }), config, NOW)).apiKey).toBe('');
    expect(event(mapSpan(span({ 'gen_ai.operation.name': 'chat', metadata: '{not json' }), config, NOW)).apiKey).toBe('');
  });

  it('hands the ids of an ignored span down to its descendants, never service', () => {
    expect(mapSpan(span({ 'tollkeeper.api_key.id': 'k', 'gen_ai.agent.name': 'a', 'service.name': 's' }), config, NOW)).toEqual({
      kind: 'ignored',
      identity: { apiKey: 'k', user: '', tenant: '', agent: 'a', conversation: '' },
    });
    expect(mapSpan(span({ 'http.method': 'GET', 'service.name': 's' }), config, NOW)).toEqual({ kind: 'ignored' });
  });
});
