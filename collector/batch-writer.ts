import type { Logger } from 'pino';
import type { UsageEvent } from '../core/usage/types.ts';
import { StoreError } from '../store/port.ts';
import type { UsageRepo } from '../store/usage-repo.ts';
import { RecentIds, recentKey } from './recent-ids.ts';
import { wellFormed } from './well-formed.ts';
import type { Spool } from './spool.ts';

export type Refusal = { ok: false; status: 429 | 503; retryAfterSeconds: number; reason: string };
export type WriteOutcome = { ok: true } | Refusal;

export interface BatchWriterOptions {
  repo: UsageRepo;
  spool: Spool;
  logger: Logger;
  batchSize: number;
  flushIntervalMs: number;
  /** Events queued in memory beyond which new requests get 429. */
  maxQueued: number;
  /** How often the spool is retried while it holds batches (default 1 s). */
  drainIntervalMs?: number;
  /**
   * Set when this process is the only writer of the store (embedded chdb holds the data directory to itself):
   * the latest event time stored when the writer started. Events ending later cannot be stored unless this
   * process stored them, which its recent ids say, so the store lookup is skipped for them.
   */
  storedUpTo?: number;
  /** Recently written ids kept in memory (default 500k). */
  recentIds?: number;
}

/** An event with its key in the recent-id set, computed once. */
interface Keyed {
  event: UsageEvent;
  key: string;
}

interface Pending {
  events: UsageEvent[];
  resolve: (o: WriteOutcome) => void;
}

export interface WriterStats {
  stored: number;
  duplicates: number;
  spooledBatches: number;
  drainedBatches: number;
  /** Events the store refused for good, written to spool/dead. */
  deadEvents: number;
  queued: number;
  spoolBytes: number;
  spoolFiles: number;
  storeHealthy: boolean;
}

/** Spool files moved per turn of the write queue, so fresh batches are not stuck behind a long drain. */
const DRAIN_FILES_PER_TURN = 4;
/** Ids per dedup lookup: ~300 KB of query parameters, well inside a server's URL limit. */
const LOOKUP_SLICE = 5000;
const OK: WriteOutcome = { ok: true };
const QUEUE_FULL: Refusal = { ok: false, status: 429, retryAfterSeconds: 1, reason: 'ingest queue full' };
const SPOOL_FULL: WriteOutcome = { ok: false, status: 503, retryAfterSeconds: 5, reason: 'store unavailable and spool full' };

/** A failure that trying again later may cure. Anything else, our own bugs included, will fail the same way again. */
const retriable = (err: unknown) => err instanceof StoreError && err.retriable;

/**
 * Groups events from many requests into store-sized batches. A request is acknowledged only when its events
 * are in ClickHouse or fsynced in the spool; ids already stored are dropped, so retries never double count.
 * Every store write (flush or drain) runs one at a time on one queue: the dedup check and the insert that
 * follows it are never interleaved with another write of the same ids.
 */
