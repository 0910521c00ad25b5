import { describe, expect, it } from 'vitest';
import { cumulativeToDelta, type HistogramPoint, type SeriesState } from '../../core/usage/metric-delta.ts';

const S = 1_000_000_000n;
const pt = (start: bigint, time: bigint, sum: number, count: number): HistogramPoint => ({ startNano: start, timeNano: time, sum, count });

/** Feeds points through the state as the collector does; returns the sums and counts that were counted. */
function run(points: HistogramPoint[], initial?: SeriesState): { sums: number[]; counts: number[]; state: SeriesState | undefined } {
  let state = initial;
  const sums: number[] = [];
  const counts: number[] = [];
  for (const p of points) {
    const r = cumulativeToDelta(state, p);
    if (r.kind === 'delta') {
      sums.push(r.sum);
      counts.push(r.count);
      state = r.next;
    }
  }
  return { sums, counts, state };
}

describe('cumulativeToDelta', () => {
  it('counts the first point of a series in full and then only the growth', () => {
    const r = run([pt(S, 60n * S, 100, 2), pt(S, 120n * S, 250, 5), pt(S, 180n * S, 250, 5)]);
    expect(r.sums).toEqual([100, 150, 0]);
    expect(r.counts).toEqual([2, 3, 0]);
  });

  it('counts a repeated export of the same point once', () => {
    const r = run([pt(S, 60n * S, 100, 2), pt(S, 60n * S, 100, 2), pt(S, 120n * S, 130, 3), pt(S, 120n * S, 130, 3)]);
    expect(r.sums).toEqual([100, 30]);
    expect(r.counts).toEqual([2, 1]);
  });

  it('ignores a point older than the last one counted (reordered delivery)', () => {
    const r = run([pt(S, 120n * S, 130, 3), pt(S, 60n * S, 100, 2)]);
    expect(r.sums).toEqual([130]);
  });

  it('a new start time is a sender restart: the new value counts from zero', () => {
    const r = run([pt(S, 60n * S, 100, 2), pt(S, 120n * S, 300, 4), pt(200n * S, 260n * S, 40, 1), pt(200n * S, 320n * S, 90, 2)]);
    expect(r.sums).toEqual([100, 200, 40, 50]);
    expect(r.counts).toEqual([2, 2, 1, 1]);
  });

  it('a value that drops under the same start time is a reset: the new value counts in full', () => {
    const r = run([pt(S, 60n * S, 500, 5), pt(S, 120n * S, 70, 1)]);
    expect(r.sums).toEqual([500, 70]);
    expect(r.counts).toEqual([5, 1]);
    const countOnly = run([pt(S, 60n * S, 500, 5), pt(S, 120n * S, 600, 2)]);
    expect(countOnly.sums).toEqual([500, 600]);
  });

  it('continues from a state restored after our own restart: nothing counted twice', () => {
    const before = run([pt(S, 60n * S, 100, 2), pt(S, 120n * S, 180, 3)]);
    const after = run([pt(S, 120n * S, 180, 3), pt(S, 180n * S, 260, 4)], before.state);
    expect(after.sums).toEqual([80]);
    expect(before.sums.concat(after.sums).reduce((a, b) => a + b, 0)).toBe(260);
  });

  it('a restart after which the sender is back at the same time ordering still counts the new series', () => {
    // The new process's first point may carry an earlier time than the old series' last one (clock skew).
    const r = run([pt(S, 120n * S, 180, 3), pt(100n * S, 110n * S, 20, 1)]);
    expect(r.sums).toEqual([180, 20]);
  });
});
