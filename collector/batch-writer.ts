import type { Logger } from 'pino';
import type { UsageEvent } from '../core/usage/types.ts';
import { StoreError } from '../store/port.ts';
import type { UsageRepo } from '../store/usage-repo.ts';
import { RecentIds } from './recent-ids.ts';
import type { Spool } from './spool.ts';

export type WriteOutcome = { ok: true } | { ok: false; status: 429 | 503; retryAfterSeconds: number; reason: string };

export interface BatchWriterOptions {
  repo: UsageRepo;
  spool: Spool;
  logger: Logger;
  batchSize: number;
  flushIntervalMs: number;
  /** Events queued in memory beyond which new requests get 429. */
  maxQueued: number;
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
  queued: number;
  spoolBytes: number;
  spoolFiles: number;
  storeHealthy: boolean;
}

/**
 * Groups events from many requests into store-sized batches. A request is acknowledged only when its events
 * are in ClickHouse or fsynced in the spool; ids already stored are dropped, so retries never double count.
 */
export function createBatchWriter(o: BatchWriterOptions) {
  const recent = new RecentIds(500_000);
  let pending: Pending[] = [];
  let pendingCount = 0;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let storeHealthy = true;
  let closed = false;
  const stats = { stored: 0, duplicates: 0, spooledBatches: 0, drainedBatches: 0 };

  /** Drops ids written before (this process, or any process per the store): exactly-once per event id. */
  async function fresh(events: UsageEvent[]): Promise<UsageEvent[]> {
    const seen = new Set<string>();
    const candidates = events.filter((e) => {
      if (seen.has(e.eventId) || recent.has(e.eventId)) return false;
      seen.add(e.eventId);
      return true;
    });
    if (candidates.length === 0) return [];
    let lo = Infinity;
    let hi = -Infinity;
    for (const e of candidates) {
      lo = Math.min(lo, e.time);
      hi = Math.max(hi, e.time);
    }
    const stored = await o.repo.existingIds(
      candidates.map((e) => e.eventId),
      lo,
      hi,
    );
    return stored.size === 0 ? candidates : candidates.filter((e) => !stored.has(e.eventId));
  }

  async function store(events: UsageEvent[]): Promise<void> {
    const batch = await fresh(events);
    stats.duplicates += events.length - batch.length;
    if (batch.length > 0) await o.repo.insert(batch);
    for (const e of batch) recent.add(e.eventId);
    stats.stored += batch.length;
  }

  async function flushOnce(batch: Pending[]): Promise<void> {
    const events = batch.flatMap((p) => p.events);
    let outcome: WriteOutcome = { ok: true };
    try {
      if (!storeHealthy && o.spool.files() > 0) throw new StoreError('store recovering; spool first', true);
      await store(events);
      storeHealthy = true;
    } catch (err) {
      storeHealthy = false;
      o.logger.warn({ err, events: events.length }, 'store write failed; spooling batch');
      const spooled = await o.spool.append(events).catch((e: unknown) => {
        o.logger.error({ err: e }, 'spool write failed');
        return false;
      });
      if (spooled) stats.spooledBatches++;
      else outcome = { ok: false, status: 503, retryAfterSeconds: 5, reason: 'store unavailable and spool full' };
    }
    inFlight -= events.length;
    for (const p of batch) p.resolve(outcome);
  }

  function flush(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length === 0) return chain;
    const batch = pending;
    pending = [];
    inFlight += pendingCount;
    pendingCount = 0;
    chain = chain.then(() => flushOnce(batch));
    return chain;
  }

  /** Moves spooled batches back into the store, oldest first; stops at the first failure. */
  async function drain(): Promise<number> {
    let drained = 0;
    for (let i = 0; i < 1000; i++) {
      const next = await o.spool.peek();
      if (!next) break;
      try {
        await store(next.events);
      } catch (err) {
        if (err instanceof StoreError && !err.retriable) {
          o.logger.error({ err, file: next.file }, 'store refuses a spooled batch; moved to spool/dead');
          await o.spool.quarantine(next.file);
          continue;
        }
        storeHealthy = false;
        return drained;
      }
      await o.spool.remove(next.file);
      stats.drainedBatches++;
      drained++;
    }
    storeHealthy = true;
    return drained;
  }

  let drainTimer: NodeJS.Timeout | undefined;
  const scheduleDrain = () => {
    drainTimer = setTimeout(() => {
      chain = chain.then(async () => {
        if (o.spool.files() > 0) await drain().catch((err: unknown) => o.logger.error({ err }, 'spool drain failed'));
      });
      void chain.then(() => {
        if (!closed) scheduleDrain();
      });
    }, 1000);
    drainTimer.unref();
  };
  scheduleDrain();

  return {
    /** Queues events; resolves once they are durable (store or spool), or with a refusal to send to the client. */
    submit(events: UsageEvent[]): Promise<WriteOutcome> {
      if (closed) return Promise.resolve({ ok: false, status: 503, retryAfterSeconds: 5, reason: 'shutting down' });
      if (events.length === 0) return Promise.resolve({ ok: true });
      if (pendingCount + inFlight + events.length > o.maxQueued) {
        return Promise.resolve({ ok: false, status: 429, retryAfterSeconds: 1, reason: 'ingest queue full' });
      }
      return new Promise<WriteOutcome>((resolve) => {
        pending.push({ events, resolve });
        pendingCount += events.length;
        if (pendingCount >= o.batchSize) void flush();
        else timer ??= setTimeout(() => void flush(), o.flushIntervalMs);
      });
    },
    flush,
    drain: () => (chain = chain.then(() => drain().then(() => undefined))),
    stats(): WriterStats {
      return { ...stats, queued: pendingCount + inFlight, spoolBytes: o.spool.bytes(), spoolFiles: o.spool.files(), storeHealthy };
    },
    async close(): Promise<void> {
      await flush();
      closed = true;
      if (drainTimer) clearTimeout(drainTimer);
      await chain;
    },
  };
}
export type BatchWriter = ReturnType<typeof createBatchWriter>;
