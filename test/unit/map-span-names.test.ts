import { describe, expect, it } from 'vitest';
import { mapSpan } from '../../core/usage/map-span.ts';
import type { Attributes } from '../../core/usage/types.ts';
import { eventOf, span, TEST_MAPPING as config } from '../helpers/spans.ts';

// Every attribute name the product promises to read, one row each: the name alone (beside an operation and a
// model) must land in the right field. A family's marker attribute is added where its names are only read for it.

const NOW = Date.UTC(2026, 10, 25, 12, 0, 5);
const base: Attributes = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai' };
const mapped = (attrs: Attributes, resource?: Attributes) => eventOf(mapSpan(span({ ...base, ...attrs }, resource ? { resource } : {}), config, NOW));

describe('token counts: every promised name', () => {
  const rows: [string, string, number, string][] = [
    ['gen_ai.usage.input_tokens', 'inputTokens', 120, 'semconv'],
    ['gen_ai.usage.prompt_tokens', 'inputTokens', 121, 'semconv (legacy)'],
    ['gen_ai.usage.output_tokens', 'outputTokens', 30, 'semconv'],
    ['gen_ai.usage.completion_tokens', 'outputTokens', 31, 'semconv (legacy)'],
    ['llm.token_count.prompt', 'inputTokens', 122, 'OpenInference'],
    ['llm.token_count.completion', 'outputTokens', 32, 'OpenInference'],
    ['ai.usage.promptTokens', 'inputTokens', 123, 'Vercel AI SDK'],
    ['ai.usage.inputTokens', 'inputTokens', 124, 'Vercel AI SDK'],
    ['ai.usage.completionTokens', 'outputTokens', 33, 'Vercel AI SDK'],
    ['ai.usage.outputTokens', 'outputTokens', 34, 'Vercel AI SDK'],
  ];
  for (const [name, field, value, family] of rows) {
    it(`${name} (${family}) → ${field}`, () => {
      expect(mapped({ [name]: value })).toMatchObject({ [field]: value });
    });
  }

  const details: [string, string, string][] = [
    ['gen_ai.usage.cache_read.input_tokens', 'cacheReadTokens', 'semconv'],
    ['llm.token_count.prompt_details.cache_read', 'cacheReadTokens', 'OpenInference'],
    ['gen_ai.usage.cache_creation.input_tokens', 'cacheWriteTokens', 'semconv'],
    ['gen_ai.usage.cache_write.input_tokens', 'cacheWriteTokens', 'semconv (legacy)'],
    ['gen_ai.usage.cache_write_input_tokens', 'cacheWriteTokens', 'Strands Agents'],
    ['gen_ai.usage.reasoning.output_tokens', 'reasoningTokens', 'semconv'],
    ['gen_ai.usage.reasoning_tokens', 'reasoningTokens', 'semconv (legacy)'],
    ['llm.token_count.completion_details.reasoning', 'reasoningTokens', 'OpenInference'],
  ];
  for (const [name, field, family] of details) {
    it(`${name} (${family}) → ${field}, inside the input or output count`, () => {
      const e = mapped({ 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 500, [name]: 40 });
      expect(e).toMatchObject({ [field]: 40, inputTokens: 1000, outputTokens: 500 });
    });
  }

  it('llm.token_count.total alone (OpenInference) is counted as input, never added to input + output', () => {
    expect(mapped({ 'openinference.span.kind': 'EMBEDDING', 'gen_ai.operation.name': 'embeddings', 'llm.token_count.total': 77 })).toMatchObject({ inputTokens: 77, outputTokens: 0 });
    expect(mapped({ 'llm.token_count.prompt': 10, 'llm.token_count.completion': 5, 'llm.token_count.total': 15 })).toMatchObject({ inputTokens: 10, outputTokens: 5 });
  });
});

