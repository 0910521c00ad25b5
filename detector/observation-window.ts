import { entityKey, METRICS, type EntityObservation, type Metric } from '../core/anomaly/index.ts';
import type { EntityKind } from '../core/usage/types.ts';
import type { AnomalyRepo, MinutePoints } from '../store/anomaly-repo.ts';
import { admitted, overCap, rankPoints, rankSeries, type Ranked } from './entity-cap.ts';

const MINUTE = 60_000;

export interface ObservationWindowOptions {
  repo: Pick<AnomalyRepo, 'observations' | 'observationsOf' | 'minutesSince'>;
  kinds: readonly EntityKind[];
  /** Length of every series (minutes, ending with the current one). */
  minutes: number;
  /** Entities with usage this recently are returned (scored). */
  activeMinutes: number;
  /** Minutes re-read on every read, the current one included: rows arriving this late are seen at once (default 5). */
  tailMinutes?: number;
  /** Every held entity's whole window is re-read within this long, a slice per read: later rows still count (default 5 min). */
  refreshMs?: number;
  /** Entities of one kind held at most (default: no bound); the coldest go first (entity-cap.ts). */
  maxPerKind?: number;
}

interface Held {
  obs: EntityObservation;
  /** Start of the newest minute with a stored row. */
  lastRow: number;
}

/**
 * The per-minute series of the detector's entities, kept between ticks. A tick reads from the store only the
 * minutes since the previous tick plus a short tail (late rows in it included) and slides the window; an entity
 * seen for the first time (or invalidated) reads its whole window once. Rows that arrive later than the tail still
 * count within `refreshMs`: that often the tail reaches back over the whole active span, and a slice of the held
 * entities has its whole window re-read each tick. The first read, and one after a gap longer than the window,
 * reads everything, as the store-only path did on every tick.
 */
