/**
 * Cumulative histogram points → deltas, per series (docs/otlp-metrics.md).
 *
 * A series is one resource + scope + metric + attribute set + start time. A cumulative point carries the total
 * since its start time, so what it adds is the difference to the last point seen of the same series. Pure: the
 * caller keeps the state (in memory and in the store, so it survives our restart).
 */

/** The last cumulative point counted of a series. Times are epoch nanoseconds. */
export interface SeriesState {
  startNano: bigint;
  timeNano: bigint;
  sum: number;
  count: number;
}

export interface HistogramPoint {
  startNano: bigint;
  timeNano: bigint;
  sum: number;
  count: number;
}

export type DeltaOutcome =
  /** What the point adds (`reset`: the sender restarted or its value dropped, so the point counts from zero). */
  | { kind: 'delta'; sum: number; count: number; reset: boolean; next: SeriesState }
  /** The point was counted already (a repeated export) or is older than the last one counted: it adds nothing. */
  | { kind: 'seen' };

/**
 * What a cumulative point adds to its series. `prev` is the series' state, undefined for a series never seen.
 * A point with the same or an earlier time than the last counted one adds nothing, so a repeated or reordered
 * export never counts twice. A start time change or a value that drops means the sender restarted: the new value
 * counts in full (it is all usage since the restart).
 */
export function cumulativeToDelta(prev: SeriesState | undefined, p: HistogramPoint): DeltaOutcome {
  const next: SeriesState = { startNano: p.startNano, timeNano: p.timeNano, sum: p.sum, count: p.count };
  if (prev === undefined) return { kind: 'delta', sum: p.sum, count: p.count, reset: false, next };
  const restarted = p.startNano !== prev.startNano;
  if (!restarted && p.timeNano <= prev.timeNano) return { kind: 'seen' };
  if (restarted || p.sum < prev.sum || p.count < prev.count) return { kind: 'delta', sum: p.sum, count: p.count, reset: true, next };
  return { kind: 'delta', sum: p.sum - prev.sum, count: p.count - prev.count, reset: false, next };
}
