import { MINUTE_MS, entityKey } from './baseline.ts';
import type { FreshSeries } from './fresh-counters.ts';
import { expAt } from './frame.ts';
import type { EntityFrame } from './frame.ts';

/** How many of a tenant's active keys were above their own expectation over a span, and of how many. */
export interface Breadth {
  above: number;
  keys: number;
}

/** Calls (requests + tool calls) of one key's fresh buckets from `from` until `now`. */
function callsSince(series: FreshSeries | undefined, from: number, now: number): number {
  let n = 0;
  for (const b of series?.buckets ?? []) if (b.start >= from && b.start <= now) n += b.requests + b.tool_calls;
  return n;
}

/** A key's expected calls from `from` until its frame's `now` (its own history, its peers' or the floor). */
function expectedCalls(f: EntityFrame, from: number): number {
  let sum = 0;
  for (let t = from; t < f.now; t += MINUTE_MS) {
    const j = Math.min(f.n - 1, Math.max(0, Math.floor((t - f.o.minuteStart) / MINUTE_MS)));
    const len = (Math.min(f.now, t + MINUTE_MS) - t) / MINUTE_MS;
    sum += (expAt(f, 'requests', j).mean + expAt(f, 'tool_calls', j).mean) * len;
  }
  return sum;
}

/**
 * The breadth of a tenant's rise since `from`: of its keys active in the observation window (their frames), how
 * many made more calls than their own expectation over the same span. In a steady fleet one key's burst is common
 * and lifts the tenant alone; most of a tenant's keys rising at once is what a tenant-wide rise looks like.
 */
export function tenantBreadth(keys: readonly EntityFrame[], series: ReadonlyMap<string, FreshSeries>, from: number): Breadth {
  let above = 0;
  for (const k of keys) {
    const calls = callsSince(series.get(entityKey(k.o.kind, k.o.id)), from, k.now);
    if (calls > expectedCalls(k, from)) above++;
  }
  return { above, keys: keys.length };
}

/** Broad: at least `share` of the tenant's active keys, and at least `minKeys` of them, above their expectation. */
export function isBroad(b: Breadth, share: number, minKeys: number): boolean {
  return b.above >= minKeys && b.above >= share * b.keys;
}
