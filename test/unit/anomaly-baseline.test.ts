import { describe, expect, it } from 'vitest';
import { buildBaseline, dailyTrend, hourOfDay, hourOfWeek, robustStat, theilSen } from '../../core/anomaly/baseline.ts';
import { buildPeerBaseline, peerBaselineFromObservations } from '../../core/anomaly/peers.ts';
import { METRICS } from '../../core/anomaly/types.ts';
import type { Baseline, EntityHistory, EntityObservation, Metric } from '../../core/anomaly/types.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 2); // a Monday

/** Hourly history from a per-minute request rate function; cost $0.01 and 1000 tokens per request. */
function history(days: number, reqPerMinute: (t: number) => number, id = 'k'): EntityHistory {
  const hourly = Object.fromEntries(METRICS.map((m) => [m, [] as number[]])) as Record<Metric, number[]>;
  for (let h = 0; h < days * 24; h++) {
    const requests = Math.round(reqPerMinute(T0 + h * HOUR) * 60);
    hourly.requests.push(requests);
    hourly.cost_usd.push(requests * 0.01);
    hourly.tokens.push(requests * 1000);
    hourly.tool_calls.push(0);
  }
  return { kind: 'api_key', id, hourStart: T0, hourly };
}

describe('robust statistics', () => {
  it('robustStat gives the median and MAD scaled to σ, ignoring outliers', () => {
    const s = robustStat([10, 11, 9, 10, 12, 8, 10, 1000]);
    expect(s.mean).toBe(10);
    expect(s.spread).toBeCloseTo(1.4826, 3);
    expect(s.n).toBe(8);
    expect(robustStat([])).toEqual({ mean: 0, spread: 0, n: 0 });
  });

  it('hour of week starts on Monday 00:00 UTC', () => {
    expect(hourOfWeek(T0)).toBe(0);
    expect(hourOfWeek(T0 + 6 * DAY + 23 * HOUR)).toBe(167);
    expect(hourOfWeek(T0 + 7 * DAY + 2 * HOUR)).toBe(2);
    expect(hourOfDay(T0 + 3 * DAY + 5 * HOUR + 59 * 60_000)).toBe(5);
  });

  it('Theil–Sen ignores a wild point; dailyTrend finds organic growth and needs 4 days', () => {
    expect(theilSen([0, 1, 2, 3, 4], [0, 1, 2, 100, 4])).toBe(1);
    const grow = history(14, (t) => 5 * Math.pow(1.1, (t - T0) / DAY)).hourly.requests;
    expect(dailyTrend(grow)).toBeCloseTo(Math.log(1.1), 2);
    expect(dailyTrend(history(14, () => 5).hourly.requests)).toBeCloseTo(0, 5);
    expect(dailyTrend(history(3, (t) => 5 * Math.pow(2, (t - T0) / DAY)).hourly.requests)).toBe(0);
    expect(dailyTrend(history(14, (t) => 5 * Math.pow(3, (t - T0) / DAY)).hourly.requests)).toBe(0.25); // clamped
  });
});

