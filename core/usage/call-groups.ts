import { compareCounts, compatibleModels, countsOf, fillFromOuter, overlap, sumCounts } from './call-merge.ts';
import type { Unpriced } from './map-span.ts';

/**
 * What a set of spans of one trace amounts to, decided from the spans alone (never from the order they came in):
 * each unit is a call (its spans: the innermost first, then its wrappers and a second instrumentation's span of the
 * same call), a tool execution, or a span that adds nothing (an aggregate over calls, a container above them).
 */
export interface Unit {
  members: Unpriced[];
  /** What the unit counts; null when it adds nothing. */
  value: Unpriced | null;
}

export interface Decision {
  units: Unit[];
  /** Pairs with a hint of being one call (nesting, a shared response id) whose evidence disagrees: both count. */
  collisions: [Unpriced, Unpriced][];
  /** Pairs judged one call whose counts differ slightly or whose models differ: the innermost span's are kept. */
  discrepancies: [Unpriced, Unpriced][];
}

/** A call group while it is being built. */
interface Group {
  unit: Unit;
  value: Unpriced;
  scopes: Set<string>;
  startTime: number;
  time: number;
  /** Set when this group turned out to be the same call as another one side by side. */
  mergedInto?: Group;
}

const resolve = (g: Group): Group => {
  let x = g;
  while (x.mergedInto) x = x.mergedInto;
  return x;
};

/** Family of the provider's own SDK spans: closest to the provider call, so it represents a call seen twice side by side. */
const PROVIDER_SDK = 'anthropic-sdk';

/**
 * Groups the events of one trace into calls. `upOf(e)` is the nearest event above `e` in the trace (through spans
 * that are not events), or undefined. Pure and independent of the order of `events`.
 */
export function decideTrace(events: readonly Unpriced[], upOf: (e: Unpriced) => Unpriced | undefined): Decision {
  const decision: Decision = { units: [], collisions: [], discrepancies: [] };
  const ordered = [...events].sort(byStartThenId);
  const kids = new Map<Unpriced, Unpriced[]>();
  const roots: Unpriced[] = [];
  for (const e of ordered) {
    const up = upOf(e);
    if (up && up !== e) {
      let list = kids.get(up);
      if (!list) kids.set(up, (list = []));
      list.push(e);
    } else roots.push(e);
  }
  // Groups visible from above each event: its own call group, or the calls below it when it is not a call itself.
  const below = new Map<Unpriced, Group[]>();
  const groupOf = new Map<Unpriced, Group>();

  const visit = (n: Unpriced): void => {
    const front = siblingsMerged(collect(kids.get(n) ?? [], below), decision);
    if (n.role === 'inference') {
      const g = callNode(n, front, decision);
      if (g) {
        groupOf.set(n, g);
        below.set(n, [g]);
        return;
      }
      below.set(n, front);
      // An aggregate over several calls adds nothing. As a unit of its own, what it stored before its calls arrived
      // (in an earlier request) becomes the credit they draw on, as for a container's, instead of being counted again.
      decision.units.push({ members: [n], value: null });
      return;
    }
    below.set(n, front);
    if (front.length > 0) {
      // A tool over calls is still a tool execution, without their tokens; containers over calls add nothing.
      decision.units.push({ members: [n], value: n.role === 'tool' ? withoutTokens(n) : null });
    } else decision.units.push({ members: [n], value: hasUsage(n) ? n : null });
  };
  postOrder(roots, kids, visit);
  // Calls at the top of the trace (under spans that are not events) may still be one call seen by two instrumentations.
  siblingsMerged(collect(roots, below), decision);

  const groups = new Set([...groupOf.values()].map(resolve));
  for (const g of groups) {
    g.unit.value = g.value;
    decision.units.push(g.unit);
  }
  responseIdCollisions(groupOf, decision);
  return decision;
}

function byStartThenId(a: Unpriced, b: Unpriced): number {
  return a.startTime - b.startTime || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}

/** Visits every event after its descendants, without recursion (a hostile trace may nest deeply). */
function postOrder(roots: readonly Unpriced[], kids: Map<Unpriced, Unpriced[]>, visit: (n: Unpriced) => void): void {
  const seen = new Set<Unpriced>();
  const stack: { n: Unpriced; expanded: boolean }[] = roots.map((n) => ({ n, expanded: false })).reverse();
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      visit(top.n);
      continue;
    }
    if (seen.has(top.n)) continue;
    seen.add(top.n);
    stack.push({ n: top.n, expanded: true });
    const list = kids.get(top.n) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (!seen.has(list[i]!)) stack.push({ n: list[i]!, expanded: false });
  }
}

function collect(nodes: readonly Unpriced[], below: Map<Unpriced, Group[]>): Group[] {
  const out: Group[] = [];
  for (const k of nodes) {
    for (const x of below.get(k) ?? []) {
      const g = resolve(x);
      if (!out.includes(g)) out.push(g);
    }
  }
  return out;
}

/** An inference span over the calls `front`: a call of its own, a wrapper joining the one call below, or an aggregate. */
function callNode(n: Unpriced, front: Group[], decision: Decision): Group | undefined {
  if (front.length === 0) return newGroup(n);
  if (front.length === 1) {
    const g = front[0]!;
    const cmp = compareCounts(countsOf(n), countsOf(g.value));
    if (cmp.verdict !== 'differ' && overlap(n, g)) {
      if (cmp.verdict === 'close' || !compatibleModels(n.model, g.value.model)) decision.discrepancies.push([g.unit.members[0]!, n]);
      join(g, n);
      return g;
    }
    decision.collisions.push([g.unit.members[0]!, n]);
    return newGroup(n);
  }
  // Over several calls: an aggregate repeating their usage adds nothing (so does one without counts).
  if (n.meta.tokenFields === 0) return undefined;
  const sum = sumCounts(front.map((g) => g.value));
  if (compareCounts(countsOf(n), sum).verdict !== 'differ') return undefined;
  decision.collisions.push([front[0]!.unit.members[0]!, n]);
  return newGroup(n);
}

