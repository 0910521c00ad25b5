import type { Unpriced } from './map-span.ts';

/* The call deduper's outcome, and what its modules (call-dedupe, inherit-ids, call-rows) share. */

/**
 * One row to store: `event` carries the counts it adds. Its cost is price(`value`) minus the price of each value in
 * `before` (what earlier rows of the call, or of an aggregate above it, already stored); with no `before`, price(event).
 */
export interface CountedRow {
  event: Unpriced;
  /** The call's whole value once this row is stored. */
  value: Unpriced;
  before: readonly Unpriced[];
}

/** Outcome of one request's events: what to price and store, and what the counters should say. */
export interface DedupeResult {
  counted: CountedRow[];
  /** Spans with usage that add nothing of their own (aggregate, outer wrapper, second instrumentation's span). */
  superseded: number;
  /** Pairs with a hint of being one call whose evidence disagrees: both counted. */
  collisions: number;
  /** Pairs judged one call whose counts differ slightly or whose models differ: the innermost span's were kept. */
  discrepancies: number;
  /** Calls for which more usage is stored than their spans now say (a retraction would be needed): kept as stored. */
  lateEvidence: number;
  /** Events that took at least one id from an ancestor span. */
  inherited: number;
  /** Events rejected because identity.required kinds were found neither on them nor on their ancestors. */
  rejected: { event: Unpriced; kinds: number }[];
  /** Events the caller's `admit` refused (an ingest token reporting outside its scope), with its reason. */
  refused: { event: Unpriced; reason: string }[];
}

/** Decides, on an event's final ids (inherited ones included), whether the request may report it: null, or why not. */
export type Admit = (e: Unpriced) => string | null;

/** How far up a trace the deduper walks for an ancestor (a parent cycle or a very deep trace stops there). */
export const MAX_DEPTH = 64;

/** The key of a span across traces (span ids are only unique within a trace). */
export const spanKey = (traceId: string, spanId: string): string => traceId + spanId;

export const NO_BEFORE: readonly Unpriced[] = [];
