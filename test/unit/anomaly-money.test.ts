import { describe, expect, it } from 'vitest';
import { entityKey } from '../../core/anomaly/baseline.ts';
import { DEFAULT_CRITICAL_SPEND, resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import type { AnomalyConfigInput } from '../../core/anomaly/config.ts';
import { detect, emptyDetectorState } from '../../core/anomaly/detect.ts';
import { reconcileIncidents } from '../../core/anomaly/incidents.ts';
import { paceUsd, recordSpend, severityByMoney, spendSince } from '../../core/anomaly/money.ts';
import { buildPeerBaseline } from '../../core/anomaly/peers.ts';
import { hourlyBatch, steadyBaseline } from '../helpers/steady-baseline.ts';
import { METRICS } from '../../core/anomaly/types.ts';
import type { Baseline, EntityObservation, Metric, PeerBaseline } from '../../core/anomaly/types.ts';
import type { EntityKind } from '../../core/usage/types.ts';

const MIN = 60_000;
const NOW = Date.UTC(2026, 2, 30, 14, 0, 45); // current minute 75 % elapsed

const baseline = (id: string, perMin: number, usdPerReq: number): Baseline => steadyBaseline(id, perMin, usdPerReq, NOW);

/** 360 minutes at the usual rate, the last `floodMin` minutes (and the current partial one) at the flood rate. */
function observe(id: string, usual: [number, number], flood: [number, number], floodMin: number, now = NOW): EntityObservation {
  const cur = Math.floor(now / MIN) * MIN;
  const series = Object.fromEntries(METRICS.map((m) => [m, [] as number[]])) as Record<Metric, number[]>;
  for (let i = -359; i <= 0; i++) {
    const [req, usd] = i > -floodMin ? flood : usual;
    const scale = i === 0 ? (now - cur) / MIN : 1;
    series.requests.push(req * scale);
    series.cost_usd.push(req * usd * scale);
    series.tokens.push(req * 1000 * scale);
    series.tool_calls.push(0);
  }
  return { kind: 'api_key', id, tenant: 't', minuteStart: cur - 359 * MIN, series };
}

function run(o: EntityObservation, baselines: Baseline[], cfg: AnomalyConfigInput, peers = new Map<EntityKind, PeerBaseline>(), now = NOW) {
  return detect(emptyDetectorState(), { now, observations: [o], baselines: new Map(baselines.map((b) => [entityKey(b.kind, b.id), b])), peers, config: resolveAnomalyConfig(cfg) });
}

describe('severity by money at risk', () => {
  it('defaults: critical above 20× the usual hour and above $5/h', () => {
    expect(DEFAULT_CRITICAL_SPEND).toEqual({ multiple: 20, minUsdPerHour: 5 });
    const risk = (projectedHourlyUsd: number, usualHourlyUsd: number, windowUsd = usualHourlyUsd * 2) => ({ projectedHourlyUsd, usualHourlyUsd, windowUsd });
    expect(severityByMoney('warning', risk(30, 1), DEFAULT_CRITICAL_SPEND)).toBe('critical');
    expect(severityByMoney('warning', risk(19, 1), DEFAULT_CRITICAL_SPEND)).toBe('warning'); // not 20×
    expect(severityByMoney('warning', risk(4, 0.1), DEFAULT_CRITICAL_SPEND)).toBe('warning'); // under $5/h
    expect(severityByMoney('critical', risk(2, 0.01), DEFAULT_CRITICAL_SPEND)).toBe('critical'); // the score still counts
    expect(severityByMoney('warning', risk(30, 1, 1), DEFAULT_CRITICAL_SPEND)).toBe('warning'); // spent no more than a usual hour yet
    expect(() => resolveAnomalyConfig({ criticalSpend: { multiple: 0.5 } })).toThrow(/critical_spend/);
  });

  it('an hourly batch that spends its usual hour in one minute is not projected to sixty of them', () => {
    // usual: 8 calls at $0.05 in minute 10 of every hour ($0.40/h); now is the minute after this hour's batch
    const now = Date.UTC(2026, 2, 30, 14, 11, 30);
    const { o, baseline: b } = hourlyBatch(now);
    const findings = run(o, [b], { thresholds: { warning: 0.5, critical: 1e6 } }, undefined, now).findings;
    expect(findings.every((f) => f.severity !== 'critical')).toBe(true);
  });

  it('an expensive burst whose score only warns is critical, and reports its money at risk', () => {
    // usual 1 request/min at $0.01 ($0.60/h); now 10 requests/min at $0.05 for 2 minutes: ~$30/h, 50×
    const o = observe('k', [1, 0.01], [10, 0.05], 2);
    const scoreOnly = { thresholds: { warning: 4, critical: 1e6 } };
    const f = run(o, [baseline('k', 1, 0.01)], scoreOnly).findings[0]!;
    expect(f).toMatchObject({ pattern: 'burst', severity: 'critical' });
    expect(f.usualHourlyUsd).toBeCloseTo(0.6, 1);
    expect(f.projectedHourlyUsd! / f.usualHourlyUsd!).toBeGreaterThan(20);
    // the same flood with a higher bar for money stays a warning
    expect(run(o, [baseline('k', 1, 0.01)], { ...scoreOnly, criticalSpend: { multiple: 100 } }).findings[0]).toMatchObject({ severity: 'warning' });
  });

  it('a cheap oddity stays a warning', () => {
    // 1 request/min at $0.0001 → 30 requests/min: a strong burst, but $0.18/h at risk
    const o = observe('k', [1, 0.0001], [30, 0.0001], 3);
    const findings = run(o, [baseline('k', 1, 0.0001)], { thresholds: { warning: 4, critical: 1e6 }, floors: { cost_usd_per_minute: 0 } }).findings;
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.severity === 'warning')).toBe(true);
  });

  it('a handful of calls in one minute does not project to an expensive hour', () => {
    // 4 calls at $0.06 in the last minute (a $14.40/h pace, 24× the usual $0.60/h): not enough calls to bet on
    const o = observe('k', [1, 0.01], [4, 0.06], 1);
    const findings = run(o, [baseline('k', 1, 0.01)], { thresholds: { warning: 0.5, critical: 1e6 } }).findings;
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.severity === 'warning' && f.projectedHourlyUsd! < 5)).toBe(true);
  });

  it('a brand-new key is judged against its peers’ usual hour from its first calls', () => {
    const peers = Array.from({ length: 12 }, (_, i) => baseline(`peer-${i}`, 1, 0.005 + i * 0.001));
    const peer = buildPeerBaseline('api_key', peers)!;
    // never seen before: 30 requests/min at $0.03 since the previous minute ($54/h)
    const o = observe('k-new', [0, 0], [30, 0.03], 1);
    const f = run(o, [], { thresholds: { warning: 4, critical: 1e6 } }, new Map([['api_key', peer]])).findings[0]!;
    expect(f).toMatchObject({ pattern: 'burst', severity: 'critical' });
    // its usual hour is the middle peer's, not the high quantile that decides what is unusual
    expect(f.usualHourlyUsd).toBeCloseTo(peer.metrics.cost_usd.median! * 60, 6);
    expect(f.usualHourlyUsd!).toBeLessThan(peer.metrics.cost_usd.typical * 60);
    expect(f.explanation).toContain('a busy api_key');
  });
});