/** Which instrumentation made a span: its family and scope (one library may name its scopes per provider). */
const instrumentation = (n: Unpriced) => `${n.family}|${n.meta.scope}`;

function newGroup(n: Unpriced): Group {
  return { unit: { members: [n], value: null }, value: n, scopes: new Set([instrumentation(n)]), startTime: n.startTime, time: n.time };
}

/** `n` is an outer span of the group's call: the inner keeps its counts and takes what it lacks from `n`. */
function join(g: Group, n: Unpriced): void {
  g.unit.members.push(n);
  g.value = fillFromOuter(g.value, n);
  g.scopes.add(instrumentation(n));
  g.startTime = Math.min(g.startTime, n.startTime);
  g.time = Math.max(g.time, n.time);
}

/**
 * Calls side by side that are one call seen by two instrumentations (a provider SDK's own span beside an
 * instrumentation's span): different instrumentations, overlapping in time, the same parent or response id, models
 * that agree, and counts that agree (exactly, unless they share a response id). Merged in a fixed order.
 */
function siblingsMerged(front: Group[], decision: Decision): Group[] {
  if (front.length < 2) return front;
  const sorted = [...front].sort((a, b) => byStartThenId(a.unit.members[0]!, b.unit.members[0]!));
  const kept: Group[] = [];
  for (const g of sorted) {
    const into = kept.find((k) => sameCallSideBySide(k, g));
    if (!into) {
      kept.push(g);
      continue;
    }
    const keepFirst = representsBetter(into, g);
    const [rep, other] = keepFirst ? [into, g] : [g, into];
    const cmp = compareCounts(countsOf(rep.value), countsOf(other.value));
    if (cmp.verdict === 'close' || !compatibleModels(rep.value.model, other.value.model)) decision.discrepancies.push([rep.unit.members[0]!, other.unit.members[0]!]);
    // `into` keeps its place (spans above refer to it); its contents become the merged call, the representative first.
    into.unit.members = [...rep.unit.members, ...other.unit.members];
    into.value = fillFromOuter(rep.value, other.value);
    for (const x of g.scopes) into.scopes.add(x);
    into.startTime = Math.min(into.startTime, g.startTime);
    into.time = Math.max(into.time, g.time);
    g.mergedInto = into;
  }
  return kept;
}

function sameCallSideBySide(a: Group, b: Group): boolean {
  for (const s of b.scopes) if (a.scopes.has(s)) return false;
  const sharedId = shareResponseId(a, b);
  const ta = a.unit.members[0]!;
  const tb = b.unit.members[0]!;
  // Two processes (an app and the gateway it calls) are linked only through spans that are not events (the app's HTTP
  // client span); when those came in a request without usage the link is gone, so their spans meet here unrelated.
  if (!sharedId && topParent(a) !== topParent(b) && ta.service === tb.service) return false;
  if (!overlap(a, b) || !compatibleModels(a.value.model, b.value.model)) return false;
  if (ta.provider && tb.provider && ta.provider !== tb.provider) return false;
  const cmp = compareCounts(countsOf(a.value), countsOf(b.value));
  if (sharedId) return cmp.verdict !== 'differ';
  return cmp.verdict === 'exact' && cmp.shared;
}

const topParent = (g: Group) => g.unit.members[g.unit.members.length - 1]!.parentSpanId;

function shareResponseId(a: Group, b: Group): boolean {
  for (const x of a.unit.members) if (x.responseId && b.unit.members.some((y) => y.responseId === x.responseId)) return true;
  return false;
}

/** The span closest to the provider represents the call: the provider SDK's own, else the one with more counts, else the lower span id. */
function representsBetter(a: Group, b: Group): boolean {
  const sa = a.value.family === PROVIDER_SDK ? 1 : 0;
  const sb = b.value.family === PROVIDER_SDK ? 1 : 0;
  if (sa !== sb) return sa > sb;
  const ca = bits(a.value.meta.tokenFields);
  const cb = bits(b.value.meta.tokenFields);
  if (ca !== cb) return ca > cb;
  return a.unit.members[0]!.spanId <= b.unit.members[0]!.spanId;
}

function bits(n: number): number {
  let c = 0;
  for (let x = n; x; x &= x - 1) c++;
  return c;
}

/** Calls counted apart although spans of each carry the same response id: the id was a hint the evidence overruled. */
function responseIdCollisions(groupOf: Map<Unpriced, Group>, decision: Decision): void {
  const byId = new Map<string, Unit[]>();
  for (const [e, x] of groupOf) {
    if (!e.responseId) continue;
    const unit = resolve(x).unit;
    const units = byId.get(e.responseId);
    if (!units) byId.set(e.responseId, [unit]);
    else if (!units.includes(unit)) {
      decision.collisions.push([units[0]!.members[0]!, unit.members[0]!]);
      units.push(unit);
    }
  }
}

export function hasUsage(e: Unpriced): boolean {
  return e.requests > 0 || e.toolCalls > 0 || e.inputTokens > 0 || e.outputTokens > 0 || e.computeSeconds > 0 || (e.spanCost ?? 0) > 0;
}

export function withoutTokens(e: Unpriced): Unpriced {
  return { ...e, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, spanCost: null };
}
