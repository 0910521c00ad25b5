import { describe, expect, it } from 'vitest';
import { DEFAULT_TUNING } from '../../core/anomaly/config.ts';
import { addFresh, createFreshCounters, pruneFresh, type FreshBucket } from '../../core/anomaly/fresh-counters.ts';
import { bucketUnits, sequentialTest, type SequentialParams } from '../../core/anomaly/sequential.ts';
import { mulberry32, poisson } from '../helpers/traffic-sim.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const BUCKET = 10 * SEC;
const sq = DEFAULT_TUNING.sequential;

const rng = mulberry32;

/** Calls as (time, cost) → buckets through the real counters. */
function bucketsOf(calls: readonly { t: number; cost: number }[], now: number): FreshBucket[] {
  const c = createFreshCounters(BUCKET, 30 * MIN);
  for (const x of calls) addFresh(c, { time: x.t, entities: [{ kind: 'api_key', id: 'k' }], tenant: 't', requests: 1, toolCalls: 0, tokens: 1000, costUsd: x.cost }, now);
  return c.series.get('api_key\u0000k')?.buckets ?? [];
}

/** Usual: 1 call a minute at $0.01 (level σ 5 %). */
const usual = (metric: 'cost_usd' | 'requests', now: number, from = now - 30 * MIN): SequentialParams => ({
  metric,
  from,
  now,
  unit: metric === 'cost_usd' ? 0.01 : 1,
  expected: () => (metric === 'cost_usd' ? { mean: 0.01, level: 0.0005 } : { mean: 1, level: 0.05 }),
  alternatives: sq.alternatives,
  dispersion: sq.dispersion[metric]!,
  capUnits: sq.capUnits,
  levelZ: sq.levelZ,
  relativeError: DEFAULT_TUNING.relativeError,
  recentMin: sq.recentMin,
});

/** Seconds after the attack start at which the cost or the count test first crosses the threshold (checked every `stepS`). */
function secondsToAlarm(calls: { t: number; cost: number }[], start: number, limitS: number, stepS = 1): number | null {
  for (let s = stepS; s <= limitS; s += stepS) {
    const now = start + s * SEC;
    const buckets = bucketsOf(calls.filter((c) => c.t <= now), now);
    const runs = [sequentialTest(buckets, usual('cost_usd', now)), sequentialTest(buckets, usual('requests', now))];
    if (runs.some((run) => run && run.llr >= sq.threshold && run.events >= sq.minEvents)) return s;
  }
  return null;
}

describe('fresh counters', () => {
  it('buckets events per entity, keeps the largest costs, and drops what leaves the window', () => {
    const c = createFreshCounters(BUCKET, MIN);
    const ev = (t: number, cost: number) => ({ time: t, entities: [{ kind: 'api_key' as const, id: 'k' }, { kind: 'tenant' as const, id: 't' }], tenant: 't', requests: 1, toolCalls: 0, tokens: 10, costUsd: cost });
    for (const [t, cost] of [[T0 + 1 * SEC, 0.01], [T0 + 3 * SEC, 0.5], [T0 + 12 * SEC, 0.02], [T0 + 2 * SEC, 0.03], [T0 + 4 * SEC, 0.2]] as const) addFresh(c, ev(t, cost), T0 + 20 * SEC);
    const k = c.series.get('api_key\u0000k')!;
    expect(k.buckets.map((b) => [b.start - T0, b.requests])).toEqual([[0, 4], [10 * SEC, 1]]);
    expect(k.buckets[0]!.top).toEqual([0.5, 0.2, 0.03]);
    expect(k.buckets[0]!.cost_usd).toBeCloseTo(0.74, 9);
    expect(c.series.get('tenant\u0000t')!.tenant).toBe('');
    // a late event (older than the window) is left to the rollups
    addFresh(c, ev(T0 - 2 * MIN, 9), T0 + 20 * SEC);
    expect(k.buckets).toHaveLength(2);
    pruneFresh(c, T0 + 70 * SEC);
    expect(k.buckets.map((b) => b.start - T0)).toEqual([10 * SEC]);
    pruneFresh(c, T0 + 5 * MIN);
    expect(c.series.size).toBe(0);
  });

  it('caps each of the largest events at capUnits usual events', () => {
    const b: FreshBucket = { start: T0, requests: 3, tool_calls: 0, tokens: 0, cost_usd: 3.02, top: [3, 0.01, 0.01] };
    expect(bucketUnits(b, 'cost_usd', 0.01, 4)).toBeCloseTo(6, 9); // 4 + 1 + 1
    expect(bucketUnits(b, 'requests', 1, 4)).toBe(3);
  });
});

