import { describe, expect, it } from 'vitest';
import { mapSpan } from '../../core/usage/map-span.ts';
import type { Attributes } from '../../core/usage/types.ts';
import { eventOf, span, TEST_MAPPING as config } from '../helpers/spans.ts';

// Langfuse's SDKs (Python v3+, JS v4+) export usage only as JSON strings (docs/instrumentations.md, "Langfuse"): the
// shapes each integration writes, from the SDK sources (langfuse-python c3c6a09, langfuse-js 0d5a8d0) and a recording.
const NOW = Date.UTC(2026, 10, 25, 12, 0, 5);
const generation = (extra: Attributes, name = 'OpenAI-generation') =>
  mapSpan(span({ 'langfuse.observation.type': 'generation', 'langfuse.observation.model.name': 'gpt-4o-2024-08-06', ...extra }, { name, scopeName: 'langfuse-sdk', kind: 1 }), config, NOW);
const usage = (u: unknown) => ({ 'langfuse.observation.usage_details': JSON.stringify(u) });
const counts = (extra: Attributes) => {
  const e = eventOf(generation(extra));
  return { input: e.inputTokens, output: e.outputTokens, cacheRead: e.cacheReadTokens, cacheWrite: e.cacheWriteTokens, reasoning: e.reasoningTokens };
};

describe('Langfuse usage_details: every shape in semconv meaning', () => {
  it("Langfuse's own disjoint shape (JS observeOpenAI): details are added back into input and output", () => {
    const u = { input: 9089, output: 966, total: 11224, input_cached_tokens: 1024, input_audio_tokens: 0, output_reasoning_tokens: 145, output_audio_tokens: 0, output_accepted_prediction_tokens: 0, output_rejected_prediction_tokens: 0 };
    expect(counts(usage(u))).toEqual({ input: 10113, output: 1111, cacheRead: 1024, cacheWrite: 0, reasoning: 145 });
  });

  it('the LangChain handlers: input_cache_read / input_cache_creation (usage_metadata) and raw Anthropic cache keys beside input', () => {
    expect(counts(usage({ input: 40, output: 200, input_cache_read: 1800, input_cache_creation: 150, output_reasoning: 20 }))).toEqual({ input: 1990, output: 220, cacheRead: 1800, cacheWrite: 150, reasoning: 20 });
    expect(counts(usage({ input: 40, output: 200, cache_read_input_tokens: 1800, cache_creation_input_tokens: 0 }))).toEqual({ input: 1840, output: 200, cacheRead: 1800, cacheWrite: 0, reasoning: 0 });
  });

  it("the LangChain handlers' other parts: per-modality counts (Gemini), cached modality, Anthropic's cache split by TTL", () => {
    // Gemini through LangChain: every prompt token is TEXT, so input and output were cut to 0 and the modality counts hold them
    const gemini = { input: 0, output: 0, total: 2096, input_modality_TEXT: 1400, cached_modality_TEXT: 100, output_modality_TEXT: 596 };
    expect(counts(usage(gemini))).toEqual({ input: 1500, output: 596, cacheRead: 100, cacheWrite: 0, reasoning: 0 });
    // raw Anthropic usage through response_metadata: cache_creation_ephemeral_* split the write and are not added again
    const anthropic = { input: 42, output: 211, cache_read_input_tokens: 1801, cache_creation_input_tokens: 151, cache_creation_ephemeral_5m_input_tokens: 151, cache_creation_ephemeral_1h_input_tokens: 0 };
    expect(counts(usage(anthropic))).toEqual({ input: 1994, output: 211, cacheRead: 1801, cacheWrite: 151, reasoning: 0 });
    // priority-tier keys are not parts; a part that is not a number is not a count
    expect(counts(usage({ input: 90, output: 10, input_priority: 90, input_note: 'x' }))).toMatchObject({ input: 90, output: 10 });
  });

  it("Python's OpenAI integration: the raw Chat Completions usage, nested details included", () => {
    const u = { prompt_tokens: 2013, completion_tokens: 311, total_tokens: 2324, prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 65 } };
    expect(counts(usage(u))).toEqual({ input: 2013, output: 311, cacheRead: 1024, cacheWrite: 0, reasoning: 65 });
    // embeddings: Langfuse keeps only { input: prompt_tokens }
    expect(counts(usage({ input: 512 }))).toMatchObject({ input: 512, output: 0 });
  });

  it('the raw Responses API usage and a raw Anthropic usage (input without cache)', () => {
    expect(counts(usage({ input_tokens: 3000, output_tokens: 400, total_tokens: 3400, input_tokens_details: { cached_tokens: 2048 }, output_tokens_details: { reasoning_tokens: 128 } }))).toEqual({
      input: 3000,
      output: 400,
      cacheRead: 2048,
      cacheWrite: 0,
      reasoning: 128,
    });
    expect(counts(usage({ input_tokens: 22, cache_read_input_tokens: 1801, cache_creation_input_tokens: 151, output_tokens: 111 }))).toEqual({ input: 1974, output: 111, cacheRead: 1801, cacheWrite: 151, reasoning: 0 });
  });

  it('a lone total counts as input; counts on the span itself win over the JSON', () => {
    expect(counts(usage({ total: 77 }))).toMatchObject({ input: 77, output: 0 });
    expect(counts({ ...usage({ input: 1, output: 1 }), 'gen_ai.usage.input_tokens': 500, 'gen_ai.usage.output_tokens': 50 })).toMatchObject({ input: 500, output: 50 });
  });
});

