import { describe, expect, it } from 'vitest';
import { entityKey } from '../../core/anomaly/baseline.ts';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import { detect, emptyDetectorState } from '../../core/anomaly/detect.ts';
import { addFresh, createFreshCounters } from '../../core/anomaly/fresh-counters.ts';
import { buildPeerBaseline } from '../../core/anomaly/peers.ts';
import { hourlyBatch, steadyBaseline } from '../helpers/steady-baseline.ts';
import { METRICS } from '../../core/anomaly/types.ts';
import type { Baseline, EntityObservation, Metric } from '../../core/anomaly/types.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const MINUTE0 = Date.UTC(2026, 2, 30, 14, 7, 0);
const NOW = MINUTE0 + 20 * SEC; // 20 s into the minute

const baseline = (id: string, perMin: number, usdPerReq: number): Baseline => steadyBaseline(id, perMin, usdPerReq, NOW);

/** `calls` at `usd` each, 2 s apart from 2 s into the current minute: as the rollup and as fresh counters show them. */
function burst(id: string, calls: number, usd: number) {
  const series = Object.fromEntries(METRICS.map((m) => [m, new Array<number>(360).fill(0)])) as Record<Metric, number[]>;
  series.requests[359] = calls;
  series.cost_usd[359] = calls * usd;
  series.tokens[359] = calls * 1000;
  const o: EntityObservation = { kind: 'api_key', id, tenant: 't', minuteStart: MINUTE0 - 359 * MIN, series };
  const c = createFreshCounters(10 * SEC, 30 * MIN);
  for (let i = 0; i < calls; i++) addFresh(c, { time: MINUTE0 + 2 * SEC + i * 2 * SEC, entities: [{ kind: 'api_key', id }], tenant: 't', requests: 1, toolCalls: 0, tokens: 1000, costUsd: usd }, NOW);
  return { o, fresh: { series: c.series, from: NOW - 30 * MIN } };
}

describe('detect with the fresh path', () => {
  const peers = new Map([['api_key' as const, buildPeerBaseline('api_key', Array.from({ length: 12 }, (_, i) => baseline(`peer-${i}`, 1, 0.005 + i * 0.001)))!]]);
  const config = resolveAnomalyConfig({ scopes: ['api_key'] });

  it('a brand-new key spending ~60× the middle key’s hour is critical 20 s into its first minute, judged against its peers', () => {
    const { o, fresh } = burst('k-new', 7, 0.03);
    const minuteOnly = detect(emptyDetectorState(), { now: NOW, observations: [o], baselines: new Map(), peers, config });
    expect(minuteOnly.findings).toEqual([]);
    const [f] = detect(emptyDetectorState(), { now: NOW, observations: [o], baselines: new Map(), peers, config, fresh }).findings;
    expect(f).toMatchObject({ kind: 'api_key', id: 'k-new', pattern: 'burst', severity: 'critical' });
    expect(f!.usualHourlyUsd).toBeCloseTo(peers.get('api_key')!.metrics.cost_usd.median! * 60, 6);
    expect(f!.windowStart).toBeGreaterThanOrEqual(MINUTE0);
  });

  it('a known key’s burst is judged against its own history: flagged at once, critical only once it cost half a usual hour', () => {
    const own = baseline('k-1', 1, 0.01); // $0.60/h
    const baselines = new Map([[entityKey('api_key', 'k-1'), own]]);
    const small = burst('k-1', 6, 0.04); // $0.24 so far, 24× the rate
    const [f] = detect(emptyDetectorState(), { now: NOW, observations: [small.o], baselines, peers, config, fresh: small.fresh }).findings;
    expect(f).toMatchObject({ pattern: 'burst', severity: 'warning' });
    const big = burst('k-1', 9, 0.04); // $0.36: more than half of $0.60
    expect(detect(emptyDetectorState(), { now: NOW, observations: [big.o], baselines, peers, config, fresh: big.fresh }).findings[0]).toMatchObject({ pattern: 'burst', severity: 'critical' });
  });
});

describe('the fresh path and an entity that spends in lumps', () => {
  const peers = new Map([['api_key' as const, buildPeerBaseline('api_key', Array.from({ length: 12 }, (_, i) => baseline(`peer-${i}`, 1, 0.005 + i * 0.001)))!]]);
  const config = resolveAnomalyConfig({ scopes: ['api_key'] });

  it('an hourly batch that spends its usual hour within a second is not revoked as a burst', () => {
    // usual: 8 calls at $0.05 within one second of minute 10 of every hour ($0.40/h); now: this hour's batch, 20 s in
    const now = Date.UTC(2026, 2, 30, 14, 10, 20);
    const cur = Math.floor(now / MIN) * MIN;
    const { o, baseline: b } = hourlyBatch(now);
    const c = createFreshCounters(10 * SEC, 30 * MIN);
    for (let i = 0; i < 8; i++) addFresh(c, { time: cur + 5 * SEC + i * 100, entities: [{ kind: 'api_key', id: 'batch' }], tenant: 't', requests: 1, toolCalls: 0, tokens: 1000, costUsd: 0.05 }, now);
    const findings = detect(emptyDetectorState(), { now, observations: [o], baselines: new Map([[entityKey('api_key', 'batch'), b]]), peers, config, fresh: { series: c.series, from: now - 30 * MIN } }).findings;
    expect(findings.every((f) => f.severity !== 'critical')).toBe(true);
  });
});
