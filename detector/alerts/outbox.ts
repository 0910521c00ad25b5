import type { Logger } from 'pino';
import { retryDelay, withRetryAfter, type RetryRules } from '../../core/alerts/backoff.ts';
import type { Delivery, DeliveryChannel, OutboxRepo } from '../../store/outbox-repo.ts';

/** How one attempt went. Retry is decided by classification, never by reading error text. */
export type AttemptOutcome =
  | { ok: true; /** delivered, with something the operator should see (kept as `last_error`) */ note?: string }
  | {
      ok: false;
      error: string;
      retriable: boolean;
      retryAfterMs?: number;
      /** the receiver is gone for good (410) */
      gone?: boolean;
      /** what is left to send, when part of it went out (a mail some recipients accepted); `target` stays as planned */
      rest?: { payload: string };
    };

export type Sender = (d: Delivery) => Promise<AttemptOutcome>;

export interface OutboxOptions {
  repo: OutboxRepo;
  senders: Record<DeliveryChannel, Sender>;
  retry: RetryRules;
  logger: Logger;
  now: () => number;
  random?: () => number;
  /** Attempts in flight at once (a slow receiver must not hold up the others). */
  concurrency?: number;
  /** A receiver answered 410: its other deliveries are dead too, and the caller remembers it. */
  onGone?: (channel: DeliveryChannel, target: string) => Promise<void>;
}

const RESAVE_MS = 1000;

/**
 * The durable outbox: deliveries are stored before their first attempt, each attempt's outcome is stored as a new
 * version, and whatever is pending or failed is picked up again after a restart. Delivery is at least once: a
 * process that dies between a receiver's 2xx and storing it sends again, with the same id.
 */