describe('Langfuse usage and cost: hostile or odd input', () => {
  it('a usage_details that is not a JSON object is an unpriced request under its attribute name, not a crash', () => {
    for (const raw of ['{"input":', 'null', '[1,2]', 'x'.repeat(5000), '']) {
      const e = eventOf(generation({ 'langfuse.observation.usage_details': raw }));
      expect([e.requests, e.inputTokens, e.outputTokens]).toEqual([1, 0, 0]);
      if (raw !== '') expect(e.meta.unrecognized).toEqual(['langfuse.observation.usage_details']);
    }
  });

  it('rejects counts that are not whole numbers of tokens, naming the attribute and the field', () => {
    for (const bad of [-5, 1.5, '12', 1e12]) {
      const r = generation(usage({ input: bad, output: 3 }));
      expect(r.kind).toBe('rejected');
      if (r.kind === 'rejected') expect(r.reason).toContain('langfuse.observation.usage_details (input)');
    }
  });

  it('reads cost_details: its total, else the sum of its parts; a bad one is rejected', () => {
    expect(eventOf(generation({ ...usage({ input: 10, output: 5 }), 'langfuse.observation.cost_details': '{"input":0.001,"output":0.002,"total":0.0031}' })).spanCost).toBe(0.0031);
    expect(eventOf(generation({ ...usage({ input: 10, output: 5 }), 'langfuse.observation.cost_details': '{"input":0.25,"output":0.5}' })).spanCost).toBe(0.75);
    const bad = generation({ ...usage({ input: 10, output: 5 }), 'langfuse.observation.cost_details': '{"total":"lots"}' });
    expect(bad.kind === 'rejected' && bad.code).toBe('invalid_cost');
  });
});

describe('Langfuse observations: roles, family, model, identity', () => {
  it('generation and embedding are requests, tool a tool execution, span / agent / chain / event contain', () => {
    const roleOf = (type: string) => {
      const r = mapSpan(span({ 'langfuse.observation.type': type }, { name: 'x', scopeName: 'langfuse-sdk', kind: 1 }), config, NOW);
      return r.kind === 'event' ? [r.event.requests, r.event.toolCalls] : [0, 0];
    };
    expect(['generation', 'embedding', 'tool', 'span', 'agent', 'chain', 'event', 'retriever'].map(roleOf)).toEqual([[1, 0], [1, 0], [0, 1], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]]);
  });

  it('a generation without usage (a stream read without include_usage) is still a request, priced as unknown', () => {
    const e = eventOf(generation({}));
    expect([e.requests, e.inputTokens, e.family, e.model, e.operation]).toEqual([1, 0, 'langfuse', 'gpt-4o-2024-08-06', 'generation']);
  });

  it('the provider: LangChain run metadata, else the OpenAI integrations\' default names; a renamed observation names none', () => {
    const providerOf = (name: string, extra: Attributes = {}) => eventOf(mapSpan(span({ 'langfuse.observation.type': 'generation', ...extra }, { name, scopeName: 'langfuse-sdk', kind: 1 }), config, NOW)).provider;
    expect(['OpenAI.chat', 'OpenAI.embeddings', 'OpenAI-generation', 'OpenAI-embedding', 'AzureOpenAI.chat', 'my-answer'].map((n) => providerOf(n))).toEqual(['openai', 'openai', 'openai', 'openai', 'azure', '']);
    expect(providerOf('ChatAnthropic', { 'langfuse.observation.metadata.ls_provider': 'anthropic' })).toBe('anthropic');
    // a provider attribute on the span wins, and the names mean nothing outside Langfuse's tracer
    expect(providerOf('OpenAI.chat', { 'gen_ai.system': 'groq' })).toBe('groq');
    expect(eventOf(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 3 }, { name: 'OpenAI.chat' }), config, NOW)).provider).toBe('');
  });

  it('identity from propagateAttributes and from observation metadata', () => {
    const e = eventOf(generation({ ...usage({ input: 1, output: 1 }), 'user.id': 'u-1', 'session.id': 's-1', 'langfuse.trace.metadata.api_key_id': 'k-1', 'langfuse.observation.metadata.tenant_id': 't-1' }));
    expect([e.apiKey, e.tenant, e.user, e.conversation]).toEqual(['k-1', 't-1', 'u-1', 's-1']);
  });
});
