import type { TokenField } from './families.ts';
import type { Attributes } from './types.ts';

// Langfuse's SDKs (v3+ Python, v4+ JS, both OpenTelemetry based) put a generation's usage and cost in two JSON
// strings instead of one attribute per count (docs/instrumentations.md, "Langfuse").

export const LANGFUSE_USAGE = 'langfuse.observation.usage_details';
export const LANGFUSE_COST = 'langfuse.observation.cost_details';

/** Counts in semconv meaning (input with cache, output with reasoning); `total` only when nothing else was given. */
export type LangfuseCounts = Partial<Record<TokenField, number>>;

/** Usage JSON is a handful of numbers; anything longer is not usage and is not parsed. */
const MAX_CHARS = 4096;

// Langfuse's own shape keeps its counts disjoint (it prices each key on its own): `input` and `output` leave out
// every `input_*` / `output_*` detail (cached, audio, reasoning, per-modality counts: the JS OpenAI wrapper and the
// LangChain handlers subtract them), `cached_modality_*` and Anthropic's cache counts. They are added back. Priority
// tiers are not parts (the handlers do not subtract them), nor is `cache_creation_<ttl>`, a split of the cache write.
const inputPart = (k: string) => (k.startsWith('input_') || k.startsWith('cached_modality_') || k === 'cache_read_input_tokens' || k === 'cache_creation_input_tokens') && !k.includes('priority');
const outputPart = (k: string) => k.startsWith('output_') && !k.includes('priority');

function parseObject(raw: unknown): Record<string, unknown> | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_CHARS || raw.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A count as given; NaN for a value that is present but not a number (rejected by the caller like any bad count). */
function num(o: Record<string, unknown> | undefined, key: string): number | undefined {
  const v = o?.[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'number' ? v : Number.NaN;
}

const sub = (o: Record<string, unknown>, key: string) => (typeof o[key] === 'object' && o[key] !== null ? (o[key] as Record<string, unknown>) : undefined);
const first = (o: Record<string, unknown>, keys: readonly string[]) => keys.map((k) => num(o, k)).find((v) => v !== undefined);
/** The sum of the numeric keys `isPart` accepts (a part that is not a number is not one of Langfuse's counts), undefined when there is none. */
const parts = (o: Record<string, unknown>, isPart: (k: string) => boolean) => {
  let s: number | undefined;
  for (const k in o) {
    const v = o[k];
    if (isPart(k) && typeof v === 'number') s = (s ?? 0) + v;
  }
  return s;
};
/** `base` plus its parts. */
const sum = (o: Record<string, unknown>, base: string, isPart: (k: string) => boolean) => {
  const b = num(o, base);
  const extra = parts(o, isPart);
  return b === undefined && extra === undefined ? undefined : (b ?? 0) + (extra ?? 0);
};

/**
 * The counts in `langfuse.observation.usage_details`, or undefined when it is absent or not a JSON object. Three
 * shapes: the raw OpenAI usage (Python's OpenAI integration passes `prompt_tokens`, `completion_tokens` and their
 * `*_details` unchanged; the Responses API's `input_tokens` / `output_tokens`), a raw Anthropic usage (`input_tokens`
 * without cache beside `cache_read_input_tokens`), and Langfuse's own disjoint `input` / `output` / `total`.
 */
export function langfuseCounts(attrs: Attributes): LangfuseCounts | undefined {
  const o = parseObject(attrs[LANGFUSE_USAGE]);
  if (!o) return undefined;
  if (o.prompt_tokens !== undefined || o.completion_tokens !== undefined) {
    return {
      input: num(o, 'prompt_tokens'),
      output: num(o, 'completion_tokens'),
      total: num(o, 'total_tokens'),
      cacheRead: num(sub(o, 'prompt_tokens_details') ?? {}, 'cached_tokens'),
      reasoning: num(sub(o, 'completion_tokens_details') ?? {}, 'reasoning_tokens'),
    };
  }
  if (o.input_tokens !== undefined || o.output_tokens !== undefined) {
    const cacheRead = num(o, 'cache_read_input_tokens');
    const cacheWrite = num(o, 'cache_creation_input_tokens');
    const anthropic = cacheRead !== undefined || cacheWrite !== undefined;
    return {
      input: anthropic ? sum(o, 'input_tokens', (k) => k === 'cache_read_input_tokens' || k === 'cache_creation_input_tokens') : num(o, 'input_tokens'),
      output: num(o, 'output_tokens'),
      total: num(o, 'total_tokens'),
      cacheRead: anthropic ? cacheRead : num(sub(o, 'input_tokens_details') ?? {}, 'cached_tokens'),
      cacheWrite,
      reasoning: num(sub(o, 'output_tokens_details') ?? {}, 'reasoning_tokens'),
    };
  }
  return {
    input: sum(o, 'input', inputPart),
    output: sum(o, 'output', outputPart),
    total: num(o, 'total'),
    cacheRead: first(o, ['input_cached_tokens', 'input_cache_read', 'cache_read_input_tokens']) ?? parts(o, (k) => k.startsWith('cached_modality_')),
    cacheWrite: first(o, ['input_cache_creation', 'cache_creation_input_tokens']),
    reasoning: first(o, ['output_reasoning_tokens', 'output_reasoning']),
  };
}

/** The cost in `langfuse.observation.cost_details` (USD): its `total`, else the sum of its parts, as Langfuse reads it. */
export function langfuseCost(attrs: Attributes): number | undefined {
  const o = parseObject(attrs[LANGFUSE_COST]);
  if (!o) return undefined;
  const total = num(o, 'total');
  if (total !== undefined) return total;
  let s: number | undefined;
  for (const v of Object.values(o)) s = (s ?? 0) + (typeof v === 'number' ? v : Number.NaN);
  return s;
}

/**
 * The provider of a Langfuse generation, which has no provider attribute: the LangChain handlers' run metadata
 * (`ls_provider`), else the default observation names of Langfuse's OpenAI integrations (JS `OpenAI.chat`,
 * `AzureOpenAI.embeddings`: the client class; Python `OpenAI-generation`). A renamed observation names none.
 */
export function langfuseProvider(attrs: Attributes, spanName: string): string {
  const ls = attrs['langfuse.observation.metadata.ls_provider'];
  if (typeof ls === 'string' && ls !== '') return ls.slice(0, 64);
  if (/^OpenAI[.-]/.test(spanName)) return 'openai';
  if (/^AzureOpenAI[.-]/.test(spanName)) return 'azure';
  return '';
}
