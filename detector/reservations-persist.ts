import type { Logger } from 'pino';
import type { ReservationRow, ReservationsRepo, ReservationState } from '../store/reservations-repo.ts';
import type { Hold, Reservation } from './reservations.ts';

/** Changes kept while the store is away, beyond which the oldest are dropped (and a warning says so). */
const MAX_QUEUED = 200_000;
/** Usage of a reservation ends after it was made; this much earlier covers clocks of other hosts. */
const CLOCK_SLACK_MS = 5 * 60_000;

function toRow({ r, state, at }: { r: Reservation; state: ReservationState; at: number }): ReservationRow {
  return { id: r.id, state, holds: state === 'open' ? JSON.stringify(r.holds) : '', createdAt: r.createdAt, expiresAt: r.expiresAt, updatedAt: at };
}

/**
 * Keeps reservations in ClickHouse so a restart rebuilds them: changes are queued in memory and written in
 * batches every `flushIntervalMs` (a crash loses at most that much; a graceful stop flushes). Admission itself
 * never waits for the store.
 */
export function createReservationsPersistence(o: { repo: ReservationsRepo; logger: Logger; flushIntervalMs: number }) {
  // Changes as they happened; turned into rows when flushed, off the admission's path.
  let queue: { r: Reservation; state: ReservationState; at: number }[] = [];
  let flushing: Promise<void> | undefined;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;

  async function flushNow(): Promise<void> {
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    try {
      await o.repo.insert(batch.map(toRow));
    } catch (err) {
      // Put back in front: the next flush tries again, in order.
      queue = batch.concat(queue);
      if (queue.length > MAX_QUEUED) {
        dropped += queue.length - MAX_QUEUED;
        queue = queue.slice(queue.length - MAX_QUEUED);
      }
      o.logger.warn({ err, queued: queue.length, dropped }, 'cannot store reservations; retrying (they are held in memory meanwhile)');
    }
  }

  function flush(): Promise<void> {
    flushing ??= flushNow().finally(() => (flushing = undefined));
    return flushing;
  }

  return {
    /** Queues a reservation's new state. */
    changed(r: Reservation, state: ReservationState, now: number): void {
      queue.push({ r, state, at: now });
    },
    start(): void {
      timer ??= setInterval(() => void flush(), o.flushIntervalMs);
      timer.unref();
    },
    /** Open reservations as stored, minus those whose usage is stored already (committed while this process was away). */
    async load(now: number): Promise<{ open: Reservation[]; committed: Reservation[] }> {
      const rows = await o.repo.loadOpen(now);
      const open: Reservation[] = [];
      for (const r of rows) {
        try {
          open.push({ id: r.id, holds: JSON.parse(r.holds) as Hold[], createdAt: r.createdAt, expiresAt: r.expiresAt });
        } catch (err) {
          o.logger.warn({ err, id: r.id }, 'stored reservation has unreadable holds; left out');
        }
      }
      const since = Math.min(...open.map((r) => r.createdAt)) - CLOCK_SLACK_MS;
      const committed = open.length === 0 ? new Set<string>() : await o.repo.committedIds(open.map((r) => r.id), since);
      return { open: open.filter((r) => !committed.has(r.id)), committed: open.filter((r) => committed.has(r.id)) };
    },
    /** Which of these open reservations have usage stored by another process. */
    async committedIds(ids: readonly string[], oldest: number): Promise<Set<string>> {
      return o.repo.committedIds(ids, oldest - CLOCK_SLACK_MS);
    },
    /** Stops the timer and writes what is queued. */
    async close(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await flush();
      await flushNow();
    },
    get queued(): number {
      return queue.length;
    },
  };
}
export type ReservationsPersistence = ReturnType<typeof createReservationsPersistence>;
