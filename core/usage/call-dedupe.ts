import { decideTrace, hasUsage, type Decision, type Unit } from './call-groups.ts';
import { Fifo } from './fifo.ts';
import { INHERITABLE, type InheritableIdentity } from './identity.ts';
import type { Unpriced } from './map-span.ts';
import { TraceMemory, ZERO, vecOf, type StoredRow, type TraceState } from './trace-memory.ts';

interface SpanRef {
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

/**
 * One row to store: `event` carries the counts it adds. Its cost is price(`value`) minus the price of each value in
 * `before` (what earlier rows of the call, or of an aggregate above it, already stored); with no `before`, price(event).
 */
export interface CountedRow {
  event: Unpriced;
  /** The call's whole value once this row is stored. */
  value: Unpriced;
  before: readonly Unpriced[];
}

/** Outcome of one request's events: what to price and store, and what the counters should say. */
export interface DedupeResult {
  counted: CountedRow[];
  /** Spans with usage that add nothing of their own (aggregate, outer wrapper, second instrumentation's span). */
  superseded: number;
  /** Pairs with a hint of being one call whose evidence disagrees: both counted. */
  collisions: number;
  /** Pairs judged one call whose counts differ slightly or whose models differ: the innermost span's were kept. */
  discrepancies: number;
  /** Calls for which more usage is stored than their spans now say (a retraction would be needed): kept as stored. */
  lateEvidence: number;
  /** Events that took at least one id from an ancestor span. */
  inherited: number;
  /** Events rejected because identity.required kinds were found neither on them nor on their ancestors. */
  rejected: { event: Unpriced; kinds: number }[];
  /** Events the caller's `admit` refused (an ingest token reporting outside its scope), with its reason. */
  refused: { event: Unpriced; reason: string }[];
}

/** Decides, on an event's final ids (inherited ones included), whether the request may report it: null, or why not. */
export type Admit = (e: Unpriced) => string | null;

const MAX_DEPTH = 64;

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
  const key = (traceId: string, spanId: string) => traceId + spanId;

  /** Ids missing on `e` found on its nearest ancestors: this request's events, remembered events, then id-only spans. */
  function inheritedIds(e: Unpriced, inBatch: Map<string, Unpriced>): Partial<InheritableIdentity> | undefined {
    let want = e.meta.weakIdentity;
    let parent = e.parentSpanId;
    if (!parent || !want) return undefined;
    let out: Partial<InheritableIdentity> | undefined;
    const known = traces.get(e.traceId);
    const single = known ? undefined : traces.single(e.traceId);
    for (let depth = 0; parent && depth < MAX_DEPTH && want; depth++) {
      const k = key(e.traceId, parent);
      const above = inBatch.get(k) ?? known?.nodes.get(parent) ?? (single?.spanId === parent ? single : undefined);
      const ids = above ? strongIdentity(above) : identities.get(k);
      if (ids) {
        for (let b = 0; b < INHERITABLE.length; b++) {
          const kind = INHERITABLE[b]!;
          if (want & (1 << b) && ids[kind]) {
            (out ??= {})[kind] = ids[kind];
            want &= ~(1 << b);
          }
        }
      }
      parent = above ? above.parentSpanId : (parents.get(k) ?? '');
    }
    return out;
  }

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
        const k = key(s.traceId, s.spanId);
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
        const inherited = inheritedIds(e, inBatch);
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
        parent = parents.get(key(traceId, parent)) ?? '';
      }
      ups.set(e, up);
      return up;
    };
    const decision = decideTrace([...mem.nodes.values()], upOf);
    countPairs(decision, isNew, result);
    // Units that add nothing first: an aggregate stored before its calls becomes a credit the calls below draw on.
    for (const unit of decision.units) if (!unit.value) emit(mem, unit, isNew, result, upOf);
    for (const unit of decision.units) if (unit.value) emit(mem, unit, isNew, result, upOf);
  }

  /** Stores the difference between the unit's value and what its members' rows (and an aggregate above) stored before. */
  function emit(mem: TraceState, unit: Unit, isNew: Set<Unpriced>, result: DedupeResult, upOf: (e: Unpriced) => Unpriced | undefined): void {
    const rows: StoredRow[] = [];
    for (const m of unit.members) {
      const r = mem.rows.get(m.spanId);
      if (r) rows.push(r);
    }
    const want = unit.value ? vecOf(unit.value) : ZERO;
    const delta = want.slice();
    for (const r of rows) for (let i = 0; i < delta.length; i++) delta[i]! -= r.vec[i]!;
    let over = false;
    for (let i = 0; i < delta.length; i++) {
      if (delta[i]! < 0) {
        over = true;
        delta[i] = 0;
      }
    }
    if (over && !rows.some((r) => r.late)) {
      result.lateEvidence++;
      for (const r of rows) r.late = true;
      // What it stored beyond its value is owed by the calls below it: they draw on it instead of storing it again.
      if (rows[0] && !unit.value) {
        const excess = ZERO.map((_, i) => Math.max(0, -(want[i]! - rows.reduce((n, r) => n + r.vec[i]!, 0))));
        rows[0].credit = excess;
        rows[0].creditCost = true;
      }
    }
    const fresh = unit.members.filter((m) => isNew.has(m) && !mem.rows.has(m.spanId));
    const value = unit.value;
    const last = rows.reduce<StoredRow | undefined>((a, r) => (!a || r.seq > a.seq ? r : a), undefined);
    const before: Unpriced[] = last ? [last.value] : [];
    if (value && fresh.length > 0) drawOnCredit(mem, unit, delta, before, upOf);
    const empty = delta.every((d) => d === 0);
    const drewCost = before.length > (last ? 1 : 0);
    if (!value || (empty && !drewCost && (!last || samePricing(last.value, value)))) {
      for (const m of fresh) if (hasUsage(m)) result.superseded++;
      return;
    }
    const first = unit.members[0]!;
    const keyNode = !mem.rows.has(first.spanId) ? first : (fresh[0] ?? unit.members.find((m) => !mem.rows.has(m.spanId)));
    if (!keyNode) {
      if (!empty) result.lateEvidence++;
      return;
    }
    const anchor = rows.reduce<StoredRow | undefined>((a, r) => (!a || r.seq < a.seq ? r : a), undefined)?.event;
    // The common case stores the call's own event as it is; any earlier row or credit makes a row of the difference.
    const whole = !anchor && keyNode === value && before.length === 0 && delta.every((d, i) => d === want[i]);
    const event = whole ? value : rowEvent(value, keyNode, anchor, delta);
    mem.rows.set(keyNode.spanId, { vec: delta, value, before, event, seq: traces.nextSeq(), late: false });
    result.counted.push({ event, value, before });
    for (const m of fresh) if (m !== keyNode && hasUsage(m)) result.superseded++;
  }
}
export type CallDeduper = ReturnType<typeof createCallDeduper>;

