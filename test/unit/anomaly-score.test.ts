import { describe, expect, it } from 'vitest';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import { buildBaseline, entityKey } from '../../core/anomaly/baseline.ts';
import { detect, emptyDetectorState } from '../../core/anomaly/detect.ts';
import { explain, formatAmount, formatDuration } from '../../core/anomaly/explain.ts';
import { METRICS, type Metric } from '../../core/anomaly/types.ts';
import { meanCv, ratioOf, robustScore, severityFor } from '../../core/anomaly/score.ts';
import type { ScoreInput } from '../../core/anomaly/score.ts';

const base: ScoreInput = { observed: 1, expected: 1, level: 0.1, unit: 1, minutes: 5, dispersion: 1.5, relativeError: 0.15 };
const z = (p: Partial<ScoreInput>): number => robustScore({ ...base, ...p }).score;

describe('robustScore', () => {
  it('is 0 on expectation, negative below, positive above', () => {
    expect(z({})).toBe(0);
    expect(z({ observed: 0.2 })).toBeLessThan(0);
    expect(z({ observed: 2 })).toBeGreaterThan(0);
  });

  it('a handful of events over a tiny expectation is not extreme, a flood is', () => {
    // 0.1 req/min normally; 5 requests in one minute vs 200
    expect(z({ expected: 0.1, level: 0.02, observed: 5, minutes: 1 })).toBeLessThan(4);
    expect(z({ expected: 0.1, level: 0.02, observed: 200, minutes: 1 })).toBeGreaterThan(8);
  });

  it('model error caps the score of a modest ratio however large the volume', () => {
    // 2× at 10 000 req/min: counting noise is negligible, level + 15 % model error remain
    const score = z({ expected: 10_000, observed: 20_000, level: 1000 });
    expect(score).toBeGreaterThan(4);
    expect(score).toBeLessThan(8);
  });

  it('one expensive request is one event, not a flood of cents', () => {
    // usual $0.004 per request; one $6 request in a minute
    expect(z({ expected: 0.0002, observed: 6, unit: 6, level: 0.0001, minutes: 1, dispersion: 3 })).toBeLessThan(2);
    expect(z({ expected: 0.0002, observed: 6, unit: 0.004, level: 0.0001, minutes: 1, dispersion: 3 })).toBeGreaterThan(8);
  });

  it('longer windows give more evidence for the same ratio', () => {
    expect(z({ expected: 2, observed: 8, minutes: 10 })).toBeGreaterThan(z({ expected: 2, observed: 8, minutes: 1 }));
  });

  it('sigma describes the expectation, independent of what was observed', () => {
    expect(robustScore({ ...base, observed: 100 }).sigma).toBe(robustScore({ ...base, observed: 1 }).sigma);
  });
});

describe('severity, ratios, CV', () => {
  const thresholds = { warning: 4, critical: 8 };
  it('maps scores to severities, with a lowered warning bar for active conditions', () => {
    expect(severityFor(3.9, thresholds)).toBeNull();
    expect(severityFor(4, thresholds)).toBe('warning');
    expect(severityFor(8, thresholds)).toBe('critical');
    expect(severityFor(3.2, thresholds, 0.75)).toBe('warning');
  });
  it('ratioOf and meanCv handle zeros', () => {
    expect(ratioOf(1, 0)).toBe(Infinity);
    expect(ratioOf(0, 0)).toBe(0);
    expect(meanCv([5, 5, 5]).cv).toBe(0);
    expect(meanCv([0, 0]).cv).toBe(Infinity);
    expect(meanCv([10, 12, 8]).mean).toBe(10);
  });
});

