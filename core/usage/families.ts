import type { Attributes } from './types.ts';

/** Instrumentation families whose attribute names and count meanings differ (SPEC §1). */
export type Family = 'semconv' | 'openinference' | 'vercel' | 'traceloop' | 'openlit';

export function detectFamily(attrs: Attributes, scopeName: string): Family {
  if (attrs['openinference.span.kind'] !== undefined || attrs['llm.token_count.prompt'] !== undefined) return 'openinference';
  if (attrs['ai.operationId'] !== undefined || scopeName === 'ai') return 'vercel';
  const scope = scopeName.toLowerCase();
  if (scope.startsWith('openlit') || attrs['gen_ai.application_name'] !== undefined) return 'openlit';
  if (scope.startsWith('@traceloop/') || scope.includes('traceloop') || attrs['traceloop.span.kind'] !== undefined || attrs['llm.request.type'] !== undefined) {
    return 'traceloop';
  }
  return 'semconv';
}

/** Attribute names per quantity, most specific first; every family's names are tried (they rarely collide). */
export const TOKEN_ATTRS = {
  input: ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt', 'ai.usage.inputTokens', 'ai.usage.promptTokens'],
  output: ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion', 'ai.usage.outputTokens', 'ai.usage.completionTokens'],
  total: ['gen_ai.usage.total_tokens', 'llm.usage.total_tokens', 'llm.token_count.total', 'ai.usage.totalTokens'],
  cacheRead: [
    'gen_ai.usage.cache_read.input_tokens',
    'gen_ai.usage.cache_read_input_tokens',
    'gen_ai.usage.cached_tokens',
    'llm.token_count.prompt_details.cache_read',
    'ai.usage.cachedInputTokens',
    'ai.usage.inputTokenDetails.cacheReadTokens',
  ],
  cacheWrite: [
    'gen_ai.usage.cache_creation.input_tokens',
    'gen_ai.usage.cache_write.input_tokens',
    'gen_ai.usage.cache_creation_input_tokens',
    'llm.token_count.prompt_details.cache_write',
    'ai.usage.inputTokenDetails.cacheWriteTokens',
  ],
  reasoning: [
    'gen_ai.usage.reasoning.output_tokens',
    'gen_ai.usage.reasoning_tokens',
    'llm.token_count.completion_details.reasoning',
    'ai.usage.reasoningTokens',
    'ai.usage.outputTokenDetails.reasoningTokens',
  ],
} as const;

export const MODEL_ATTRS = ['gen_ai.response.model', 'gen_ai.request.model', 'llm.model_name', 'ai.response.model', 'ai.model.id'];
export const PROVIDER_ATTRS = ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system', 'ai.model.provider'];
export const COST_ATTRS = ['gen_ai.usage.cost', 'gen_ai.usage.cost.amount', 'llm.usage.cost', 'llm.cost.total'];

/** Where families put user-supplied metadata; identity lookups search under each prefix too. */
export const METADATA_PREFIXES = ['ai.telemetry.metadata.', 'traceloop.association.properties.', 'metadata.', 'langfuse.trace.metadata.'];

/**
 * Anthropic reports input tokens without the cached ones; some instrumentations pass that number through
 * unchanged as the semconv input count. Returns true when the family's input count for this provider excludes cache.
 */
export function inputExcludesCache(family: Family, provider: string): boolean {
  if (!provider.toLowerCase().includes('anthropic')) return false;
  // Vercel's @ai-sdk/anthropic and OpenInference add cache to prompt tokens; Traceloop and OpenLIT sum them too.
  return family === 'semconv';
}