describe('the pace money is projected at', () => {
  it('counts the most expensive single event as an ordinary one: one request never sets the pace', () => {
    // twenty calls at $0.01 and one at $3 in a minute: the pace is that of 21 calls at $0.01
    expect(paceUsd({ usd: 3.2, calls: 21, minutes: 1, largestUsd: 3 })).toBeCloseTo(0.21, 9);
    // a single event projects nothing, however expensive
    expect(paceUsd({ usd: 3, calls: 1, minutes: 1, largestUsd: 3 })).toBe(0);
    // a flood of equal calls keeps its spend
    expect(paceUsd({ usd: 2.5, calls: 100, minutes: 1, largestUsd: 0.025 })).toBeCloseTo(2.5, 9);
    // a loop of priced chats and free tool calls: the price is spread over the requests only
    expect(paceUsd({ usd: 0.5, calls: 20, requests: 10, minutes: 1, largestUsd: 0.05 })).toBeCloseTo(0.5, 9);
    // the largest event unknown (no fresh counters): the spend as it is
    expect(paceUsd({ usd: 3.2, calls: 21, minutes: 1 })).toBe(3.2);
  });
});

describe('spend from onset to enforcement', () => {
  it('grows while the incident warns, freezes when it turns critical, and is told in the explanation', () => {
    const b = baseline('k', 1, 0.01);
    const start = Date.UTC(2026, 2, 30, 14, 0, 0);
    // warning only while the critical bar is out of reach, then money at risk decides
    const warnOnly = { thresholds: { warning: 4, critical: 1e6 }, criticalSpend: { multiple: 1e6 } };
    let open = reconcileIncidents([], run(observe('k', [1, 0.01], [10, 0.05], 2, start + 30_000), [b], warnOnly, undefined, start + 30_000).findings, start + 30_000).open;
    open = recordSpend(open, [observe('k', [1, 0.01], [10, 0.05], 2, start + 30_000)], start + 30_000);
    const first = open[0]!;
    expect(first).toMatchObject({ severity: 'warning', enforcedAt: null });
    expect(first.spendUsd).toBeGreaterThan(0);
    expect(first.explanation).toMatch(/; \$[0-9.]+ spent since onset \([0-9.]+× its usual hour\)$/);

    const t2 = start + 90_000;
    const o2 = observe('k', [1, 0.01], [10, 0.05], 3, t2);
    const rec = reconcileIncidents(open, run(o2, [b], {}, undefined, t2).findings, t2);
    open = recordSpend(rec.open, [o2], t2);
    const enforced = open.find((i) => i.pattern === 'burst')!;
    expect(enforced).toMatchObject({ severity: 'critical', enforcedAt: t2 });
    expect(enforced.spendUsd).toBeCloseTo(spendSince(o2, enforced.startedAt), 9);
    expect(enforced.spendUsd!).toBeGreaterThan(first.spendUsd!);
    expect(enforced.explanation).toContain('spent from onset to enforcement');

    // later ticks keep the figure at enforcement, even when a refreshed finding brings a new sentence
    const t3 = start + 150_000;
    const o3 = observe('k', [1, 0.01], [10, 0.05], 4, t3);
    const later = recordSpend(reconcileIncidents(open, run(o3, [b], {}, undefined, t3).findings, t3).open, [o3], t3).find((i) => i.pattern === 'burst')!;
    expect(later).toMatchObject({ spendUsd: enforced.spendUsd, enforcedAt: t2 });
    expect(later.explanation.match(/spent from onset to enforcement/g)).toHaveLength(1);
  });
});
