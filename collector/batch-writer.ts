import type { Logger } from 'pino';
import type { UsageEvent } from '../core/usage/types.ts';
import { StoreError } from '../store/port.ts';
import type { UsageRepo } from '../store/usage-repo.ts';
import { freshRows } from './fresh-rows.ts';
import { storeOrIsolate } from './isolate.ts';
import { RecentIds } from './recent-ids.ts';
import { rowFromRecord, toRows, type Row } from './rows.ts';
import type { Spool } from './spool.ts';
import { OK, QUEUE_FULL, SHUTTING_DOWN, SPOOL_FULL, type Refusal, type WriteOutcome, type WriterStats } from './write-outcome.ts';

export interface BatchWriterOptions {
  repo: UsageRepo;
  spool: Spool;
  logger: Logger;
  batchSize: number;
  flushIntervalMs: number;
  /** Events queued in memory beyond which new requests get 429. */
  maxQueued: number;
  /**
   * Bytes of encoded rows queued in memory beyond which new requests get 429 (default: no bound). Events differ in
   * size by an order of magnitude (attributes kept, long ids), so memory is bounded by bytes, not only by count.
   */
  maxQueuedBytes?: number;
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
  /** Told the rows of every batch once stored (e.g. the detector's backfill notice); must not throw or block. */
  onStored?: (rows: readonly Row[]) => void;
}

interface Pending {
  rows: Row[];
  /** Characters of the rows' encoded lines (what the queue holds in memory). */
  bytes: number;
  /** Events the encoder refused: set aside in spool/dead with the batch. */
  refused: UsageEvent[];
  resolve: (o: WriteOutcome) => void;
  /** When the request was queued (performance.now()), for the writer's lag. */
  at: number;
}

/** Spool files moved per turn of the write queue, so fresh batches are not stuck behind a long drain. */
const DRAIN_FILES_PER_TURN = 4;

/**
 * Groups events from many requests into store-sized batches. A request is acknowledged only when its events
 * are in ClickHouse or fsynced in the spool; ids already stored are dropped, so retries never double count.
 * Every store write (flush or drain) runs one at a time on one queue: the dedup check and the insert that
 * follows it are never interleaved with another write of the same ids.
 */
