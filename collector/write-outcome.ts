// What the batch writer answers a request (stored, or refused with a status the collector passes on) and what it
// reports about itself.

export type Refusal = { ok: false; status: 429 | 503; retryAfterSeconds: number; reason: string };
export type WriteOutcome = { ok: true } | Refusal;

export const OK: WriteOutcome = { ok: true };
export const SHUTTING_DOWN: Refusal = { ok: false, status: 503, retryAfterSeconds: 5, reason: 'shutting down' };
export const QUEUE_FULL: Refusal = { ok: false, status: 429, retryAfterSeconds: 1, reason: 'ingest queue full' };
export const SPOOL_FULL: Refusal = { ok: false, status: 503, retryAfterSeconds: 5, reason: 'store unavailable and spool full' };

export interface WriterStats {
  stored: number;
  duplicates: number;
  spooledBatches: number;
  drainedBatches: number;
  /** Events the store refused for good, written to spool/dead. */
  deadEvents: number;
  queued: number;
  /** Bytes of encoded rows in `queued` (the writer's share of memory). */
  queuedBytes: number;
  /** How long the oldest request still waiting for the store (or the spool) has waited, in ms; 0 when none. */
  lagMs: number;
  spoolBytes: number;
  spoolFiles: number;
  storeHealthy: boolean;
}