export function createOutbox(o: OutboxOptions) {
  const random = o.random ?? Math.random;
  const concurrency = o.concurrency ?? 16;
  const open = new Map<string, Delivery>();
  const inflight = new Map<string, Promise<void>>();
  const busy: Record<DeliveryChannel, number> = { webhook: 0, slack: 0, email: 0 };
  // Attempt outcomes since start, per channel (the metrics endpoint reads them).
  const failures: Record<DeliveryChannel, number> = { webhook: 0, slack: 0, email: 0 };
  const dead: Record<DeliveryChannel, number> = { webhook: 0, slack: 0, email: 0 };
  const delivered: Record<DeliveryChannel, number> = { webhook: 0, slack: 0, email: 0 };
  /** The newest state of each delivery not yet stored; written in batches, one batch at a time. */
  const dirty = new Map<string, Delivery>();
  /** Deliveries whose first row is not stored yet: never sent before it is (no send without a record). */
  const unborn = new Set<string>();
  let writing: Promise<void> | undefined;
  let version = 0;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  let scheduled = false;
  let closed = false;
  const nextVersion = () => (version = Math.max(version + 1, o.now() * 1000));

  /** Writes everything dirty, batch after batch; on a store failure keeps it dirty and tries again later. */
  async function flush(): Promise<void> {
    while (dirty.size > 0) {
      const batch = [...dirty.values()];
      try {
        await o.repo.save(batch, nextVersion());
      } catch (err) {
        o.logger.warn({ err, deliveries: batch.length }, 'cannot store alert delivery state; retrying');
        arm(o.now() + RESAVE_MS);
        return;
      }
      // A newer state recorded meanwhile stays dirty for the next batch.
      for (const d of batch) {
        if (dirty.get(d.id) === d) dirty.delete(d.id);
        unborn.delete(d.id);
      }
      kick();
    }
  }

  function record(ds: readonly Delivery[]): Promise<void> {
    for (const d of ds) dirty.set(d.id, d);
    writing ??= flush().finally(() => {
      writing = undefined;
    });
    return writing;
  }

  function arm(at: number): void {
    if (closed || at >= timerAt) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      timerAt = Infinity;
      kick();
    }, Math.max(0, at - o.now()));
    timer.unref();
  }

  function kick(): void {
    if (closed || scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      run();
    });
  }

  function run(): void {
    if (closed) return;
    if (dirty.size > 0 && !writing) void record([]);
    const now = o.now();
    let next = Infinity;
    for (const d of open.values()) {
      if (inflight.has(d.id) || unborn.has(d.id)) continue;
      // Each channel has its own slots: a thousand webhooks do not hold up the one digest mail.
      if (d.nextAttemptAt <= now) {
        if (busy[d.channel] >= concurrency) continue;
        busy[d.channel]++;
        const p = attempt(d).finally(() => {
          busy[d.channel]--;
          inflight.delete(d.id);
          kick();
        });
        inflight.set(d.id, p);
      } else {
        next = Math.min(next, d.nextAttemptAt);
      }
    }
    if (next < Infinity) arm(next);
  }

  async function attempt(d: Delivery): Promise<void> {
    let outcome: AttemptOutcome;
    try {
      outcome = await o.senders[d.channel](d);
    } catch (err) {
      outcome = { ok: false, error: err instanceof Error ? err.message : String(err), retriable: true };
    }
    const now = o.now();
    const attempts = d.attempts + 1;
    let updated: Delivery;
    if (outcome.ok) {
      updated = { ...d, status: 'delivered', attempts, lastError: outcome.note ?? '', updatedAt: now, deliveredAt: now };
      if (outcome.note) o.logger.warn({ delivery: d.id, channel: d.channel, target: d.target, note: outcome.note }, 'alert delivered in part');
    } else if (!outcome.retriable || attempts >= o.retry.maxAttempts) {
      updated = { ...d, ...outcome.rest, status: 'dead', attempts, lastError: outcome.error, updatedAt: now };
      o.logger.warn({ delivery: d.id, channel: d.channel, target: d.target, attempts, error: outcome.error }, 'alert delivery dead');
    } else {
      const delay = withRetryAfter(retryDelay(attempts, o.retry, random()), outcome.retryAfterMs, o.retry);
      updated = { ...d, ...outcome.rest, status: 'failed', attempts, lastError: outcome.error, updatedAt: now, nextAttemptAt: now + delay };
      o.logger.info({ delivery: d.id, channel: d.channel, attempts, retryInMs: delay, error: outcome.error }, 'alert delivery failed; will retry');
    }
    if (outcome.ok) delivered[d.channel]++;
    else failures[d.channel]++;
    if (updated.status === 'dead') dead[d.channel]++;
    if (updated.status === 'failed') open.set(d.id, updated);
    else open.delete(d.id);
    const toSave = [updated];
    if (!outcome.ok && outcome.gone) {
      for (const other of open.values()) {
        if (other.channel !== d.channel || other.target !== d.target || inflight.has(other.id)) continue;
        open.delete(other.id);
        toSave.push({ ...other, status: 'dead', lastError: `subscriber disabled: ${outcome.error}`, updatedAt: now });
        dead[other.channel]++;
      }
      await o.onGone?.(d.channel, d.target).catch((err: unknown) => o.logger.warn({ err }, 'cannot record disabled subscriber'));
    }
    // Not awaited: the next attempt need not wait for this outcome to be stored (it is batched with others).
    void record(toSave);
  }

  return {
    /** Picks up what the last run left pending (after a restart or a crash). */
    async start(): Promise<number> {
      const rows = await o.repo.open();
      for (const d of rows) open.set(d.id, d);
      kick();
      return rows.length;
    },

    /** Stores new deliveries, then attempts them at once; ids already known are skipped (published twice). */
    async add(ds: readonly Delivery[]): Promise<Delivery[]> {
      const fresh = ds.filter((d) => !open.has(d.id));
      if (fresh.length === 0) return [];
      let known = new Set<string>();
      try {
        known = await o.repo.existing(fresh.map((d) => d.id));
      } catch (err) {
        o.logger.warn({ err }, 'cannot check the outbox for duplicates; storing anyway');
      }
      const added = fresh.filter((d) => !known.has(d.id));
      if (added.length === 0) return [];
      for (const d of added) {
        open.set(d.id, d);
        unborn.add(d.id);
      }
      await record(added);
      return added;
    },

    /** Tries one delivery again now with a fresh retry budget (same id, so receivers can still dedupe). */
    async redeliver(id: string): Promise<Delivery | undefined> {
      const d = open.get(id) ?? (await o.repo.get(id));
      if (!d) return undefined;
      if (inflight.has(id)) return d;
      const again: Delivery = { ...d, status: 'pending', attempts: 0, nextAttemptAt: o.now(), updatedAt: o.now() };
      open.set(id, again);
      await record([again]);
      return again;
    },

    /** Open deliveries (also per channel), attempts in flight, states not stored yet, and attempt outcomes per channel since start. */
    stats() {
      const openByChannel: Record<DeliveryChannel, number> = { webhook: 0, slack: 0, email: 0 };
      for (const d of open.values()) openByChannel[d.channel]++;
      return { open: open.size, inflight: inflight.size, unstored: dirty.size, openByChannel, failuresByChannel: { ...failures }, deadByChannel: { ...dead }, deliveredByChannel: { ...delivered } };
    },

    /** Stops scheduling, lets attempts in flight finish (each has its own timeout) and stores their outcome. */
    async close(): Promise<void> {
      closed = true;
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...inflight.values()]);
      await (writing ?? record([]));
      if (dirty.size > 0) await record([]);
      if (dirty.size > 0) o.logger.error({ deliveries: dirty.size }, 'alert delivery state not stored at shutdown: delivered ones may be sent again, new ones may be lost');
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
