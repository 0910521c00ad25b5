import { TOKEN_BITS, type Unpriced } from './map-span.ts';

// The evidence that two spans describe one LLM call, and how their values become one. Counts are compared in the
// semantic-convention meaning (after normalization), only on the counts both spans reported.

const COMPARED = [
  ['inputTokens', TOKEN_BITS.input],
  ['outputTokens', TOKEN_BITS.output],
  ['cacheReadTokens', TOKEN_BITS.cacheRead],
  ['cacheWriteTokens', TOKEN_BITS.cacheWrite],
  ['reasoningTokens', TOKEN_BITS.reasoning],
] as const;

/** The counts a span (or the sum over several calls) reported; `fields` says which of them it reported. */
export interface Counts {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  fields: number;
}

export const countsOf = (e: Unpriced): Counts => ({
  inputTokens: e.inputTokens,
  outputTokens: e.outputTokens,
  cacheReadTokens: e.cacheReadTokens,
  cacheWriteTokens: e.cacheWriteTokens,
  reasoningTokens: e.reasoningTokens,
  fields: e.meta.tokenFields,
});

/** The sum over several calls; a count is only known for the sum when every call reported it. */
export function sumCounts(values: readonly Unpriced[]): Counts {
  const out: Counts = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, fields: -1 };
  for (const v of values) {
    for (const [field] of COMPARED) out[field] += v[field];
    out.fields &= v.meta.tokenFields;
  }
  if (values.length === 0) out.fields = 0;
  return out;
}

/**
 * How two spans' counts compare: `exact` when every count both reported is equal (also when they share none),
 * `close` when each differs by at most 1 token or 1 % (instrumentation quirks such as a stream's placeholder
 * output token counted once more), else `differ`. `shared` says whether they had any count in common.
 */
export function compareCounts(a: Counts, b: Counts): { verdict: 'exact' | 'close' | 'differ'; shared: boolean } {
  const both = a.fields & b.fields;
  let verdict: 'exact' | 'close' | 'differ' = 'exact';
  for (const [field, bit] of COMPARED) {
    if (!(both & bit) || a[field] === b[field]) continue;
    const gap = Math.abs(a[field] - b[field]);
    if (gap > Math.max(1, Math.ceil(0.01 * Math.max(a[field], b[field])))) return { verdict: 'differ', shared: both !== 0 };
    verdict = 'close';
  }
  return { verdict, shared: both !== 0 };
}

/** Time ranges overlap (end times are inclusive: a zero-length span inside another still overlaps). */
export const overlap = (a: { startTime: number; time: number }, b: { startTime: number; time: number }) => a.startTime <= b.time && b.startTime <= a.time;

/** Models name the same thing: equal, one unknown, or one a dated/qualified form of the other (`gpt-4o` vs `gpt-4o-2024-08-06`). */
export function compatibleModels(a: string, b: string): boolean {
  if (a === '' || b === '' || a === b) return true;
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x.startsWith(y) || y.startsWith(x);
}

/** The innermost span keeps its counts and takes from the outer what it lacks (model, provider, counts, span cost). */
export function fillFromOuter(inner: Unpriced, outer: Unpriced): Unpriced {
  const fill: Partial<Unpriced> = {};
  if (!inner.model && outer.model) fill.model = outer.model;
  if (!inner.provider && outer.provider) fill.provider = outer.provider;
  let tokenFields = inner.meta.tokenFields;
  if (inner.meta.tokenFields === 0 && outer.meta.tokenFields !== 0) {
    // The inner span recorded no counts (a stream its instrumentation does not read): the outer's are all there is.
    for (const [field] of COMPARED) fill[field] = outer[field];
    tokenFields = outer.meta.tokenFields;
    if (inner.spanCost === null) fill.spanCost = outer.spanCost;
  } else {
    const onlyOuter = outer.meta.tokenFields & ~inner.meta.tokenFields;
    const input = inner.inputTokens;
    if (onlyOuter & TOKEN_BITS.cacheRead) fill.cacheReadTokens = Math.min(outer.cacheReadTokens, input);
    if (onlyOuter & TOKEN_BITS.cacheWrite) fill.cacheWriteTokens = Math.min(outer.cacheWriteTokens, input - (fill.cacheReadTokens ?? inner.cacheReadTokens));
    if (onlyOuter & TOKEN_BITS.reasoning) fill.reasoningTokens = Math.min(outer.reasoningTokens, inner.outputTokens);
    tokenFields |= onlyOuter & (TOKEN_BITS.cacheRead | TOKEN_BITS.cacheWrite | TOKEN_BITS.reasoning);
    // A span's cost was computed from its own counts: it only carries over when they are the same counts.
    if (inner.spanCost === null && outer.spanCost !== null && compareCounts(countsOf(inner), countsOf(outer)).verdict === 'exact') fill.spanCost = outer.spanCost;
  }
  if (Object.keys(fill).length === 0) return inner;
  return { ...inner, ...fill, meta: { ...inner.meta, tokenFields } };
}
