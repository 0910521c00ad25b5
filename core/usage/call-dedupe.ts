import { disagree, fillFromOuter, firstSpanOfSameCall, newSeenCalls } from './call-merge.ts';
import { Fifo } from './fifo.ts';
import { INHERITABLE, type InheritableIdentity } from './identity.ts';
import type { Unpriced } from './map-span.ts';

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
  // Only spans that hand ids down without being calls (app, workflow, agent spans) are remembered across requests.
  const identities = new Fifo<InheritableIdentity>(Math.max(1, capacity >> 2));
  const key = (traceId: string, spanId: string) => traceId + spanId;

  /** Walks up from `e`: marks ancestors as having a call below (inference only), finds its outer call and inherited ids. */
  function walk(e: Unpriced, inBatch: Map<string, Unpriced>): Lineage {
    let want = e.meta.weakIdentity;
    const isCall = e.role === 'inference';
    let parent = e.parentSpanId;
    if (!parent || (!isCall && !want)) return NO_LINEAGE;
    const lineage: Lineage = { outer: undefined, inherited: undefined };
    for (let depth = 0; parent && depth < MAX_DEPTH && (isCall || want); depth++) {
      const k = key(e.traceId, parent);
      const above = inBatch.get(k);
      if (isCall) {
        hasCallBelow.set(k, true);
        if (!lineage.outer && above?.role === 'inference') lineage.outer = above;
      }
      const ids = want ? (above ? strongIdentity(above) : identities.get(k)) : undefined;
      if (ids) {
        for (let b = 0; b < INHERITABLE.length; b++) {
          const kind = INHERITABLE[b]!;
          if (want & (1 << b) && ids[kind]) {
            (lineage.inherited ??= {})[kind] = ids[kind];
            want &= ~(1 << b);
          }
        }
      }
      parent = above ? above.parentSpanId : (parents.get(k) ?? '');
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
      // Parent links of traces with events (and of spans with ids), so later requests can walk through this one's spans.
      const traces = new Set<string>();
      for (const e of events) traces.add(e.traceId);
      for (const s of spans) {
        if (!s.parentSpanId) continue;
        if (traces.has(s.traceId)) parents.set(key(s.traceId, s.spanId), s.parentSpanId);
        else if (spanIds) {
          const k = key(s.traceId, s.spanId);
          if (spanIds.has(k)) parents.set(k, s.parentSpanId);
        }
      }
      const inBatch = new Map<string, Unpriced>();
      for (const e of events) {
        inBatch.set(e.eventId, e);
        // A container event (invoke_agent, workflow) passes its ids to calls exported in later requests.
        if (e.role === 'container' || e.role === 'other') {
          const own = strongIdentity(e);
          if (own) identities.set(e.eventId, own);
        }
      }
      const lineages = events.map((e) => walk(e, inBatch));
      const innerCount = new Map<Unpriced, number>();
      for (const l of lineages) if (l.outer) innerCount.set(l.outer, (innerCount.get(l.outer) ?? 0) + 1);

      const seen = newSeenCalls();
      for (let i = 0; i < events.length; i++) {
        let e = events[i]!;
        const lineage = lineages[i]!;
        if (hasCallBelow.has(e.eventId)) {
          if (e.role === 'tool') result.counted.push(withoutTokens(e));
          result.superseded++;
          continue;
        }
        if (e.role === 'inference') {
          const first = firstSpanOfSameCall(e, seen);
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

const NO_LINEAGE: Lineage = Object.freeze({ outer: undefined, inherited: undefined });

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

function hasUsage(e: Unpriced): boolean {
  return e.requests > 0 || e.toolCalls > 0 || e.inputTokens > 0 || e.outputTokens > 0 || e.computeSeconds > 0 || (e.spanCost ?? 0) > 0;
}

function withoutTokens(e: Unpriced): Unpriced {
  return { ...e, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, spanCost: null };
}