export function createBatchWriter(o: BatchWriterOptions) {
  const recent = new RecentIds(o.recentIds ?? 500_000);
  const drainIntervalMs = o.drainIntervalMs ?? 1000;
  let pending: Pending[] = [];
  let pendingCount = 0;
  let inFlight = 0;
  let flushTimer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();
  let storeHealthy = true;
  let closed = false;
  const stats = { stored: 0, duplicates: 0, spooledBatches: 0, drainedBatches: 0, deadEvents: 0 };

  /** Runs `step` after every step queued before it. The queue never rejects: one failure cannot stall later writes. */
  function serial(step: () => Promise<void>): Promise<void> {
    queue = queue.then(step).catch((err: unknown) => o.logger.error({ err }, 'batch writer step failed'));
    return queue;
  }

  /** Drops ids written before (this process, or any process per the store): exactly-once per event id. */
  async function fresh(events: readonly UsageEvent[]): Promise<Keyed[]> {
    const seen = new Set<string>();
    const candidates: Keyed[] = [];
    for (const event of events) {
      const key = recentKey(event.eventId);
      if (seen.has(key) || recent.hasKey(key)) continue;
      seen.add(key);
      candidates.push({ event, key });
    }
    if (candidates.length === 0) return [];
    // With a single writer, only events that an earlier run, or this run before forgetting them, could have
    // written need the store lookup: those ending no later than what was stored at start, or than the latest
    // evicted recent id.
    const horizon = o.storedUpTo === undefined ? Infinity : Math.max(o.storedUpTo, recent.forgottenUpTo);
    const unsure = horizon === Infinity ? candidates.map((c) => c.event) : candidates.filter((c) => c.event.time <= horizon).map((c) => c.event);
    if (unsure.length === 0) return candidates;
    const stored = new Set<string>();
    // In slices: a server gets the ids in its URL (query parameters), which it caps at 1 MiB by default.
    for (let i = 0; i < unsure.length; i += LOOKUP_SLICE) {
      const slice = unsure.slice(i, i + LOOKUP_SLICE);
      let lo = Infinity;
      let hi = -Infinity;
      for (const e of slice) {
        lo = Math.min(lo, e.time);
        hi = Math.max(hi, e.time);
      }
      for (const id of await o.repo.existingIds(
        slice.map((e) => e.eventId),
        lo,
        hi,
      )) {
        stored.add(id);
      }
    }
    return stored.size === 0 ? candidates : candidates.filter((c) => !stored.has(c.event.eventId));
  }

  async function store(events: readonly UsageEvent[]): Promise<void> {
    // Made well-formed before the dedup check, so an id is looked up exactly as it is stored.
    const batch = await fresh(events.map(wellFormed));
    stats.duplicates += events.length - batch.length;
    if (batch.length > 0) await o.repo.insert(batch.map((c) => c.event));
    for (const c of batch) recent.addKey(c.key, c.event.time);
    stats.stored += batch.length;
  }

  /**
   * Stores events and returns those the store refuses for good, found by halving the batch, so one bad event
   * does not cost the events of other requests that share its batch. Throws when the store is unavailable;
   * halves stored before that are deduplicated when the batch is retried.
   */
  async function storeOrIsolate(events: readonly UsageEvent[]): Promise<UsageEvent[]> {
    try {
      await store(events);
      return [];
    } catch (err) {
      if (retriable(err)) throw err;
      if (events.length === 1) {
        o.logger.error({ err, eventId: events[0]!.eventId }, 'store refuses an event; writing it to spool/dead');
        return [...events];
      }
      const mid = Math.ceil(events.length / 2);
      return [...(await storeOrIsolate(events.slice(0, mid))), ...(await storeOrIsolate(events.slice(mid)))];
    }
  }

  async function bury(refused: readonly UsageEvent[]): Promise<void> {
    if (refused.length === 0) return;
    await o.spool.bury(refused);
    stats.deadEvents += refused.length;
  }

  /** Store, else spool. While older batches wait in the spool the store is known down: queue behind them. */
  async function write(events: readonly UsageEvent[]): Promise<WriteOutcome> {
    if (storeHealthy || o.spool.files() === 0) {
      try {
        await bury(await storeOrIsolate(events));
        storeHealthy = true;
        return OK;
      } catch (err) {
        storeHealthy = false;
        o.logger.warn({ err, events: events.length }, 'store write failed; spooling batch');
      }
    }
    try {
      if (!(await o.spool.append(events))) return SPOOL_FULL;
    } catch (err) {
      o.logger.error({ err }, 'spool write failed');
      return SPOOL_FULL;
    }
    stats.spooledBatches++;
    return OK;
  }

  async function flushOnce(batch: Pending[]): Promise<void> {
    const events = batch.flatMap((p) => p.events);
    let outcome: WriteOutcome = SPOOL_FULL;
    try {
      outcome = await write(events);
    } finally {
      inFlight -= events.length;
      for (const p of batch) p.resolve(outcome);
      // What gathered while this write ran goes next, without waiting for the timer.
      if (inFlight === 0 && pending.length > 0) void flush();
    }
  }

  function flush(): Promise<void> {
    if (flushTimer) {
      clearTimeout(flushTimer);
      flushTimer = undefined;
    }
    if (pending.length === 0) return queue;
    const batch = pending;
    pending = [];
    inFlight += pendingCount;
    pendingCount = 0;
    return serial(() => flushOnce(batch));
  }

  /**
   * Moves up to `max` spooled batches back into the store, oldest first. Returns whether more may follow
   * right away (false when the spool is empty or the store failed).
   */
  async function drainSome(max: number): Promise<boolean> {
    for (let i = 0; i < max; i++) {
      const next = await o.spool.peek();
      if (!next) return false;
      if (next.events === null) {
        o.logger.error({ file: next.file }, 'unreadable spool file; moved to spool/dead');
        await o.spool.quarantine(next.file);
        continue;
      }
      let refused: UsageEvent[];
      try {
        refused = await storeOrIsolate(next.events);
      } catch (err) {
        if (storeHealthy) o.logger.warn({ err }, 'store unavailable; spooled batches wait');
        storeHealthy = false;
        return false;
      }
      storeHealthy = true;
      await bury(refused);
      await o.spool.remove(next.file);
      stats.drainedBatches++;
    }
    return o.spool.files() > 0;
  }

  /** One turn of draining on the write queue; resolves to whether another turn should follow at once. */
  async function drainTurn(): Promise<boolean> {
    let more = false;
    await serial(async () => {
      if (!closed && o.spool.files() > 0) more = await drainSome(DRAIN_FILES_PER_TURN);
    });
    return more;
  }

  function scheduleDrain(delayMs: number): void {
    if (closed) return;
    drainTimer = setTimeout(() => {
      drainTimer = undefined;
      void drainTurn().then((more) => scheduleDrain(more ? 0 : drainIntervalMs));
    }, delayMs);
    drainTimer.unref();
  }
  scheduleDrain(drainIntervalMs);

  return {
    /** Queues events; resolves once they are durable (store or spool), or with a refusal to send to the client. */
    submit(events: UsageEvent[]): Promise<WriteOutcome> {
      if (closed) return Promise.resolve({ ok: false, status: 503, retryAfterSeconds: 5, reason: 'shutting down' });
      if (events.length === 0) return Promise.resolve(OK);
      // An idle writer takes any request, however large: a bound it could never meet would be a 429 forever.
      const queued = pendingCount + inFlight;
      if (queued > 0 && queued + events.length > o.maxQueued) {
        return Promise.resolve(QUEUE_FULL);
      }
      return new Promise<WriteOutcome>((resolve) => {
        pending.push({ events, resolve });
        pendingCount += events.length;
        // An idle writer writes at once (requests arriving in the same turn share the batch); a busy one gathers
        // until the write in flight is done, the batch is full, or flush_interval passes.
        if (pendingCount >= o.batchSize) void flush();
        else if (inFlight === 0) immediate ??= setImmediate(() => {
          immediate = undefined;
          if (inFlight === 0) void flush();
        });
        else flushTimer ??= setTimeout(() => void flush(), o.flushIntervalMs);
      });
    },
    /**
     * Why a new request would be refused right now (the queue is at its bound, or the writer is closing), or
     * null. Asked before a body is decoded: turning overload away costs nothing then, so it cannot eat the CPU
     * that the accepted requests need.
     */
    refusal(): Refusal | null {
      if (closed) return { ok: false, status: 503, retryAfterSeconds: 5, reason: 'shutting down' };
      return pendingCount + inFlight >= o.maxQueued ? QUEUE_FULL : null;
    },
    flush,
    /** Drains the spool until it is empty or the store fails, in turns that let flushes in between. */
    async drain(): Promise<void> {
      for (let more = true; more; ) more = await drainTurn();
    },
    stats(): WriterStats {
      return { ...stats, queued: pendingCount + inFlight, spoolBytes: o.spool.bytes(), spoolFiles: o.spool.files(), storeHealthy };
    },
    /** Refuses new events, then settles everything already submitted (stored or spooled). */
    async close(): Promise<void> {
      closed = true;
      if (drainTimer) clearTimeout(drainTimer);
      drainTimer = undefined;
      await flush();
      await queue;
    },
  };
}
export type BatchWriter = ReturnType<typeof createBatchWriter>;
