import { TOKEN_BITS, type Unpriced } from './map-span.ts';

// How two spans that describe one LLM call become one event (SPEC §11): the innermost keeps its counts.

const COMPARED = [
  ['inputTokens', TOKEN_BITS.input],
  ['outputTokens', TOKEN_BITS.output],
  ['cacheReadTokens', TOKEN_BITS.cacheRead],
  ['cacheWriteTokens', TOKEN_BITS.cacheWrite],
  ['reasoningTokens', TOKEN_BITS.reasoning],
] as const;

/** Two spans of one call disagree when a count both reported differs after normalization. */
export function disagree(a: Unpriced, b: Unpriced): boolean {
  const both = a.meta.tokenFields & b.meta.tokenFields;
  return COMPARED.some(([field, bit]) => both & bit && a[field] !== b[field]);
}

/** The innermost span keeps its counts and takes from the outer what it lacks. */
export function fillFromOuter(inner: Unpriced, outer: Unpriced): { event: Unpriced; disagree: boolean } {
  const fill: Partial<Unpriced> = {};
  if (!inner.model && outer.model) fill.model = outer.model;
  if (!inner.provider && outer.provider) fill.provider = outer.provider;
  const differ = disagree(inner, outer);
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
    // A span's cost was computed from its own counts: it only carries over when they agree.
    if (inner.spanCost === null && outer.spanCost !== null && !differ) fill.spanCost = outer.spanCost;
  }
  if (Object.keys(fill).length === 0) return { event: inner, disagree: differ };
  return { event: { ...inner, ...fill, meta: { ...inner.meta, tokenFields } }, disagree: differ };
}

/** Sibling spans compared per parent: duplicates of one call are exported together, so the last few suffice. */
const SIBLING_WINDOW = 32;

/** Calls already counted in one request, indexed to find a second span of the same call without building keys. */
export interface SeenCalls {
  byResponse: Map<string, Unpriced>;
  byParent: Map<string, Unpriced[]>;
}

export const newSeenCalls = (): SeenCalls => ({ byResponse: new Map(), byParent: new Map() });

/**
 * Two sibling spans for one call: the same response id in the trace, or (different instrumentations only, since one
 * instrumentation's identical parallel calls are real) the same parent, model, counts and second. Returns the first.
 */
export function firstSpanOfSameCall(e: Unpriced, seen: SeenCalls): Unpriced | undefined {
  if (e.responseId) {
    const first = seen.byResponse.get(e.responseId);
    if (first?.traceId === e.traceId) return first;
    if (!first) seen.byResponse.set(e.responseId, e);
  }
  const parent = e.parentSpanId || e.traceId;
  const bucket = seen.byParent.get(parent);
  if (!bucket) {
    seen.byParent.set(parent, [e]);
    return undefined;
  }
  const second = Math.round(e.time / 1000);
  for (let i = bucket.length - 1, n = 0; i >= 0 && n < SIBLING_WINDOW; i--, n++) {
    const o = bucket[i]!;
    if (o.traceId === e.traceId && o.family !== e.family && o.model === e.model && o.inputTokens === e.inputTokens && o.outputTokens === e.outputTokens && Math.round(o.time / 1000) === second) {
      return o;
    }
  }
  bucket.push(e);
  return undefined;
}
