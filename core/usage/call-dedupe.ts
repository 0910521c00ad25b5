import { decideTrace, hasUsage } from './call-groups.ts';
import { countPairs, emitUnit } from './call-rows.ts';
import { MAX_DEPTH, NO_BEFORE, spanKey, type Admit, type DedupeResult } from './dedupe-types.ts';
import { Fifo } from './fifo.ts';
import type { InheritableIdentity } from './identity.ts';
import { inheritedIds, presentBits, strongIdentity } from './inherit-ids.ts';
import type { Unpriced } from './map-span.ts';
import { TraceMemory } from './trace-memory.ts';

export type { Admit, CountedRow, DedupeResult } from './dedupe-types.ts';

interface SpanRef {
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

/**
 * Makes one LLM call count once, by evidence, whatever the order its spans arrive in (within a request and across
 * requests): every request re-decides the calls of the traces it touches from all their spans seen so far
 * (`decideTrace`), and stores for each call only the difference between its value now and what its earlier rows
 * stored. A row is keyed by one of the call's own spans (exactly-once holds: each span id is stored at most once).
 * Calls inherit ids missing on the span from the nearest ancestor that has them (before the resource's). Memory is
 * bounded by `capacity` spans across requests.
 */
export function createCallDeduper(capacity = 200_000) {
  const parents = new Fifo<string>(capacity);
  // Spans that hand ids down without being events (app, workflow, agent spans), remembered across requests.
  const identities = new Fifo<InheritableIdentity>(Math.max(1, capacity >> 2));
  const traces = new TraceMemory(capacity);
  const memory = { traces, parents, identities };

  return {
    /**
     * `spans` are all spans of the request (for the ancestry); `spanIds` maps trace id + span id to the ids carried by
     * spans that are not events (an app's `invoke_agent` or workflow span), as mapSpan's `ignored` results give them.
     */
    select(events: Unpriced[], spans: readonly SpanRef[], spanIds?: ReadonlyMap<string, InheritableIdentity>, admit?: Admit): DedupeResult {
      const result: DedupeResult = { counted: [], superseded: 0, collisions: 0, discrepancies: 0, lateEvidence: 0, inherited: 0, rejected: [], refused: [] };
      // A refused event never reaches the trace memory: it cannot supersede, or be superseded by, what is stored.
      const refused = (e: Unpriced): boolean => {
        const reason = admit?.(e) ?? null;
        if (reason !== null) result.refused.push({ event: e, reason });
        return reason !== null;
      };
      if (spanIds) for (const [k, ids] of spanIds) identities.set(k, ids);
      if (events.length === 0 && !spanIds?.size) return result;
      // Parent links of traces with events (and of spans with ids), so later requests can walk through this one's spans.
      const traceIds = new Set<string>();
      for (const e of events) traceIds.add(e.traceId);
      for (const s of spans) {
        if (!s.parentSpanId) continue;
        const k = spanKey(s.traceId, s.spanId);
        if (traceIds.has(s.traceId) || spanIds?.has(k)) parents.set(k, s.parentSpanId);
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

      const fresh = new Map<string, Unpriced[]>();
      // Traces this request starts (neither remembered nor single so far): their first lookups are not repeated.
      const unseen = new Set<string>();
      for (let e of events) {
        const known = traces.get(e.traceId);
        const single = known ? undefined : traces.single(e.traceId);
        if (!single && !known && !e.parentSpanId && !fresh.has(e.traceId)) {
          // Most traffic: a root span of a trace not seen before; it keeps this fast path unless another event of its
          // trace follows in this request.
          if (admit && refused(e)) continue;
          fresh.set(e.traceId, [e]);
          unseen.add(e.traceId);
          continue;
        }
        if (single?.spanId === e.spanId) {
          // The same span again (a client retry): its row goes again and the writer drops it as stored. Judged on
          // the stored ids: a token cannot have another token's span acknowledged as its own.
          if (admit && refused(single)) continue;
          if (hasUsage(single)) result.counted.push({ event: single, value: single, before: NO_BEFORE });
          continue;
        }
        const stored = known?.nodes.get(e.spanId);
        if (stored) {
          // The same span again (a client retry): its row, if it had one, goes again and the writer drops it as stored.
          const row = known!.rows.get(e.spanId);
          if (admit && refused(row?.event ?? stored)) continue;
          if (row) result.counted.push({ event: row.event, value: row.value, before: row.before });
          continue;
        }
        const inherited = inheritedIds(e, inBatch, memory);
        if (inherited) {
          e = { ...e, ...inherited };
          result.inherited++;
        }
        const missing = e.meta.missingRequired & ~presentBits(e);
        if (missing) {
          result.rejected.push({ event: e, kinds: missing });
          continue;
        }
        if (admit && refused(e)) continue;
        let list = fresh.get(e.traceId);
        if (!list) fresh.set(e.traceId, (list = []));
        list.push(e);
      }
      for (const [traceId, list] of fresh) decideAndEmit(traceId, list, result, unseen.has(traceId));
      traces.trim();
      return result;
    },
  };

  function decideAndEmit(traceId: string, list: Unpriced[], result: DedupeResult, unseen: boolean): void {
    if (list.length === 1 && (unseen || (!traces.get(traceId) && !traces.single(traceId)))) {
      // The common case, a trace seen for the first time with one event: it is a unit of its own, stored as it is.
      const e = list[0]!;
      traces.addSingle(e);
      if (hasUsage(e)) result.counted.push({ event: e, value: e, before: NO_BEFORE });
      return;
    }
    const mem = traces.touch(traceId);
    for (const e of list) traces.add(mem, e);
    const isNew = new Set(list);
    const ups = new Map<Unpriced, Unpriced | undefined>();
    const upOf = (e: Unpriced): Unpriced | undefined => {
      if (ups.has(e)) return ups.get(e);
      let up: Unpriced | undefined;
      let parent = e.parentSpanId;
      for (let depth = 0; parent && depth < MAX_DEPTH; depth++) {
        up = mem.nodes.get(parent);
        if (up) break;
        parent = parents.get(spanKey(traceId, parent)) ?? '';
      }
      ups.set(e, up);
      return up;
    };
    const decision = decideTrace([...mem.nodes.values()], upOf);
    countPairs(decision, isNew, result);
    // Units that add nothing first: an aggregate stored before its calls becomes a credit the calls below draw on.
    for (const unit of decision.units) if (!unit.value) emitUnit(traces, mem, unit, isNew, result, upOf);
    for (const unit of decision.units) if (unit.value) emitUnit(traces, mem, unit, isNew, result, upOf);
  }
}
export type CallDeduper = ReturnType<typeof createCallDeduper>;
