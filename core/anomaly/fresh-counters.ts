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

/** The bucket of `key` starting at `start`, created (in order) when missing. */
function bucketOf(c: FreshCounters, kind: EntityKind, id: string, tenant: string, start: number): FreshBucket {
  const key = entityKey(kind, id);
  let s = c.series.get(key);
  if (!s) {
    s = { kind, id, tenant: kind === 'tenant' ? '' : tenant, buckets: [] };
    c.series.set(key, s);
  }
  // Usage arrives nearly in order: search from the newest bucket back.
  let i = s.buckets.length - 1;
  while (i >= 0 && s.buckets[i]!.start > start) i--;
  let b = i >= 0 ? s.buckets[i] : undefined;
  if (!b || b.start !== start) {
    b = { start, requests: 0, tool_calls: 0, tokens: 0, cost_usd: 0, top: [] };
    s.buckets.splice(i + 1, 0, b);
  }
  return b;
}

const valid = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);

/** Start of the bucket `time` falls in, or null when it is older than the window (history arriving late). */
function startOf(c: FreshCounters, time: number, now: number): number | null {
  const t = Math.min(time, now); // stamped in the future: counts now
  if (!Number.isFinite(t) || t < now - c.windowMs) return null;
  return Math.floor(t / c.bucketMs) * c.bucketMs;
}

/**
 * Counts one event into every entity it names. Events older than the window before `now` (history arriving late)
 * are not fresh and are left to the rollups.
 */
export function addFresh(c: FreshCounters, e: FreshEvent, now: number): void {
  const start = startOf(c, e.time, now);
  if (start === null) return;
  const cost = valid(e.costUsd);
  for (const ent of e.entities) {
    if (ent.id === '') continue;
    const b = bucketOf(c, ent.kind, ent.id, e.tenant, start);
    b.requests += valid(e.requests);
    b.tool_calls += valid(e.toolCalls);
    b.tokens += valid(e.tokens);
    b.cost_usd += cost;
    pushTop(b.top, cost);
  }
}

/** Adds a bucket already summed elsewhere (read back from the store) into an entity's counters. */
export function mergeFresh(c: FreshCounters, kind: EntityKind, id: string, tenant: string, add: FreshBucket, now: number): void {
  const start = startOf(c, add.start, now);
  if (start === null || id === '') return;
  const b = bucketOf(c, kind, id, tenant, start);
  b.requests += valid(add.requests);
  b.tool_calls += valid(add.tool_calls);
  b.tokens += valid(add.tokens);
  b.cost_usd += valid(add.cost_usd);
  for (const x of add.top) pushTop(b.top, x);
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

/**
 * Keeps at most `max` entities of each kind, dropping those that spent least over the window (then called least,
 * then were seen longest ago): a flood of one-call ids never pushes out an entity that spends more than each of them.
 */
export function capFresh(c: FreshCounters, max: number): void {
  const byKind = new Map<EntityKind, { key: string; cost: number; calls: number; last: number }[]>();
  for (const [key, s] of c.series) {
    let cost = 0;
    let calls = 0;
    for (const b of s.buckets) {
      cost += b.cost_usd;
      calls += b.requests + b.tool_calls;
    }
    const list = byKind.get(s.kind) ?? [];
    list.push({ key, cost, calls, last: s.buckets.at(-1)?.start ?? 0 });
    byKind.set(s.kind, list);
  }
  for (const list of byKind.values()) {
    if (list.length <= max) continue;
    list.sort((a, b) => a.cost - b.cost || a.calls - b.calls || a.last - b.last);
    for (let i = 0; i < list.length - max; i++) c.series.delete(list[i]!.key);
  }
}
