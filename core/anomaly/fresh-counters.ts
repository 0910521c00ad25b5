import type { EntityKind } from '../usage/types.ts';
import { entityKey } from './baseline.ts';

/** Usage of one entity in one sub-minute bucket (e.g. 10 s). */
export interface FreshBucket {
  /** Epoch ms of the bucket's start (a multiple of the bucket length). */
  start: number;
  requests: number;
  tool_calls: number;
  tokens: number;
  cost_usd: number;
  /**
   * The largest single-event costs of the bucket, largest first (at most `TOP_COSTS`): the sequential test caps
   * what one event may weigh, so one expensive request never reads as a flood.
   */
  top: number[];
}

/** One entity's recent buckets, oldest first; only buckets with usage are kept. */
export interface FreshSeries {
  kind: EntityKind;
  id: string;
  tenant: string;
  buckets: FreshBucket[];
}

/** One stored usage event as the fresh path needs it. */
export interface FreshEvent {
  /** Event (span end) time, epoch ms. */
  time: number;
  /** Every identity of the event: (kind, id); `tenant` is the event's tenant ('' if none). */
  entities: readonly { kind: EntityKind; id: string }[];
  tenant: string;
  requests: number;
  toolCalls: number;
  tokens: number;
  costUsd: number;
}

/**
 * Sliding per-entity counters over the last `windowMs`, in buckets of `bucketMs`. Plain data the caller owns and
 * passes in (the detector's fresh feed): these functions hold no state of their own and never read a clock.
 */
export interface FreshCounters {
  bucketMs: number;
  windowMs: number;
  series: Map<string, FreshSeries>;
}

export const TOP_COSTS = 3;

export function createFreshCounters(bucketMs: number, windowMs: number): FreshCounters {
  if (!(bucketMs > 0 && windowMs >= bucketMs)) throw new RangeError(`fresh counters: need 0 < bucket <= window, got ${bucketMs}/${windowMs} ms`);
  return { bucketMs, windowMs, series: new Map() };
}

function pushTop(top: number[], cost: number): void {
  if (!(cost > 0)) return;
  if (top.length === TOP_COSTS && cost <= top[TOP_COSTS - 1]!) return;
  let i = top.length;
  while (i > 0 && top[i - 1]! < cost) i--;
  top.splice(i, 0, cost);
  if (top.length > TOP_COSTS) top.length = TOP_COSTS;
}

/**
 * Counts one event into every entity it names. Events older than the window before `now` (history arriving late)
 * are not fresh and are left to the rollups; events stamped in the future count at `now`.
 */
export function addFresh(c: FreshCounters, e: FreshEvent, now: number): void {
  const valid = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);
  const time = Math.min(e.time, now);
  if (!Number.isFinite(time) || time < now - c.windowMs) return;
  const start = Math.floor(time / c.bucketMs) * c.bucketMs;
  const cost = valid(e.costUsd);
  for (const ent of e.entities) {
    if (ent.id === '') continue;
    const key = entityKey(ent.kind, ent.id);
    let s = c.series.get(key);
    if (!s) {
      s = { kind: ent.kind, id: ent.id, tenant: ent.kind === 'tenant' ? '' : e.tenant, buckets: [] };
      c.series.set(key, s);
    }
    // Events arrive nearly in order: search from the newest bucket back.
    let i = s.buckets.length - 1;
    while (i >= 0 && s.buckets[i]!.start > start) i--;
    let b = i >= 0 ? s.buckets[i] : undefined;
    if (!b || b.start !== start) {
      b = { start, requests: 0, tool_calls: 0, tokens: 0, cost_usd: 0, top: [] };
      s.buckets.splice(i + 1, 0, b);
    }
    b.requests += valid(e.requests);
    b.tool_calls += valid(e.toolCalls);
    b.tokens += valid(e.tokens);
    b.cost_usd += cost;
    pushTop(b.top, cost);
  }
}

/** Drops buckets that left the window and entities with none left. */
export function pruneFresh(c: FreshCounters, now: number): void {
  const oldest = now - c.windowMs;
  for (const [key, s] of c.series) {
    let drop = 0;
    while (drop < s.buckets.length && s.buckets[drop]!.start + c.bucketMs <= oldest) drop++;
    if (drop > 0) s.buckets.splice(0, drop);
    if (s.buckets.length === 0) c.series.delete(key);
  }
}