export function createObservationWindow(o: ObservationWindowOptions) {
  const tail = Math.max(1, o.tailMinutes ?? 5);
  const refreshMs = o.refreshMs ?? 5 * MINUTE;
  const held = new Map<string, Held>();
  const stale = new Set<string>();
  let start: number | undefined;
  let lastCurrent = 0;
  let lastRead = 0;
  let lastDeep = 0;
  let rotation: string[] = [];
  const max = o.maxPerKind ?? Number.POSITIVE_INFINITY;
  /** Per kind that is full: the coldest entity held, which a newcomer must beat to be read in. */
  let bars = new Map<EntityKind, Ranked>();

  function hold(ob: EntityObservation): void {
    let last = -1;
    const n = ob.series.cost_usd.length;
    for (let j = n - 1; j >= 0 && last < 0; j--) if (METRICS.some((m) => ob.series[m][j] !== 0)) last = j;
    held.set(entityKey(ob.kind, ob.id), { obs: ob, lastRow: last < 0 ? Number.NEGATIVE_INFINITY : ob.minuteStart + last * MINUTE });
  }

  /** Moves every series `by` minutes forward: the oldest minutes fall off, new ones start at zero. */
  function slide(by: number, newStart: number): void {
    for (const [key, h] of held) {
      if (h.lastRow < newStart) {
        held.delete(key);
        continue;
      }
      for (const m of METRICS) {
        const s = h.obs.series[m];
        s.copyWithin(0, by);
        s.fill(0, s.length - by);
      }
      h.obs.minuteStart = newStart;
    }
  }

  /** Writes the rows of the span from `from` through the current minute over the held series; returns those of entities not held. */
  function merge(rows: readonly MinutePoints[], from: number): MinutePoints[] {
    const first = (from - start!) / MINUTE;
    const zero = (h: Held) => {
      for (const m of METRICS) h.obs.series[m].fill(0, first);
    };
    // Every held minute of the span is replaced: a re-rated (lowered) minute reads back as stored.
    for (const h of held.values()) zero(h);
    const unknown: MinutePoints[] = [];
    for (const r of rows) {
      const h = held.get(entityKey(r.kind, r.id));
      if (!h) {
        unknown.push(r);
        continue;
      }
      h.obs.tenant = r.tenant;
      for (const [i, cost, tokens, requests, tools] of r.points) {
        const j = first + i;
        if (j < 0 || j >= o.minutes) continue;
        set(h.obs.series, j, cost, tokens, requests, tools);
        h.lastRow = Math.max(h.lastRow, from + i * MINUTE);
      }
    }
    return unknown;
  }

  /** Whole windows for these entities (new, invalidated, or in this read's refresh slice). */
  async function reload(keys: Iterable<{ kind: EntityKind; id: string }>, now: number): Promise<void> {
    const byKind = new Map<EntityKind, string[]>();
    for (const e of keys) byKind.set(e.kind, [...(byKind.get(e.kind) ?? []), e.id]);
    for (const [kind, ids] of byKind) {
      const got = new Set<string>();
      for (let i = 0; i < ids.length; i += 1000) {
        for (const ob of await o.repo.observationsOf(kind, ids.slice(i, i + 1000), now, o.minutes)) {
          hold(ob);
          got.add(ob.id);
        }
      }
      // Nothing stored in the window any more (deleted, re-rated away): not held.
      for (const id of ids) if (!got.has(id)) held.delete(entityKey(kind, id));
    }
  }

  /** The next slice of held entities to re-read whole, so each is re-read about every `refreshMs`. */
  function refreshSlice(now: number): { kind: EntityKind; id: string }[] {
    const share = Math.min(1, Math.max(0, now - lastRead) / refreshMs);
    let n = Math.ceil(held.size * share);
    const out: { kind: EntityKind; id: string }[] = [];
    while (n > 0 && held.size > 0) {
      if (rotation.length === 0) rotation = [...held.keys()];
      const h = held.get(rotation.pop()!);
      if (!h) continue;
      out.push({ kind: h.obs.kind, id: h.obs.id });
      n--;
    }
    return out;
  }

  function heldPerKind(): Map<EntityKind, number> {
    const n = new Map<EntityKind, number>();
    for (const h of held.values()) n.set(h.obs.kind, (n.get(h.obs.kind) ?? 0) + 1);
    return n;
  }

  /** The entities not held that are read in (entity-cap.ts: `admitted`). */
  function admit(unknown: readonly MinutePoints[], from: number, keep: ReadonlySet<string>): MinutePoints[] {
    if (!Number.isFinite(max)) return [...unknown];
    return admitted(unknown.map((r) => ({ item: r, rank: rankPoints(r, from) })), heldPerKind(), max, bars, keep);
  }

  /** Drops the coldest entities of every kind over the cap; notes each full kind's bar for the next read. */
  function trim(keep: ReadonlySet<string>): void {
    // Ranking reads every held series: only when some kind is full.
    if (![...heldPerKind().values()].some((n) => n >= max)) {
      bars = new Map();
      return;
    }
    const ranked: Ranked[] = [];
    for (const [key, h] of held) ranked.push(rankSeries(key, h.obs, h.lastRow));
    const { drop, bar } = overCap(ranked, max, keep);
    for (const key of drop) held.delete(key);
    bars = bar;
  }

  return {
    /**
     * Series of every entity with usage in the last `activeMinutes`, as of `now`. `keep` (entities with an open
     * incident) are held whatever the cap.
     */
    async read(now: number, keep: readonly { kind: EntityKind; id: string }[] = []): Promise<EntityObservation[]> {
      const kept = new Set(keep.map((e) => entityKey(e.kind, e.id)));
      const current = Math.floor(now / MINUTE) * MINUTE;
      const newStart = current - (o.minutes - 1) * MINUTE;
      if (start === undefined || newStart < start || newStart - start >= o.minutes * MINUTE) {
        held.clear();
        stale.clear();
        rotation = [];
        for (const ob of await o.repo.observations(o.kinds, now, o.minutes, o.activeMinutes, Number.isFinite(max) ? max : undefined)) hold(ob);
        lastDeep = now;
        await reload(keep.filter((e) => !held.has(entityKey(e.kind, e.id))), now);
        trim(kept);
      } else {
        if (newStart > start) slide((newStart - start) / MINUTE, newStart);
        start = newStart;
        // From the previous tick's minute on (a replay steps in minutes or hours), and never less than the tail;
        // every `refreshMs` the whole active span, which also finds entities whose only rows came in late.
        const deep = now - lastDeep >= refreshMs;
        const reach = deep ? o.activeMinutes : tail - 1;
        const from = Math.max(newStart, Math.min(lastCurrent, current - reach * MINUTE));
        if (deep) lastDeep = now;
        const unknown = admit(merge(await o.repo.minutesSince(o.kinds, from, now), from), from, kept);
        const again = new Map<string, { kind: EntityKind; id: string }>();
        for (const r of unknown) again.set(entityKey(r.kind, r.id), r);
        for (const key of stale) {
          const h = held.get(key);
          if (h) again.set(key, h.obs);
        }
        stale.clear();
        for (const e of refreshSlice(now)) again.set(entityKey(e.kind, e.id), e);
        for (const e of keep) if (!held.has(entityKey(e.kind, e.id))) again.set(entityKey(e.kind, e.id), e);
        await reload(again.values(), now);
        trim(kept);
      }
      start = newStart;
      lastCurrent = current;
      lastRead = now;
      const active = current - o.activeMinutes * MINUTE;
      const out: EntityObservation[] = [];
      for (const h of held.values()) if (h.lastRow >= active) out.push(h.obs);
      return out;
    },
    /** Rows arrived for these entities outside the tail (a backfill): their whole windows are read again next time. */
    invalidate(entities: readonly { kind: EntityKind; id: string }[]): void {
      for (const e of entities) stale.add(entityKey(e.kind, e.id));
    },
    /** Entities held (active or not). */
    get size(): number {
      return held.size;
    },
  };
}

function set(series: Record<Metric, number[]>, j: number, cost: number, tokens: number, requests: number, tools: number): void {
  series.cost_usd[j] = cost;
  series.tokens[j] = tokens;
  series.requests[j] = requests;
  series.tool_calls[j] = tools;
}