describe('model, provider, operation', () => {
  it('gen_ai.response.model before gen_ai.request.model', () => {
    expect(mapped({ 'gen_ai.response.model': 'gpt-4o-2024-08-06' }).model).toBe('gpt-4o-2024-08-06');
  });
  it('gen_ai.provider.name before gen_ai.system', () => {
    expect(mapped({ 'gen_ai.provider.name': 'anthropic', 'gen_ai.system': 'openai', 'gen_ai.usage.input_tokens': 1 }).provider).toBe('anthropic');
    const legacy = eventOf(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.system': 'openai', 'gen_ai.usage.input_tokens': 1 }), config, NOW));
    expect(legacy.provider).toBe('openai');
  });
  it('OpenInference llm.model_name and llm.provider', () => {
    const e = eventOf(mapSpan(span({ 'openinference.span.kind': 'LLM', 'llm.model_name': 'claude-3-5-sonnet', 'llm.provider': 'anthropic', 'llm.token_count.prompt': 5 }), config, NOW));
    expect(e).toMatchObject({ model: 'claude-3-5-sonnet', provider: 'anthropic', inputTokens: 5, requests: 1 });
  });
  it('Vercel AI SDK ai.model.id and ai.model.provider', () => {
    const e = eventOf(mapSpan(span({ 'ai.operationId': 'ai.generateText.doGenerate', 'ai.model.id': 'gpt-4o-mini', 'ai.model.provider': 'openai.chat', 'ai.usage.promptTokens': 9 }, { scopeName: 'ai' }), config, NOW));
    expect(e).toMatchObject({ model: 'gpt-4o-mini', provider: 'openai', inputTokens: 9 });
  });
});

describe('cost on the span', () => {
  it('gen_ai.usage.cost (OpenLIT) and gen_ai.usage.cost.amount are read', () => {
    expect(mapped({ 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.cost': 0.25 }).spanCost).toBe(0.25);
    expect(mapped({ 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.cost.amount': 0.5, 'gen_ai.usage.cost.currency': 'USD' }).spanCost).toBe(0.5);
  });
});

describe('identity: every default name, on the span and on the resource, and under the metadata prefixes', () => {
  const rows: [string, string][] = [
    ['tollkeeper.api_key.id', 'apiKey'],
    ['api_key.id', 'apiKey'],
    ['user.id', 'user'],
    ['enduser.id', 'user'],
    ['tollkeeper.tenant.id', 'tenant'],
    ['tenant.id', 'tenant'],
    ['gen_ai.agent.id', 'agent'],
    ['gen_ai.agent.name', 'agent'],
    ['gen_ai.conversation.id', 'conversation'],
  ];
  for (const [name, field] of rows) {
    it(`${name} → ${field}`, () => {
      expect(mapped({ 'gen_ai.usage.input_tokens': 1, [name]: 'on-span' })).toMatchObject({ [field]: 'on-span' });
      expect(mapped({ 'gen_ai.usage.input_tokens': 1 }, { 'service.name': 'svc', [name]: 'on-resource' })).toMatchObject({ [field]: 'on-resource' });
      for (const prefix of ['ai.telemetry.metadata.', 'traceloop.association.properties.']) {
        expect(mapped({ 'gen_ai.usage.input_tokens': 1, [prefix + name]: 'in-metadata' })).toMatchObject({ [field]: 'in-metadata' });
      }
    });
  }
  it('service.name from the resource', () => {
    expect(mapped({ 'gen_ai.usage.input_tokens': 1 }, { 'service.name': 'billing' }).service).toBe('billing');
  });
});

describe('the end user as instrumentations record it from the provider call (the OpenAI `user` parameter)', () => {
  it('OpenLLMetry llm.user and OpenLIT gen_ai.request.user → user, after user.id and enduser.id', () => {
    expect(mapped({ 'gen_ai.usage.input_tokens': 1, 'llm.request.type': 'chat', 'llm.user': 'u-traceloop' }).user).toBe('u-traceloop');
    expect(mapped({ 'gen_ai.usage.input_tokens': 1, 'gen_ai.application_name': 'app', 'gen_ai.request.user': 'u-openlit' }).user).toBe('u-openlit');
    expect(mapped({ 'gen_ai.usage.input_tokens': 1, 'gen_ai.request.user': 'u-param', 'user.id': 'u-app' }).user).toBe('u-app');
  });
});