describe('config', () => {
  it('defaults follow the configuration reference and partial tuning merges', () => {
    const c = resolveAnomalyConfig({ tuning: { burst: { minRatio: 6 } }, floors: { tokens_per_minute: 5000 } });
    expect(c.thresholds).toEqual({ warning: 4, critical: 8 });
    expect(c.floors).toEqual({ cost_usd_per_minute: 0.05, tokens_per_minute: 5000 });
    expect(c.scopes).toEqual(['api_key', 'tenant', 'agent']);
    expect(c.tuning.burst.minRatio).toBe(6);
    expect(c.tuning.burst.windowsMin).toEqual([1, 2, 5]);
    expect(() => resolveAnomalyConfig({ thresholds: { warning: 9, critical: 8 } })).toThrow(/anomaly.thresholds/);
  });
});

describe('explanations', () => {
  it('reads like the documented example', () => {
    const s = explain({ pattern: 'burst', kind: 'api_key', id: 'k-42', metric: 'cost_usd', observed: 38.1, expected: 0.4, spread: 0.12, minutes: 5, basis: 'own' });
    expect(s).toBe('api_key k-42 spent $38.10 in 5 min; its usual is $0.40 ± 0.12');
  });
  it('names the basis and the pattern', () => {
    expect(explain({ pattern: 'burst', kind: 'api_key', id: 'k-new', metric: 'requests', observed: 300, expected: 12, spread: 6, minutes: 2, basis: 'peers' })).toContain('a busy api_key');
    expect(explain({ pattern: 'runaway_loop', kind: 'conversation', id: 'c', metric: 'tool_calls', observed: 240, expected: 30, spread: 12, minutes: 12, basis: 'own', cv: 0.05 })).toMatch(
      /made 240 tool calls in 12 min at a steady 20\.0\/min \(CV 0\.05\)/,
    );
    expect(explain({ pattern: 'slow_drip', kind: 'api_key', id: 'k', metric: 'cost_usd', observed: 54, expected: 18, spread: 2.7, minutes: 190, basis: 'own' })).toContain('3 h 10 min, a persistent 3.0× excess');
  });
  it('a new key on an install with no other history is not said to usually make 0 requests', () => {
    // The detector builds every observed entity a baseline, however little history it has: the first key of a new
    // install gets one with no active hour and has no peers. Live, its leak read "its usual is 0 requests ± 0".
    const now = Date.UTC(2026, 2, 31, 14, 30, 40);
    const cur = Math.floor(now / 60_000) * 60_000;
    const hourly = Object.fromEntries(METRICS.map((m) => [m, new Array<number>(24).fill(0)])) as Record<Metric, number[]>;
    const hourStart = Math.floor(now / 3_600_000) * 3_600_000 - 24 * 3_600_000;
    const baselines = new Map([[entityKey('api_key', 'k-leak'), buildBaseline({ kind: 'api_key', id: 'k-leak', hourStart, hourly }, now)]]);
    const series = Object.fromEntries(METRICS.map((m) => [m, new Array<number>(360).fill(0)])) as Record<Metric, number[]>;
    for (let j = 357; j < 360; j++) Object.assign(series, { requests: series.requests.with(j, 60), cost_usd: series.cost_usd.with(j, 0.74), tokens: series.tokens.with(j, 180_000) });
    const observations = [{ kind: 'api_key' as const, id: 'k-leak', tenant: 't', minuteStart: cur - 359 * 60_000, series }];
    const { findings } = detect(emptyDetectorState(), { now, observations, baselines, peers: new Map(), config: resolveAnomalyConfig({}) });
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) {
      expect(f.explanation).not.toMatch(/its usual is (0 |\$0\.00 )/);
      expect(f.explanation).toMatch(/no history/);
    }
  });
  it('formats amounts and durations', () => {
    expect(formatAmount('tokens', 1_234_567)).toBe('1.2M tokens');
    expect(formatAmount('tokens', 35_400)).toBe('35k tokens');
    expect(formatAmount('cost_usd', 0.004)).toBe('$0.0040');
    expect(formatAmount('requests', 3)).toBe('3 requests');
    expect(formatDuration(0.5)).toBe('30 s');
    expect(formatDuration(60)).toBe('1 h');
  });
});
