import { TollkeeperError } from '../core/errors.ts';

/** The years the store keeps times for: its time columns start in 1970; 2100 is well inside their range. */
export const EARLIEST_MS = 0;
export const LATEST_MS = Date.UTC(2100, 0, 1);

/** A read's bound clamped into the stored years: `from=0000-01-01` means "from the start", `to=9999-12-31` "until the end". */
export function clampToStored(t: number): number {
  return Math.min(Math.max(t, EARLIEST_MS), LATEST_MS);
}

/**
 * `from` / `to` of a read (both optional, validated as date-times by the schema) → a range in ms inside the stored
 * years; `from` defaults to `defaultSpanMs` before `to`, `to` to `defaultTo`. An empty or reversed range is a 400.
 */
export function readRange(q: { from?: string | undefined; to?: string | undefined }, defaultTo: number, defaultSpanMs: number): { from: number; to: number } {
  const to = clampToStored(q.to ? Date.parse(q.to) : defaultTo);
  const from = clampToStored(q.from ? Date.parse(q.from) : to - defaultSpanMs);
  if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
    throw new TollkeeperError('invalid_range', `from must be before to (got from=${q.from ?? '(default)'}, to=${q.to ?? '(default)'}; times are read within 1970-01-01 to 2100-01-01)`);
  }
  return { from, to };
}

/** A time a request acts on (replay, re-rating): it must lie in the stored years, or it is a 400 naming the field. */
export function storedTime(field: string, s: string): number {
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new TollkeeperError('invalid_range', `${field}: expected an ISO 8601 date or date-time such as 2026-11-26T00:00Z (got ${JSON.stringify(s)})`);
  if (t < EARLIEST_MS || t > LATEST_MS) throw new TollkeeperError('invalid_range', `${field}: expected a time from 1970-01-01 to 2100-01-01 (got ${JSON.stringify(s)})`);
  return t;
}
