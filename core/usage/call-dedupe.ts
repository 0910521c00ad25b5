import { INHERITABLE, type InheritableIdentity } from './identity.ts';
import { TOKEN_BITS, type Unpriced } from './map-span.ts';

interface SpanRef {
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

/** Outcome of one request's events: what to price and store, and what the counters should say. */
export interface DedupeResult {
  counted: Unpriced[];
  /** Spans dropped because another span describes the same call (aggregate, outer wrapper, sibling duplicate). */
  superseded: number;
  /** Calls whose two spans disagree after normalization (the innermost was kept), SPEC §11. */
  discrepancies: number;
  /** Events that took at least one id from an ancestor span. */
  inherited: number;
  /** Events rejected because identity.required kinds were found neither on them nor on their ancestors. */
  rejected: { event: Unpriced; kinds: number }[];
}

const MAX_DEPTH = 64;

/** Bounded FIFO map: the memory of recent spans that lets a late aggregate find its children and a call its ancestors' ids. */
class Fifo<V> {
  private readonly map = new Map<string, V>();
  /** Insertion order as a ring: eviction without iterators, one map lookup per new key. */
  private readonly ring: (string | undefined)[];
  private next = 0;
  constructor(private readonly capacity: number) {
    this.ring = new Array<string | undefined>(capacity);
  }
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  has(k: string): boolean {
    return this.map.has(k);
  }
  set(k: string, v: V): void {
    const size = this.map.size;
    this.map.set(k, v);
    if (this.map.size === size) return;
    const old = this.ring[this.next];
    if (old !== undefined) this.map.delete(old);
    this.ring[this.next] = k;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
  }
}

/** Per event: the nearest inference ancestor in the same request and the ids found up the ancestry. */
interface Lineage {
  outer: Unpriced | undefined;
  inherited: Partial<InheritableIdentity> | undefined;
}

/**
 * Makes one LLM call count once (SPEC §1, §11): a span with usage above another inference span (a framework's
 * aggregate, or an outer instrumentation wrapping the provider SDK's span) is dropped in favour of the innermost, which
 * takes what it lacks (model, provider, counts it did not report, span cost when the counts agree) from its outer
 * span; sibling spans reporting the same response are counted once. Calls inherit ids missing on the span from the
 * nearest ancestor that has them (before the resource's). State spans requests, bounded by `capacity` spans.
 */
export function createCallDeduper(capacity = 200_000) {
  const parents = new Fifo<string>(capacity);
  const hasCallBelow = new Fifo<true>(capacity);
  // Ids are kept for fewer spans: only spans that carry ids of their own are remembered.
  const identities = new Fifo<InheritableIdentity>(Math.max(1, capacity >> 2));
  const key = (traceId: string, spanId: string) => traceId + spanId;

  /** Walks up from `e`: marks ancestors as having a call below (inference only), finds its outer call and inherited ids. */
  function walk(e: Unpriced, inBatch: Map<string, Unpriced>): Lineage {
    let want = e.meta.weakIdentity;
    const lineage: Lineage = { outer: undefined, inherited: undefined };
    const isCall = e.role === 'inference';
    let parent = e.parentSpanId;
    for (let depth = 0; parent && depth < MAX_DEPTH && (isCall || want); depth++) {
      const k = key(e.traceId, parent);
      if (isCall) {
        hasCallBelow.set(k, true);
        if (!lineage.outer) {
          const o = inBatch.get(k);
          if (o?.role === 'inference') lineage.outer = o;
        }
      }
      const ids = want ? identities.get(k) : undefined;
      if (ids) {
        for (let b = 0; b < INHERITABLE.length; b++) {
          const kind = INHERITABLE[b]!;
          if (want & (1 << b) && ids[kind]) {
            (lineage.inherited ??= {})[kind] = ids[kind];
            want &= ~(1 << b);
          }
        }
      }
      parent = parents.get(k) ?? '';
    }
    return lineage;
  }

  return {
    /**
     * `spans` are all spans of the request (for the ancestry); `spanIds` maps trace id + span id to the ids carried by
     * spans that are not events (an app's `invoke_agent` or workflow span), as mapSpan's `ignored` results give them.
     */
    select(events: Unpriced[], spans: readonly SpanRef[], spanIds?: ReadonlyMap<string, InheritableIdentity>): DedupeResult {
      const result: DedupeResult = { counted: [], superseded: 0, discrepancies: 0, inherited: 0, rejected: [] };
      if (spanIds) for (const [k, ids] of spanIds) identities.set(k, ids);
      if (events.length === 0 && !spanIds?.size) return result;
      const traces = new Set<string>();
      for (const e of events) traces.add(e.traceId);
      for (const s of spans) {
        const k = key(s.traceId, s.spanId);
        if (s.parentSpanId && (traces.has(s.traceId) || spanIds?.has(k))) parents.set(k, s.parentSpanId);
      }
      const inBatch = new Map<string, Unpriced>();
      for (const e of events) {
        inBatch.set(e.eventId, e);
        const own = strongIdentity(e);
        if (own) identities.set(e.eventId, own);
      }
      const lineages = events.map((e) => walk(e, inBatch));
      const innerCount = new Map<Unpriced, number>();
      for (const l of lineages) if (l.outer) innerCount.set(l.outer, (innerCount.get(l.outer) ?? 0) + 1);

      const seenCalls = new Map<string, Unpriced>();
      for (let i = 0; i < events.length; i++) {
        let e = events[i]!;
        const lineage = lineages[i]!;
        if (hasCallBelow.has(e.eventId)) {
          if (e.role === 'tool') result.counted.push(withoutTokens(e));
          result.superseded++;
          continue;
        }
        if (e.role === 'inference') {
          const first = firstSpanOfSameCall(e, seenCalls);
          if (first) {
            if (disagree(first, e)) result.discrepancies++;
            result.superseded++;
            continue;
          }
          // Same call only when the outer span wraps this call alone; a span over several calls is a container.
          if (lineage.outer && innerCount.get(lineage.outer) === 1) {
            const merged = fillFromOuter(e, lineage.outer);
            if (merged.disagree) result.discrepancies++;
            e = merged.event;
          }
        }
        if (lineage.inherited) {
          e = { ...e, ...lineage.inherited };
          result.inherited++;
        }
        const missing = e.meta.missingRequired & ~presentBits(e);
        if (missing) {
          result.rejected.push({ event: e, kinds: missing });
          continue;
        }
        if (hasUsage(e)) result.counted.push(e);
      }
      return result;
    },
  };
}
export type CallDeduper = ReturnType<typeof createCallDeduper>;

/** The ids `e` carries on its own span (not from the resource), which it passes down to its descendants. */
function strongIdentity(e: Unpriced): InheritableIdentity | undefined {
  let any = false;
  const out: InheritableIdentity = { apiKey: '', user: '', tenant: '', agent: '', conversation: '' };
  for (let b = 0; b < INHERITABLE.length; b++) {
    const kind = INHERITABLE[b]!;
    if (!(e.meta.weakIdentity & (1 << b)) && e[kind]) {
      out[kind] = e[kind];
      any = true;
    }
  }
  return any ? out : undefined;
}

/** Bits of identity kinds (in the mapping's KINDS order: api_key, user, tenant, agent, conversation) that `e` now has. */
function presentBits(e: Unpriced): number {
  let bits = 0;
  for (let b = 0; b < INHERITABLE.length; b++) if (e[INHERITABLE[b]!]) bits |= 1 << b;
  return bits | (e.service ? 1 << 5 : 0);
}

const COMPARED = [
  ['inputTokens', TOKEN_BITS.input],
  ['outputTokens', TOKEN_BITS.output],
  ['cacheReadTokens', TOKEN_BITS.cacheRead],
  ['cacheWriteTokens', TOKEN_BITS.cacheWrite],
  ['reasoningTokens', TOKEN_BITS.reasoning],
] as const;

/** Two spans of one call disagree when a count both reported differs after normalization. */
function disagree(a: Unpriced, b: Unpriced): boolean {
  const both = a.meta.tokenFields & b.meta.tokenFields;
  return COMPARED.some(([field, bit]) => both & bit && a[field] !== b[field]);
}

/** The innermost span keeps its counts and takes from the outer what it lacks. */
function fillFromOuter(inner: Unpriced, outer: Unpriced): { event: Unpriced; disagree: boolean } {
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

/**
 * Two sibling spans for one call: the same response id, or (different instrumentations only, since one
 * instrumentation's identical parallel calls are real) the same parent, model, counts and second. Returns the first.
 */
function firstSpanOfSameCall(e: Unpriced, seen: Map<string, Unpriced>): Unpriced | undefined {
  if (e.responseId) {
    const sig = `r|${e.traceId}|${e.responseId}`;
    const first = seen.get(sig);
    if (first) return first;
    seen.set(sig, e);
  }
  const sig = `s|${e.traceId}|${e.parentSpanId}|${e.model}|${e.inputTokens}|${e.outputTokens}|${Math.round(e.time / 1000)}`;
  const first = seen.get(sig);
  if (first && first.family !== e.family) return first;
  if (!first) seen.set(sig, e);
  return undefined;
}

function hasUsage(e: Unpriced): boolean {
  return e.requests > 0 || e.toolCalls > 0 || e.inputTokens > 0 || e.outputTokens > 0 || e.computeSeconds > 0 || (e.spanCost ?? 0) > 0;
}

function withoutTokens(e: Unpriced): Unpriced {
  return { ...e, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, spanCost: null };
}
