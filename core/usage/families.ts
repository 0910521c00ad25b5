import { STRANDS } from './strands.ts';
import type { Attributes } from './types.ts';

/** Instrumentation families whose attribute names and count meanings differ (docs/concepts/one-call.md). */
export type Family = 'semconv' | 'anthropic-sdk' | 'openinference' | 'vercel' | 'traceloop' | 'openlit' | 'langfuse' | 'strands';

/** How one instrumentation (family + language, told apart by scope name) states its numbers. */
export interface Profile {
  family: Family;
  /** Providers (normalized) whose input count on this instrumentation's spans excludes cache read/creation tokens. */
  inputExcludesCacheFor: readonly string[];
  /** `gen_ai.usage.cost = 0` means "no price known" (OpenLIT), not "free". */
  zeroCostIsUnknown: boolean;
}

const profile = (family: Family, inputExcludesCacheFor: readonly string[] = [], zeroCostIsUnknown = false): Profile => ({ family, inputExcludesCacheFor, zeroCostIsUnknown });

export const PROFILES = {
  semconv: profile('semconv'),
  anthropicSdk: profile('anthropic-sdk'),
  openinference: profile('openinference'),
  vercel: profile('vercel'),
  // Traceloop Python (opentelemetry.instrumentation.anthropic 0.62) reports Anthropic input with cache; JS 0.27 passes the raw count.
  traceloop: profile('traceloop'),
  traceloopJsAnthropic: profile('traceloop', ['anthropic']),
  // Traceloop Python's Bedrock instrumentation passes Bedrock's own input count, which leaves the cache out.
  traceloopBedrock: profile('traceloop', ['aws.bedrock']),
  // OpenLIT JS and Python both pass Anthropic's raw input_tokens, and write cost 0 for models they cannot price.
  openlit: profile('openlit', ['anthropic'], true),
  // Langfuse's usage JSON is normalized where it is read (langfuse.ts): its shapes say themselves what they include.
  langfuse: profile('langfuse'),
  // Strands passes its model provider's counts: Bedrock's (its default) leave the cache out.
  strands: profile('strands', ['aws.bedrock']),
  // Spring AI (through Micrometer, under Spring Boot's tracer) passes Anthropic's and Bedrock Converse's own input counts.
  springAi: profile('semconv', ['anthropic', 'bedrock_converse']),
} as const satisfies Record<string, Profile>;

/** Scope-name prefixes (lower case), most specific first. The scope beats attributes: Traceloop stamps its attributes on foreign spans. */
const SCOPE_RULES: readonly (readonly [string, Profile])[] = [
  ['com.anthropic.sdk', PROFILES.anthropicSdk],
  ['@traceloop/instrumentation-anthropic', PROFILES.traceloopJsAnthropic],
  ['@traceloop/', PROFILES.traceloop],
  ['opentelemetry.instrumentation.bedrock', PROFILES.traceloopBedrock],
  ['traceloop.', PROFILES.traceloop],
  ['@openlit/', PROFILES.openlit],
  ['openlit.', PROFILES.openlit],
  ['@arizeai/openinference', PROFILES.openinference],
  ['openinference', PROFILES.openinference],
  // The tracer of Langfuse's Python (v3+) and JS (v4+) SDKs.
  ['langfuse-sdk', PROFILES.langfuse],
  ['strands.', PROFILES.strands],
  ['org.springframework.boot', PROFILES.springAi],
];

const PYTHON_INSTRUMENTATION = 'opentelemetry.instrumentation.';
/**
 * Python packages under `opentelemetry.instrumentation.*` that only OpenTelemetry's own GenAI instrumentations use
 * (they follow the semantic conventions). Traceloop's Python packages live in the same namespace (`openai.v1`,
 * `anthropic`, `bedrock`, `langchain`, …); a few names exist in both projects, which their versions tell apart.
 */
const CONTRIB_PYTHON = new Set(['openai_v2', 'openai_agents', 'openai_agents_v2', 'google_genai', 'vertexai', 'weaviate', 'claude_agent_sdk']);

/**
 * Traceloop's Python releases are plain `x.y.z` (0.62.1); OpenTelemetry's GenAI instrumentations are still
 * pre-releases (`2.1b0`, `0.1b0.dev`). Without a version, the package name decides.
 */
