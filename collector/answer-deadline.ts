import type { Refusal } from './write-outcome.ts';

/**
 * The answer when the store has not taken a request's usage within the collector's deadline (`ingest.answer_within`).
 * The write itself goes on (into the store or the spool); the exporter retries after Retry-After, and the retry's
 * events are dropped as duplicates of the ones this write stores, so nothing is lost and nothing counts twice.
 */
export function storeTooSlow(ms: number): Refusal {
  return { ok: false, status: 503, retryAfterSeconds: 5, reason: `store did not take the usage within ${ms / 1000}s; retry later (a retried event is counted once)` };
}

/**
 * `pending`'s value, or `late` once `ms` pass first. Without it a request waits for a slow store for as long as it
 * takes, and the client sees a socket timeout or a reset instead of an answer it can retry on.
 */
export function within<T, L>(pending: Promise<T>, ms: number, late: L): Promise<T | L> {
  if (!Number.isFinite(ms)) return pending;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<L>((resolve) => {
    timer = setTimeout(() => resolve(late), ms);
  });
  return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
}
