import { entityKey, type EntityObservation } from '../core/anomaly/index.ts';
import type { EntityKind } from '../core/usage/types.ts';
import type { MinutePoints } from '../store/anomaly-repo.ts';

const MINUTE = 60_000;

/** One held entity as the cap ranks it. */
export interface Ranked {
  key: string;
  kind: EntityKind;
  /** Spend (USD) over the held window: what makes an entity worth keeping. */
  spend: number;
  /** Calls over the held window: breaks ties between unpriced entities. */
  calls: number;
  /** Epoch ms of its newest usage: among equals, the one seen longest ago goes first. */
  last: number;
}

/** Coldest first: least spend, then fewest calls, then seen longest ago. */
export function colder(a: Ranked, b: Ranked): number {
  return a.spend - b.spend || a.calls - b.calls || a.last - b.last;
}

/** Spent more than `b`, or as much in more calls. */
function outspends(a: Ranked, b: Ranked): boolean {
  return a.spend > b.spend || (a.spend === b.spend && a.calls > b.calls);
}

/**
 * Which entities to drop so that at most `max` of each kind stay, coldest first, never one in `keep` (an open
 * incident); and per kind that was full, the entity now at the bottom: a newcomer is taken only when it is hotter.
 * A flood of one-call ids therefore never pushes out an entity that spends more than each of them.
 */
export function overCap(entities: Iterable<Ranked>, max: number, keep: ReadonlySet<string>): { drop: string[]; bar: Map<EntityKind, Ranked> } {
  const byKind = new Map<EntityKind, Ranked[]>();
  for (const e of entities) {
    const list = byKind.get(e.kind);
    if (list) list.push(e);
    else byKind.set(e.kind, [e]);
  }
  const drop: string[] = [];
  const bar = new Map<EntityKind, Ranked>();
  for (const [kind, list] of byKind) {
    if (list.length < max) continue;
    const movable = list.filter((e) => !keep.has(e.key)).sort(colder);
    const excess = Math.min(movable.length, list.length - max);
    for (let i = 0; i < excess; i++) drop.push(movable[i]!.key);
    const bottom = movable[excess];
    if (bottom) bar.set(kind, bottom);
  }
  return { drop, bar };
}

/** An entity held with its whole window of per-minute series. */
export function rankSeries(key: string, o: EntityObservation, last: number): Ranked {
  let spend = 0;
  let calls = 0;
  const s = o.series;
  for (let j = 0; j < s.cost_usd.length; j++) {
    spend += s.cost_usd[j]!;
    calls += s.requests[j]! + s.tool_calls[j]!;
  }
  return { key, kind: o.kind, spend, calls, last };
}

/** An entity not held, from the store rows of the span read (indexed from `from`): a lower bound of its window. */
export function rankPoints(r: MinutePoints, from: number): Ranked {
  let spend = 0;
  let calls = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const [i, cost, , requests, tools] of r.points) {
    spend += cost;
    calls += requests + tools;
    last = Math.max(last, from + i * MINUTE);
  }
  return { key: entityKey(r.kind, r.id), kind: r.kind, spend, calls, last };
}

/**
 * Which newcomers to read in: while a kind has room, the hottest that fit; once it is full, only those that spent
 * more than its bar (or as much in more calls): being newer is not enough, or a steady flood of new one-call ids
 * would replace the whole kind every tick, each time reading their windows and building their baselines. The trim
 * then drops what they displace; `keep` always. At most `max` a kind otherwise, so a flood of new ids never makes
 * one read hold more than twice the cap.
 */
export function admitted<T>(candidates: readonly { item: T; rank: Ranked }[], held: ReadonlyMap<EntityKind, number>, max: number, bars: ReadonlyMap<EntityKind, Ranked>, keep: ReadonlySet<string>): T[] {
  const byKind = new Map<EntityKind, { item: T; rank: Ranked }[]>();
  for (const c of candidates) {
    const list = byKind.get(c.rank.kind);
    if (list) list.push(c);
    else byKind.set(c.rank.kind, [c]);
  }
  const out: T[] = [];
  for (const [kind, list] of byKind) {
    list.sort((a, b) => colder(b.rank, a.rank));
    const room = Math.max(0, max - (held.get(kind) ?? 0));
    const bar = bars.get(kind);
    list.forEach((c, i) => {
      if (keep.has(c.rank.key) || (i < max && (i < room || (bar !== undefined && outspends(c.rank, bar))))) out.push(c.item);
    });
  }
  return out;
}