function pythonScopeProfile(lower: string, version: string): Profile | null {
  if (!lower.startsWith(PYTHON_INSTRUMENTATION)) return null;
  const pkg = lower.slice(PYTHON_INSTRUMENTATION.length).split('.')[0] ?? '';
  if (/^\d+\.\d+\.\d+$/.test(version)) return PROFILES.traceloop;
  if (/\d(?:a|b|rc)\d|dev/.test(version) || CONTRIB_PYTHON.has(pkg)) return PROFILES.semconv;
  return PROFILES.traceloop;
}

const scopeCache = new Map<string, Profile | null>();

function profileOfScope(scopeName: string, version: string): Profile | null {
  // Only Python's shared namespace needs the version (a string built per span would cost every span).
  const cacheKey = version && scopeName.startsWith(PYTHON_INSTRUMENTATION) ? `${scopeName}@${version}` : scopeName;
  const cached = scopeCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const lower = scopeName.toLowerCase();
  let found: Profile | null = lower === 'ai' ? PROFILES.vercel : null;
  if (!found) found = SCOPE_RULES.find(([prefix]) => lower.startsWith(prefix))?.[1] ?? null;
  if (!found) found = pythonScopeProfile(lower, version);
  // Scope names are few per deployment; the bound only guards against a client inventing them.
  if (scopeCache.size >= 1024) scopeCache.clear();
  scopeCache.set(cacheKey, found);
  return found;
}

/** The instrumentation profile of a span: its scope name (and version) first, then family marker attributes, else plain semconv. */
export function detectProfile(attrs: Attributes, scopeName: string, scopeVersion = ''): Profile {
  const byScope = profileOfScope(scopeName, scopeVersion);
  if (byScope) return byScope;
  if (attrs['openinference.span.kind'] !== undefined || attrs['llm.token_count.prompt'] !== undefined) return PROFILES.openinference;
  if (attrs['ai.operationId'] !== undefined) return PROFILES.vercel;
  if (attrs['gen_ai.application_name'] !== undefined || attrs['telemetry.sdk.name'] === 'openlit') return PROFILES.openlit;
  if (attrs['gen_ai.system'] === STRANDS || attrs['gen_ai.provider.name'] === STRANDS) return PROFILES.strands;
  if (
    attrs['traceloop.span.kind'] !== undefined ||
    attrs['traceloop.workflow.name'] !== undefined ||
    attrs['llm.request.type'] !== undefined ||
    attrs['llm.usage.total_tokens'] !== undefined
  ) {
    return PROFILES.traceloop;
  }
  return PROFILES.semconv;
}

/** Attribute names per quantity, most specific first; every family's names are tried (they rarely collide). Totals are a fallback, never added. */
export const TOKEN_ATTRS = {
  input: ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt', 'ai.usage.inputTokens', 'ai.usage.promptTokens'],
  output: ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion', 'ai.usage.outputTokens', 'ai.usage.completionTokens'],
  // A total is only read when neither input nor output is there: then it is the input (an embeddings call reports one
  // undifferentiated count, e.g. Vercel `ai.usage.tokens` on `ai.embed*` spans).
  total: ['gen_ai.usage.total_tokens', 'llm.usage.total_tokens', 'llm.token_count.total', 'ai.usage.totalTokens', 'ai.usage.tokens', 'gen_ai.client.token.usage'],
  cacheRead: [
    'gen_ai.usage.cache_read.input_tokens',
    'gen_ai.usage.cache_read_input_tokens',
    'gen_ai.usage.cached_tokens',
    'llm.token_count.prompt_details.cache_read',
    // OpenInference's earlier name for the same count (still written by some instrumentations).
    'llm.token_count.prompt_details.cache_input',
    'ai.usage.inputTokenDetails.cacheReadTokens',
    'ai.usage.cachedInputTokens',
  ],
  // `anthropic.usage.cache_creation.ephemeral_*` split cache_write by TTL: never added.
  cacheWrite: [
    'gen_ai.usage.cache_creation.input_tokens',
    'gen_ai.usage.cache_write.input_tokens',
    'gen_ai.usage.cache_creation_input_tokens',
    // Strands Agents' name for it.
    'gen_ai.usage.cache_write_input_tokens',
    'llm.token_count.prompt_details.cache_write',
    'ai.usage.inputTokenDetails.cacheWriteTokens',
  ],
  reasoning: [
    'gen_ai.usage.reasoning.output_tokens',
    'gen_ai.usage.reasoning_tokens',
    // Pydantic AI puts the provider's own detail counts under gen_ai.usage.details.* (OpenAI reasoning, Anthropic thinking).
    'gen_ai.usage.details.reasoning_tokens',
    'gen_ai.usage.details.thinking_tokens',
    'llm.token_count.completion_details.reasoning',
    'ai.usage.outputTokenDetails.reasoningTokens',
    'ai.usage.reasoningTokens',
  ],
} as const;
export type TokenField = keyof typeof TOKEN_ATTRS;

