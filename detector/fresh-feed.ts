import { addFresh, capFresh, createFreshCounters, mergeFresh, pruneFresh, type FreshEvent, type FreshInput } from '../core/anomaly/index.ts';
import type { EntityKind } from '../core/usage/types.ts';
import type { FreshRepo } from '../store/fresh-repo.ts';

/**
 * Where the fresh counters get their usage:
 * - `push`: in the collector's process (embedded / all-in-one), the batch writer tells what it stored; usage stored
 *   before this process started is read back from the store once (a restart loses nothing);
 * - `poll`: the detector runs apart from the collector and reads, each tick, what was stored since its last read;
 * - `replay`: every tick reads the window as of that tick (replay sees the store, not a writer).
 */
export type FreshMode = 'push' | 'poll' | 'replay';

export interface FreshFeedOptions {
  mode: FreshMode;
  bucketMs: number;
  windowMs: number;
  kinds: readonly EntityKind[];
  repo: Pick<FreshRepo, 'buckets'>;
  /** The store's clock for its `ingested_at` stamps (default: this machine's). */
  wallClock?: () => number;
  /** poll: rows stored this recently may still be committing; they are read on the next tick (default 2 s). */
  settleMs?: number;
  /** Entities of one kind counted at most; past it those that spent least are dropped (default: no bound). */
  maxPerKind?: number;
}

/** The detector's per-entity sliding counters over the last minutes, and how they are kept current. */
export function createFreshFeed(o: FreshFeedOptions) {
  const wall = o.wallClock ?? Date.now;
  const settleMs = o.settleMs ?? 2000;
  const kinds = new Set(o.kinds);
  let counters = createFreshCounters(o.bucketMs, o.windowMs);
  /** push: rows stored before this instant come from the store, later ones from the writer. */
  const startedAt = wall();
  let rebuilt = false;
  /** poll: rows stored before this instant have been read. */
  let watermark: number | undefined;

  async function read(now: number, stored: { storedFrom?: number; storedBefore?: number }, to?: number): Promise<void> {
    const rows = await o.repo.buckets({ kinds: [...kinds], bucketMs: o.bucketMs, from: now - o.windowMs, ...(to !== undefined ? { to } : {}), ...stored });
    for (const r of rows) mergeFresh(counters, r.kind, r.id, r.tenant, r.bucket, now);
  }

  return {
    mode: o.mode,
    /** push: events the batch writer just stored (never throws: a listener must not fail the writer). */
    push(events: readonly FreshEvent[], now: number): void {
      if (o.mode !== 'push') return;
      for (const e of events) addFresh(counters, { ...e, entities: e.entities.filter((x) => kinds.has(x.kind)) }, now);
    },
    /** The counters as of `now`, brought up to date from the store as the mode requires. */
    async input(now: number): Promise<FreshInput> {
      if (o.mode === 'replay') {
        counters = createFreshCounters(o.bucketMs, o.windowMs);
        await read(now, {}, now);
      } else if (o.mode === 'push' && !rebuilt) {
        await read(now, { storedBefore: startedAt });
        rebuilt = true;
      } else if (o.mode === 'poll') {
        const before = wall() - settleMs;
        await read(now, { ...(watermark !== undefined ? { storedFrom: watermark } : {}), storedBefore: before });
        watermark = before;
      }
      pruneFresh(counters, now);
      if (o.maxPerKind !== undefined) capFresh(counters, o.maxPerKind);
      return { series: counters.series, from: now - o.windowMs };
    },
    stats: () => ({ entities: counters.series.size }),
  };
}
export type FreshFeed = ReturnType<typeof createFreshFeed>;