const NO_BEFORE: readonly Unpriced[] = [];

/** A call below an aggregate stored before it stores only what exceeds the aggregate's remaining credit. */
function drawOnCredit(mem: TraceState, unit: Unit, delta: number[], before: Unpriced[], upOf: (e: Unpriced) => Unpriced | undefined): void {
  const seen = new Set<Unpriced>();
  for (const m of unit.members) {
    for (let up = upOf(m), depth = 0; up && depth < MAX_DEPTH && !seen.has(up); up = upOf(up), depth++) {
      seen.add(up);
      const row = mem.rows.get(up.spanId);
      if (!row?.credit || unit.members.includes(up)) continue;
      for (let i = 0; i < delta.length; i++) {
        const take = Math.min(delta[i]!, row.credit[i]!);
        delta[i]! -= take;
        row.credit[i]! -= take;
      }
      if (row.creditCost) {
        before.push(row.value);
        row.creditCost = false;
      }
      return;
    }
  }
}

/** Collisions and discrepancies are counted once, when the later span of the pair arrives. */
function countPairs(d: Decision, isNew: Set<Unpriced>, result: DedupeResult): void {
  for (const [a, b] of d.collisions) if (isNew.has(a) || isNew.has(b)) result.collisions++;
  for (const [a, b] of d.discrepancies) if (isNew.has(a) || isNew.has(b)) result.discrepancies++;
}


/** A row of `value` keyed by `keyNode`'s span, adding `delta`, attributed like the call's first row (`anchor`) when there is one. */
function rowEvent(value: Unpriced, keyNode: Unpriced, anchor: Unpriced | undefined, delta: readonly number[]): Unpriced {
  const who = anchor ?? value;
  return {
    ...value,
    eventId: keyNode.eventId,
    traceId: keyNode.traceId,
    spanId: keyNode.spanId,
    parentSpanId: keyNode.parentSpanId,
    time: who.time,
    startTime: who.startTime,
    service: who.service,
    apiKey: who.apiKey,
    user: who.user,
    tenant: who.tenant,
    agent: who.agent,
    conversation: who.conversation,
    attributes: who.attributes,
    requests: delta[0]!,
    toolCalls: delta[1]!,
    inputTokens: delta[2]!,
    outputTokens: delta[3]!,
    cacheReadTokens: delta[4]!,
    cacheWriteTokens: delta[5]!,
    reasoningTokens: delta[6]!,
    computeSeconds: delta[7]!,
  };
}

/** Two values of a call that price the same (so a later span that adds nothing needs no row). */
function samePricing(a: Unpriced, b: Unpriced): boolean {
  return (
    a.model === b.model &&
    a.provider === b.provider &&
    a.spanCost === b.spanCost &&
    a.inputTokens === b.inputTokens &&
    a.outputTokens === b.outputTokens &&
    a.cacheReadTokens === b.cacheReadTokens &&
    a.cacheWriteTokens === b.cacheWriteTokens &&
    a.reasoningTokens === b.reasoningTokens
  );
}

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
