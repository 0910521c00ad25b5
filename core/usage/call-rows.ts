import { hasUsage, type Decision, type Unit } from './call-groups.ts';
import type { Unpriced } from './map-span.ts';
import { ZERO, vecOf, type StoredRow, type TraceMemory, type TraceState } from './trace-memory.ts';
import { MAX_DEPTH, type DedupeResult } from './dedupe-types.ts';

/* The rows the deduper stores for a trace's calls once they are decided: each the difference to what was stored. */

/** Stores the difference between the unit's value and what its members' rows (and an aggregate above) stored before. */
export function emitUnit(traces: TraceMemory, mem: TraceState, unit: Unit, isNew: Set<Unpriced>, result: DedupeResult, upOf: (e: Unpriced) => Unpriced | undefined): void {
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
export function countPairs(d: Decision, isNew: Set<Unpriced>, result: DedupeResult): void {
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
