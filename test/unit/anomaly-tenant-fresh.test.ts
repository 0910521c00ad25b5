import { describe, expect, it } from 'vitest';
import { entityKey } from '../../core/anomaly/baseline.ts';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import { detect, emptyDetectorState } from '../../core/anomaly/detect.ts';
import { addFresh, createFreshCounters, pruneFresh } from '../../core/anomaly/fresh-counters.ts';
import { buildFrame } from '../../core/anomaly/frame.ts';
import { isBroad, tenantBreadth } from '../../core/anomaly/tenant-breadth.ts';
import type { Baseline, EntityObservation, Finding } from '../../core/anomaly/types.ts';
import type { EntityKind } from '../../core/usage/types.ts';
import { steadyBaseline } from '../helpers/steady-baseline.ts';
import { mulberry32, poisson } from '../helpers/traffic-sim.ts';

// A tenant of six keys, each about one call a minute at $0.015 (the live benchmark's fleet), judged tick by tick
// (every 2 s) on the fresh path and the minute path together.
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const START = Date.UTC(2026, 11, 1, 14, 20, 0); // the attack starts here
const KEYS = 6;
const COST = 0.015;
const DEFAULTS = resolveAnomalyConfig();

const steady = (kind: EntityKind, id: string, perMin: number, now: number): Baseline => steadyBaseline(id, perMin, COST, now, kind);

/** Poisson call times of one key: `before` calls a minute until START, `after` from then on, over [from, to). */
function callTimes(seed: number, before: number, after: number, from: number, to: number): number[] {
  const r = mulberry32(seed);
  const out: number[] = [];
  for (let t = from; t < to; t += 10 * SEC) for (let i = poisson(r, (t < START ? before : after) / 6); i > 0; i--) out.push(t + r() * 10 * SEC);
  return out.sort((a, b) => a - b);
}

/** The per-minute series of the 360 minutes up to `now` (the current minute partial), as the rollup would show them. */
function observe(kind: EntityKind, id: string, tenant: string, calls: readonly number[], now: number): EntityObservation {
  const cur = Math.floor(now / MIN) * MIN;
  const from = cur - 359 * MIN;
  const requests = new Array<number>(360).fill(0);
  for (const t of calls) if (t >= from && t <= now) requests[Math.floor((t - from) / MIN)]!++;
  const series = { requests, cost_usd: requests.map((n) => n * COST), tokens: requests.map((n) => n * 1000), tool_calls: requests.map(() => 0) };
  return { kind, id, tenant, minuteStart: from, series };
}

/**
 * Seconds from the attack's start to the first tenant finding (null: none within `limitS`), and every finding seen.
 * `after(k)` is key k's rate from START on.
 */
function run(seed: number, after: (k: number) => number, limitS: number, config = DEFAULTS): { flaggedS: number | null; findings: Finding[] } {
  const from = START - 6 * HOUR;
  const keys = Array.from({ length: KEYS }, (_, k) => callTimes(seed * 100 + k, 1, after(k), from, START + limitS * SEC));
  const all = keys.flat().sort((a, b) => a - b);
  const baselines = new Map<string, Baseline>([[entityKey('tenant', 't'), steady('tenant', 't', KEYS, START)]]);
  for (let k = 0; k < KEYS; k++) baselines.set(entityKey('api_key', `k${k}`), steady('api_key', `k${k}`, 1, START));
  const counters = createFreshCounters(10 * SEC, 30 * MIN);
  const fed = keys.map(() => 0);
  let state = emptyDetectorState();
  const findings: Finding[] = [];
  for (let s = -120; s <= limitS; s += 2) {
    const now = START + s * SEC;
    keys.forEach((times, k) => {
      for (; fed[k]! < times.length && times[fed[k]!]! <= now; fed[k]!++) {
        addFresh(counters, { time: times[fed[k]!]!, entities: [{ kind: 'api_key', id: `k${k}` }, { kind: 'tenant', id: 't' }], tenant: 't', requests: 1, toolCalls: 0, tokens: 1000, costUsd: COST }, now);
      }
    });
    pruneFresh(counters, now);
    const observations = [observe('tenant', 't', '', all, now), ...keys.map((times, k) => observe('api_key', `k${k}`, 't', times, now))];
    const r = detect(state, { now, observations, baselines, peers: new Map(), config, fresh: { series: counters.series, from: now - 30 * MIN } });
    state = r.state;
    findings.push(...r.findings);
    const tenant = r.findings.find((f) => f.kind === 'tenant');
    if (tenant && s >= 0) return { flaggedS: s, findings };
  }
  return { flaggedS: null, findings };
}

describe('a tenant-wide rise on the fresh path', () => {
  it('every key of a six-key tenant at 4×: a tenant_spike warning, sooner at the broad threshold than at the full one', () => {
    const full = resolveAnomalyConfig({ tuning: { sequential: { broadThreshold: DEFAULTS.tuning.sequential.threshold } } });
    const broad: number[] = [];
    const narrow: number[] = [];
    for (let seed = 1; seed <= 15; seed++) {
      const r = run(seed, () => 4, 240);
      expect(r.flaggedS, `seed ${seed}`).not.toBeNull();
      broad.push(r.flaggedS!);
      expect(r.findings.filter((f) => f.kind === 'tenant').map((f) => `${f.pattern}:${f.severity}`)).toEqual(['tenant_spike:warning']);
      narrow.push(run(seed, () => 4, 240, full).flaggedS ?? 240);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[(xs.length - 1) / 2]!;
    console.log(`tenant-wide 4× (6 keys × 1 call/min), seconds to the first tenant finding: broad threshold ${broad.join(', ')} (median ${median(broad)}); full threshold median ${median(narrow)}`);
    expect(median(broad)).toBeLessThan(median(narrow));
    expect(broad.every((s, i) => s <= narrow[i]!)).toBe(true);
  }, 120_000);

  it('the breadth: most of the tenant’s keys above their own expectation, not one key carrying it', () => {
    const now = START + 30 * SEC;
    const c = createFreshCounters(10 * SEC, 30 * MIN);
    const frames = Array.from({ length: KEYS }, (_, k) => buildFrame(observe('api_key', `k${k}`, 't', [], now), steady('api_key', `k${k}`, 1, START), undefined, now, DEFAULTS)!);
    const call = (k: number, t: number) => addFresh(c, { time: t, entities: [{ kind: 'api_key', id: `k${k}` }], tenant: 't', requests: 1, toolCalls: 0, tokens: 0, costUsd: COST }, now);
    for (let i = 0; i < 8; i++) call(0, START + i * 3 * SEC);
    const one = tenantBreadth(frames, c.series, START);
    expect(one).toEqual({ above: 1, keys: KEYS });
    expect(isBroad(one, 0.5, 3)).toBe(false);
    for (let k = 1; k < 4; k++) call(k, START + 5 * SEC * k);
    const broad = tenantBreadth(frames, c.series, START);
    expect(broad).toEqual({ above: 4, keys: KEYS });
    expect(isBroad(broad, 0.5, 3)).toBe(true);
  });

  it('a steady tenant raises nothing over a simulated hour, ticked every 2 s', () => {
    for (let seed = 21; seed <= 23; seed++) {
      const { findings } = run(seed, () => 1, 3600);
      expect(findings, `seed ${seed}`).toEqual([]);
    }
  }, 120_000);
});