export function createBatchWriter(o: BatchWriterOptions) {
  const recent = new RecentIds(o.recentIds ?? 500_000);
  const fresh = freshRows(o.repo, recent, o.storedUpTo);
  const drainIntervalMs = o.drainIntervalMs ?? 1000;
  let pending: Pending[] = [];
  let pendingCount = 0;
  let pendingBytes = 0;
  let inFlight = 0;
  let inFlightBytes = 0;
  const maxBytes = o.maxQueuedBytes ?? Infinity;
  /** Queue time of the oldest request in the batch being written. */
  let inFlightSince = 0;
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

  async function store(rows: readonly Row[]): Promise<void> {
    const batch = await fresh(rows);
    stats.duplicates += rows.length - batch.length;
    if (batch.length > 0) await o.repo.insertRows(batch.map((r) => r.line));
    for (const r of batch) recent.addKey(r.key, r.time);
    stats.stored += batch.length;
    if (batch.length > 0 && o.onStored) {
      try {
        o.onStored(batch);
      } catch (err) {
        o.logger.warn({ err }, 'a stored-rows listener failed; the rows are stored');
      }
    }
  }

  const onPoison = (row: Row, err: unknown) => o.logger.error({ err, eventId: row.id }, 'store cannot parse an event; writing it to spool/dead');
  const storeOrIsolateRows = (rows: readonly Row[]) => storeOrIsolate(rows, store, onPoison);

  /** A refused statement will not cure itself: an operator must act, so it is an error, not a warning. */
  function logStoreFailure(err: unknown, message: string, events: number): void {
    const refused = err instanceof StoreError && err.kind === 'refused';
    o.logger[refused ? 'error' : 'warn']({ err, events, kind: err instanceof StoreError ? err.kind : 'unknown' }, refused ? `${message} (the store refuses the statement: fix the store, the batches are kept)` : message);
  }

  async function bury(records: readonly string[]): Promise<void> {
    if (records.length === 0) return;
    await o.spool.bury(records);
    stats.deadEvents += records.length;
  }

  /** Store, else spool. While older batches wait in the spool the store is known down: queue behind them. */
  async function write(rows: readonly Row[]): Promise<WriteOutcome> {
    if (storeHealthy || o.spool.files() === 0) {
      try {
        await bury((await storeOrIsolateRows(rows)).map((r) => r.line));
        storeHealthy = true;
        return OK;
      } catch (err) {
        storeHealthy = false;
        logStoreFailure(err, 'store write failed; spooling batch', rows.length);
      }
    }
    try {
      if (!(await o.spool.append(rows.map((r) => r.line)))) return SPOOL_FULL;
    } catch (err) {
      o.logger.error({ err }, 'spool write failed');
      return SPOOL_FULL;
    }
    stats.spooledBatches++;
    return OK;
  }

  /** Events the encoder refused go to spool/dead as they are (non-finite numbers spelled out); a disk failure is a 503. */
  async function buryRefused(refused: readonly UsageEvent[]): Promise<WriteOutcome> {
    if (refused.length === 0) return OK;
    for (const e of refused) o.logger.error({ eventId: e.eventId }, 'usage event holds a non-finite number; writing it to spool/dead');
    try {
      await bury(refused.map((e) => JSON.stringify(e, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))));
      return OK;
    } catch (err) {
      o.logger.error({ err }, 'spool/dead write failed');
      return SPOOL_FULL;
    }
  }

  async function flushOnce(batch: Pending[]): Promise<void> {
    const rows = batch.flatMap((p) => p.rows);
    const refused = batch.flatMap((p) => p.refused);
    let outcome: WriteOutcome = SPOOL_FULL;
    try {
      outcome = await buryRefused(refused);
      if (outcome.ok) outcome = await write(rows);
    } finally {
      inFlight -= rows.length + refused.length;
      for (const p of batch) inFlightBytes -= p.bytes;
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
    inFlightBytes += pendingBytes;
    pendingBytes = 0;
    if (batch[0]) inFlightSince = batch[0].at;
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
      let rows: Row[];
      try {
        // Every record or none: a damaged file is set aside whole, not half drained.
        rows = next.records.map(rowFromRecord);
      } catch (err) {
        o.logger.error({ err, file: next.file }, 'unreadable spool file; moved to spool/dead');
        await o.spool.quarantine(next.file);
        continue;
      }
      let refused: Row[];
      try {
        refused = await storeOrIsolateRows(rows);
      } catch (err) {
        if (storeHealthy) logStoreFailure(err, 'store unavailable; spooled batches wait', rows.length);
        storeHealthy = false;
        return false;
      }
      storeHealthy = true;
      await bury(refused.map((r) => r.line));
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
      if (closed) return Promise.resolve(SHUTTING_DOWN);
      if (events.length === 0) return Promise.resolve(OK);
      // An idle writer takes any request, however large: a bound it could never meet would be a 429 forever.
      const queued = pendingCount + inFlight;
      if (queued > 0 && queued + events.length > o.maxQueued) {
        return Promise.resolve(QUEUE_FULL);
      }
      // Encoded now: until it is stored, an event is held as one line of text, not as its object graph.
      const { rows, refused } = toRows(events);
      let bytes = 0;
      for (const r of rows) bytes += r.line.length;
      if (queued > 0 && pendingBytes + inFlightBytes + bytes > maxBytes) return Promise.resolve(QUEUE_FULL);
      return new Promise<WriteOutcome>((resolve) => {
        pending.push({ rows, refused, bytes, resolve, at: performance.now() });
        pendingCount += events.length;
        pendingBytes += bytes;
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
      if (closed) return SHUTTING_DOWN;
      return pendingCount + inFlight >= o.maxQueued || pendingBytes + inFlightBytes >= maxBytes ? QUEUE_FULL : null;
    },
    flush,
    /** Drains the spool until it is empty or the store fails, in turns that let flushes in between. */
    async drain(): Promise<void> {
      for (let more = true; more; ) more = await drainTurn();
    },
    stats(): WriterStats {
      const oldest = inFlight > 0 ? inFlightSince : pending[0]?.at;
      const lagMs = oldest === undefined ? 0 : Math.max(0, performance.now() - oldest);
      return { ...stats, queued: pendingCount + inFlight, queuedBytes: pendingBytes + inFlightBytes, lagMs, spoolBytes: o.spool.bytes(), spoolFiles: o.spool.files(), storeHealthy };
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