describe('sequential tests scale with the attack', () => {
  it('a strong attack (10 calls a minute at 5× the cost) alarms after a few calls', () => {
    const r = rng(1);
    const start = T0;
    const history = Array.from({ length: 30 }, (_, i) => ({ t: start - (30 - i) * MIN + r() * MIN, cost: 0.01 }));
    const attack = Array.from({ length: 20 }, (_, i) => ({ t: start + i * 6 * SEC, cost: 0.05 }));
    const s = secondsToAlarm([...history, ...attack], start, 120);
    expect(s).not.toBeNull();
    expect(s!).toBeLessThanOrEqual(20); // four calls
  });

  it('a weak sustained attack (3.5×) alarms only after enough evidence', () => {
    const r = rng(2);
    const start = T0;
    const calls: { t: number; cost: number }[] = [];
    for (let t = start - 30 * MIN; t < start + 30 * MIN; t += BUCKET) {
      const perMin = t < start ? 1 : 3.5;
      for (let i = poisson(r, perMin / 6); i > 0; i--) calls.push({ t: t + r() * BUCKET, cost: 0.01 });
    }
    const s = secondsToAlarm(calls, start, 15 * 60, 5);
    expect(s).not.toBeNull();
    expect(s!).toBeGreaterThan(60);
    expect(s!).toBeLessThanOrEqual(15 * 60);
  });

  it('a burst that stopped is no longer a finding within a few minutes, however much evidence it left', () => {
    const calls = [...Array.from({ length: 30 }, (_, i) => ({ t: T0 - (30 - i) * MIN, cost: 0.01 })), ...Array.from({ length: 60 }, (_, i) => ({ t: T0 + i * SEC, cost: 0.05 }))];
    const alarmAt = (s: number) => {
      const now = T0 + s * SEC;
      const buckets = bucketsOf(calls.filter((c) => c.t <= now), now);
      const run = sequentialTest(buckets, usual('cost_usd', now));
      return run !== null && run.llr >= sq.threshold;
    };
    expect(alarmAt(30)).toBe(true);
    expect(alarmAt(60 + 3 * 60)).toBe(false);
  });

  it('one expensive request never alarms, nor two 20 s apart', () => {
    const calls = [...Array.from({ length: 30 }, (_, i) => ({ t: T0 - (30 - i) * MIN, cost: 0.01 })), { t: T0 + SEC, cost: 3 }, { t: T0 + 20 * SEC, cost: 6 }];
    expect(secondsToAlarm(calls, T0, 300)).toBeNull();
  });

  it('false alarms on ordinary traffic stay rare (Poisson calls, costs varying ±50 %, hourly level ±20 %)', () => {
    const r = rng(7);
    let alarms = 0;
    const days = 20;
    for (const perMin of [1, 10]) {
      const params = (now: number) => ({ ...usual('cost_usd', now), unit: 0.01, expected: () => ({ mean: 0.01 * perMin, level: 0.001 * perMin }) });
      const paramsReq = (now: number) => ({ ...usual('requests', now), expected: () => ({ mean: perMin, level: 0.1 * perMin }) });
      const c = createFreshCounters(BUCKET, 30 * MIN);
      let level = 1;
      let above = false;
      for (let t = T0; t < T0 + days * 1440 * MIN; t += BUCKET) {
        if ((t - T0) % (60 * MIN) === 0) level = 0.8 + 0.4 * r();
        for (let i = poisson(r, (perMin * level) / 6); i > 0; i--) {
          const cost = 0.01 * Math.exp(0.5 * Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r()) - 0.125);
          addFresh(c, { time: t + r() * BUCKET, entities: [{ kind: 'api_key', id: 'k' }], tenant: '', requests: 1, toolCalls: 0, tokens: 0, costUsd: cost }, t + BUCKET);
        }
        if ((t - T0) % MIN !== 0) continue;
        const now = t + BUCKET;
        pruneFresh(c, now);
        const buckets = c.series.get('api_key\u0000k')?.buckets ?? [];
        const hit = [sequentialTest(buckets, params(now)), sequentialTest(buckets, paramsReq(now))].some((x) => x !== null && x.llr >= sq.threshold && x.events >= sq.minEvents);
        if (hit && !above) alarms++;
        above = hit;
      }
    }
    // 2 × `days` entity-days evaluated every minute (docs/concepts/detection.md states the rate measured here).
    console.log(`sequential tests: ${alarms} false alarm(s) in ${2 * days} entity-days`);
    expect(alarms).toBeLessThanOrEqual(2);
  }, 120_000);
});