/** Response model before request model, in every family. */
export const MODEL_ATTRS = ['gen_ai.response.model', 'ai.response.model', 'llm.response.model_name', 'llm.model_name', 'gen_ai.request.model', 'llm.request.model_name', 'ai.model.id', 'langfuse.observation.model.name'];
/** `llm.provider` (the host, e.g. azure) before `llm.system` (the API shape). */
export const PROVIDER_ATTRS = ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system', 'ai.model.provider'];
// `gen_ai.cost.total_cost`: LiteLLM's price of the call, from the gateway's own (possibly negotiated) model prices.
export const COST_ATTRS = ['gen_ai.usage.cost', 'gen_ai.usage.cost.amount', 'llm.usage.cost', 'llm.cost.total', 'gen_ai.cost.total_cost'];

/** Where families put user-supplied metadata; identity lookups search under each prefix too. */
export const METADATA_PREFIXES = ['ai.telemetry.metadata.', 'traceloop.association.properties.', 'metadata.', 'langfuse.trace.metadata.', 'langfuse.observation.metadata.', 'mastra.metadata.'];

/**
 * The provider named inside OpenInference's `metadata` JSON string (`ls_provider`, LangChain's run metadata): the only
 * place OpenInference's LangChain spans name it. Parsed only for a span that names no provider otherwise.
 */
export function providerFromMetadata(attrs: Attributes): string {
  const raw = attrs['metadata'];
  if (typeof raw !== 'string' || !raw.includes('"ls_provider"')) return '';
  try {
    const parsed: unknown = JSON.parse(raw);
    const v = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['ls_provider'] : undefined;
    return typeof v === 'string' ? v.slice(0, 64) : '';
  } catch {
    return '';
  }
}

/** Whether this profile's input count for `provider` leaves out cache tokens (they are then added back). */
export function inputExcludesCache(p: Profile, provider: string): boolean {
  return p.inputExcludesCacheFor.length > 0 && p.inputExcludesCacheFor.includes(provider);
}

// Vercel AI SDK provider ids are `<provider>.<api>`: `openai.chat`, `anthropic.messages`, `google.generative-ai`.
const VERCEL_PROVIDERS = new Set(['openai', 'anthropic', 'google', 'mistral', 'cohere', 'groq', 'xai', 'deepseek', 'bedrock', 'azure', 'vertex', 'amazon-bedrock', 'perplexity', 'togetherai', 'fireworks', 'cerebras']);
const VERCEL_APIS = new Set(['chat', 'messages', 'responses', 'completion', 'embedding', 'generative-ai', 'text', 'image', 'transcription', 'speech']);
const providerCache = new Map<string, string>();

/** `openai.chat` (Vercel) → `openai`; `az.ai.openai` stays; lower case. */
export function normalizeProvider(p: string): string {
  if (p === '') return '';
  const cached = providerCache.get(p);
  if (cached !== undefined) return cached;
  const lower = p.toLowerCase();
  const dot = lower.indexOf('.');
  let out = lower;
  if (dot > 0 && lower.indexOf('.', dot + 1) < 0 && VERCEL_PROVIDERS.has(lower.slice(0, dot)) && VERCEL_APIS.has(lower.slice(dot + 1))) out = lower.slice(0, dot);
  if (providerCache.size >= 1024) providerCache.clear();
  providerCache.set(p, out);
  return out;
}