describe('buildBaseline', () => {
  it('per-minute typical rate, spread and unit of a steady entity', () => {
    const b = buildBaseline(history(28, () => 2), T0 + 28 * DAY);
    expect(b.metrics.requests.typical.mean).toBeCloseTo(2, 5);
    expect(b.metrics.cost_usd.typical.mean).toBeCloseTo(0.02, 5);
    expect(b.metrics.cost_usd.unit).toBeCloseTo(0.01, 6);
    expect(b.metrics.requests.unit).toBe(1);
    expect(b.activeHours).toBe(28 * 24);
    expect(b.historyHours).toBe(28 * 24);
    expect(JSON.parse(JSON.stringify(b))).toEqual(b); // cacheable as JSON
  });

  it('a daily 02:00 batch job shows in the hour-of-day slot, not in the typical rate', () => {
    const b = buildBaseline(history(7, (t) => (hourOfDay(t) === 2 ? 30 : 1)), T0 + 7 * DAY);
    expect(b.metrics.requests.hourOfDay[2]!.mean).toBeCloseTo(30, 5);
    expect(b.metrics.requests.hourOfDay[3]!.mean).toBeCloseTo(1, 5);
    expect(b.metrics.requests.typical.mean).toBeCloseTo(1, 5);
  });

  it('hour-of-week slots appear with three weeks of history (a Monday-only job)', () => {
    const weekly = (t: number): number => (hourOfWeek(t) === 3 ? 20 : 1);
    expect(buildBaseline(history(14, weekly), T0 + 14 * DAY).metrics.requests.hourOfWeek[3]).toBeNull();
    const b = buildBaseline(history(21, weekly), T0 + 21 * DAY);
    expect(b.metrics.requests.hourOfWeek[3]!.mean).toBeCloseTo(20, 5);
    expect(b.metrics.requests.hourOfDay[3]!.mean).toBeCloseTo(1, 5); // 6 of 7 days are quiet at 03:00
  });

  it('projects organic growth to today so the typical rate is today’s level', () => {
    const b = buildBaseline(history(28, (t) => 1 * Math.pow(1.1, (t - T0) / DAY)), T0 + 28 * DAY);
    const today = Math.pow(1.1, 28);
    expect(b.metrics.requests.trendPerDay).toBeCloseTo(Math.log(1.1), 2);
    expect(b.metrics.requests.typical.mean / today).toBeGreaterThan(0.9);
    expect(b.metrics.requests.typical.mean / today).toBeLessThan(1.1);
  });

  it('handles empty and sparse histories', () => {
    const empty = buildBaseline(history(0, () => 1), T0);
    expect(empty.activeHours).toBe(0);
    expect(empty.metrics.cost_usd.typical).toEqual({ mean: 0, spread: 0, n: 0 });
    const sparse = buildBaseline(history(28, (t) => (t - T0 < 2 * HOUR ? 3 : 0)), T0 + 28 * DAY);
    expect(sparse.activeHours).toBe(2);
    expect(sparse.metrics.requests.typical.mean).toBeCloseTo(3, 5);
    expect(sparse.metrics.requests.hourOfDay[0]!.mean).toBe(0); // mostly-zero slots stay zero
  });
});

describe('peer baselines', () => {
  const baselines = (rates: number[]): Baseline[] => rates.map((r, i) => buildBaseline(history(7, () => r, `k${i}`), T0 + 7 * DAY));

  it('a high quantile of peers’ typical rates, with a spread from the upper tail', () => {
    const many = buildPeerBaseline('api_key', baselines(Array.from({ length: 40 }, (_, i) => 1 + (i % 10))))!;
    expect(many.metrics.requests.typical).toBeCloseTo(10, 0); // p95 of 1…10
    const p = buildPeerBaseline('api_key', baselines([1, 1, 1, 2, 2, 2, 3, 3, 4, 5]))!;
    expect(p.peers).toBe(10);
    // with few peers the quantile stays below the top two (one of them may be the attacker)
    expect(p.metrics.requests.typical).toBeGreaterThanOrEqual(3);
    expect(p.metrics.requests.typical).toBeLessThan(4);
    expect(p.metrics.requests.spread).toBeGreaterThanOrEqual(0.25 * p.metrics.requests.typical);
    expect(p.metrics.cost_usd.unit).toBeCloseTo(0.01, 6);
  });

  it('one heavy peer cannot lift the bar above 10× the median; too few peers → null', () => {
    const p = buildPeerBaseline('api_key', baselines([1, 1, 1, 1, 1000]))!;
    expect(p.metrics.requests.typical).toBeLessThanOrEqual(10);
    expect(buildPeerBaseline('api_key', baselines([1, 2, 3]))).toBeNull();
    expect(buildPeerBaseline('tenant', baselines([1, 1, 1, 1, 1]))).toBeNull(); // other kind
  });

  it('from observations: each entity’s mean rate over its active span', () => {
    const mk = (id: string, start: number, len: number, rate: number): EntityObservation => {
      const s = (v: number): number[] => Array.from({ length: 60 }, (_, i) => (i >= start && i < start + len ? v : 0));
      return { kind: 'conversation', id, tenant: 't', minuteStart: T0, series: { requests: s(rate), tool_calls: s(rate), cost_usd: s(rate * 0.01), tokens: s(rate * 100) } };
    };
    const obs = [mk('a', 0, 5, 1), mk('b', 10, 10, 2), mk('c', 30, 3, 2), mk('d', 40, 20, 3), mk('e', 50, 2, 1), mk('idle', 0, 0, 0)];
    const p = peerBaselineFromObservations('conversation', obs)!;
    expect(p.peers).toBe(5);
    expect(p.metrics.requests.typical).toBe(2); // rates 1, 2, 2, 3, 1 → 0.6 quantile with five peers
    expect(p.metrics.cost_usd.unit).toBeCloseTo(0.01, 6);
  });
});
