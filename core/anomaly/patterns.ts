import { median } from 'simple-statistics';
import { HOUR_MS, MINUTE_MS } from './baseline.ts';
import { floorFor } from './config.ts';
import { lastMinutes, minuteLength, sinceIndex } from './frame.ts';
import type { EntityFrame, Span } from './frame.ts';
import { meanCv, ratioOf, robustScore } from './score.ts';
import type { AnomalyConfig, Metric, Pattern } from './types.ts';

/** A pattern that matched its gates, before severity is decided. */
export interface Candidate {
  pattern: Pattern;
  metric: Metric;
  score: number;
  /** Minutes of the window that produced the score (used to compare a tenant with its keys). */
  scoredMinutes: number;
  /** What the finding reports: from the onset (or run start) until now. */
  span: Span;
  /** σ of the per-minute rate over `span`. */
  sigma: number;
  cv?: number;
}

const countMetric = (m: Metric): boolean => m === 'requests' || m === 'tool_calls';

/** Noise unit: the baseline's event size, or the observed one when requests got bigger (a few huge requests are not a flood). */
function unitFor(f: EntityFrame, metric: Metric, minutes: number, obs: number): number {
  if (countMetric(metric)) return 1;
  const req = lastMinutes(f, 'requests', minutes).obs;
  const observedUnit = req > 0 ? obs / req : obs;
  return Math.max(f.m[metric].unit, observedUnit);
}

/** SPEC §4 floors: the metric's own floor, and the entity as a whole must be above some floor. */
function aboveFloors(f: EntityFrame, metric: Metric, minutes: number, cfg: AnomalyConfig): boolean {
  const rate = (m: Metric): number => lastMinutes(f, m, minutes).obs / Math.max(minutes, 1e-9);
  const own = floorFor(cfg.floors, metric);
  if (own !== undefined && rate(metric) < own) return false;
  const fl = cfg.floors;
  return (
    rate('cost_usd') >= fl.cost_usd_per_minute ||
    (fl.tokens_per_minute !== undefined && rate('tokens') >= fl.tokens_per_minute) ||
    (fl.requests_per_minute !== undefined && rate('requests') >= fl.requests_per_minute)
  );
}

function scoreSpan(f: EntityFrame, metric: Metric, s: Span, cfg: AnomalyConfig): { score: number; sigma: number } {
  const minutes = Math.max(s.minutes, 1e-9);
  return robustScore({
    observed: s.obs / minutes,
    expected: s.exp / minutes,
    level: s.level,
    unit: unitFor(f, metric, s.minutes, s.obs),
    minutes: s.minutes,
    dispersion: cfg.tuning.dispersion[metric],
    relativeError: cfg.tuning.relativeError,
  });
}

/** A recurring heavy hour may spend its usual hourly total in a few minutes: score against that budget too. */
function budgetScore(f: EntityFrame, metric: Metric, cfg: AnomalyConfig): number {
  const mf = f.m[metric];
  const cur = f.n - 1;
  const intoHour = Math.floor(((f.o.minuteStart + cur * MINUTE_MS) % HOUR_MS) / MINUTE_MS);
  let from = cur - intoHour;
  let budget = mf.scheduled[cur] ?? 0;
  // A batch job that overruns its hour by a few minutes still spends the previous hour's budget.
  if (budget === 0 && intoHour < 15 && from - 1 >= 0) {
    budget = mf.scheduled[from - 1] ?? 0;
    from -= 60;
  }
  if (budget === 0) return Number.POSITIVE_INFINITY;
  const s = sinceIndex(f, metric, Math.max(0, from));
  const unit = unitFor(f, metric, s.minutes, s.obs);
  const extra = Math.max(0, s.minutes - 60) * (mf.mu[cur] ?? 0);
  const observed = s.obs / 60;
  const expected = budget + extra / 60;
  return robustScore({ observed, expected, level: s.level, unit, minutes: 60, dispersion: cfg.tuning.dispersion[metric], relativeError: cfg.tuning.relativeError }).score;
}

/**
 * Shortly after a quota period reset, demand held back while the entity was blocked comes back at once: allow
 * the net shortfall of the series before the reset (capped at `maxCatchUpMin` minutes of the usual rate).
 */
function resetScore(f: EntityFrame, metric: Metric, resets: readonly number[], cfg: AnomalyConfig): number {
  const { graceMin, maxCatchUpMin } = cfg.tuning.reset;
  const mf = f.m[metric];
  let best = Number.POSITIVE_INFINITY;
  for (const r of resets) {
    if (f.now < r || f.now - r >= graceMin * MINUTE_MS) continue;
    const from = Math.round((r - f.o.minuteStart) / MINUTE_MS);
    if (from <= 0 || from > f.n - 1) continue;
    let deficit = 0;
    for (let j = 0; j < from; j++) deficit += mf.mu[j]! - (mf.obs[j] ?? 0);
    const allowance = Math.min(Math.max(0, deficit), maxCatchUpMin * mf.mu[from]!);
    const s = sinceIndex(f, metric, from);
    if (s.minutes <= 0) continue;
    best = Math.min(best, scoreSpan(f, metric, { ...s, exp: s.exp + allowance }, cfg).score);
  }
  return best;
}

/** Start of the current excursion: walk back while minutes stay far above their expectation (1-minute gaps allowed). */
function onsetIndex(f: EntityFrame, metric: Metric, from: number, minRatio: number, cfg: AnomalyConfig): number {
  const mf = f.m[metric];
  const elevated = (j: number): boolean => {
    const len = minuteLength(f, j);
    if (len <= 0) return true;
    const rate = (mf.obs[j] ?? 0) / len;
    const mu = mf.mu[j]!;
    const unit = Math.max(mf.unit, countMetric(metric) ? 1 : 0);
    const sd = Math.sqrt(mf.level[j]! ** 2 + (cfg.tuning.dispersion[metric] * unit * (rate + mu)) / 2);
    return ratioOf(rate, mu) >= minRatio && rate - mu >= 2 * sd;
  };
  let onset = from;
  let gap = 0;
  for (let j = from - 1; j >= 0; j--) {
    if (elevated(j)) {
      onset = j;
      gap = 0;
    } else if (++gap > 1) break;
  }
  return onset;
}

export interface SpikeParams {
  pattern: Pattern;
  windowsMin: number[];
  minRatio: number;
  minEvents: number;
  metrics: Metric[];
  /** Recent quota period starts (epoch ms). */
  resets: readonly number[];
}

/** burst / tenant_spike: a short-window rate far above the expectation. */
export function rateSpike(f: EntityFrame, cfg: AnomalyConfig, p: SpikeParams): Candidate | null {
  let best: Candidate | null = null;
  for (const metric of p.metrics) {
    for (const w of p.windowsMin) {
      const s = lastMinutes(f, metric, w);
      if (s.minutes <= 0 || !aboveFloors(f, metric, w, cfg)) continue;
      const events = lastMinutes(f, 'requests', w).obs + lastMinutes(f, 'tool_calls', w).obs;
      if (events < p.minEvents || ratioOf(s.obs, s.exp) < p.minRatio) continue;
      const score = Math.min(scoreSpan(f, metric, s, cfg).score, budgetScore(f, metric, cfg), resetScore(f, metric, p.resets, cfg));
      if (best !== null && score <= best.score) continue;
      best = { pattern: p.pattern, metric, score, scoredMinutes: s.minutes, span: s, sigma: 0 };
    }
  }
  if (best === null) return null;
  const span = sinceIndex(f, best.metric, onsetIndex(f, best.metric, best.span.startIdx, p.minRatio, cfg));
  return { ...best, span, sigma: scoreSpan(f, best.metric, span, cfg).sigma };
}

/** runaway_loop: many minutes of high, steady counts (low CV) well above the norm. */
export function runawayLoop(f: EntityFrame, cfg: AnomalyConfig): Candidate | null {
  const r = cfg.tuning.runaway;
  const end = f.n - 1; // complete minutes only: [end - windowMin, end)
  if (!r.kinds.includes(f.o.kind) || end < r.windowMin) return null;
  let best: Candidate | null = null;
  for (const metric of r.metrics) {
    const mf = f.m[metric];
    const counts = mf.obs.slice(end - r.windowMin, end);
    const { mean, cv } = meanCv(counts);
    if (mean < r.minPerMinute || cv > r.maxCv || mean < (floorFor(cfg.floors, metric) ?? 0)) continue;
    if (!aboveFloors(f, metric, r.windowMin + f.frac, cfg)) continue;
    const expected = mf.mu.slice(end - r.windowMin, end).reduce((a, b) => a + b, 0) / r.windowMin;
    if (ratioOf(mean, expected) < r.minRatio) continue;
    const level = mf.level.slice(end - r.windowMin, end).reduce((a, b) => a + b, 0) / r.windowMin;
    // Noise of the normal process (not of the loop): a steady flood is not made plausible by its own size.
    const noiseAt = Math.max(expected, r.minPerMinute);
    const sc = robustScore({ observed: mean, expected, level, unit: 1, minutes: r.windowMin, dispersion: cfg.tuning.dispersion[metric], relativeError: cfg.tuning.relativeError, noiseAt });
    if (best !== null && sc.score <= best.score) continue;
    const med = median(counts);
    let start = end - r.windowMin;
    while (start > 0 && Math.abs((mf.obs[start - 1] ?? 0) - med) <= 0.5 * med) start--;
    const span = sinceIndex(f, metric, start);
    best = { pattern: 'runaway_loop', metric, score: sc.score, scoredMinutes: r.windowMin, span, sigma: scoreSpan(f, metric, span, cfg).sigma, cv };
  }
  return best;
}

/**
 * slow_drip: CUSUM of the excess over (1 + allowance) × expected locates a persistent run; the run's own robust
 * z decides. Recomputed from the series every tick, so nothing needs to survive a restart.
 */
export function slowDrip(f: EntityFrame, cfg: AnomalyConfig): Candidate | null {
  const d = cfg.tuning.slowDrip;
  let best: Candidate | null = null;
  for (const metric of d.metrics) {
    const mf = f.m[metric];
    let c = 0;
    let start = 0;
    for (let j = 0; j < f.n; j++) {
      c = Math.max(0, c + (mf.obs[j] ?? 0) - (1 + d.allowance) * mf.mu[j]! * minuteLength(f, j));
      if (c === 0) start = j + 1;
    }
    if (c <= 0 || start >= f.n) continue;
    const span = sinceIndex(f, metric, start);
    if (span.minutes < d.minMinutes || ratioOf(span.obs, span.exp) < d.minRatio) continue;
    if (!aboveFloors(f, metric, span.minutes, cfg)) continue;
    const sc = scoreSpan(f, metric, span, cfg);
    if (best !== null && sc.score <= best.score) continue;
    best = { pattern: 'slow_drip', metric, score: sc.score, scoredMinutes: span.minutes, span, sigma: sc.sigma };
  }
  return best;
}

/** Excess (observed − expected) of `metric` over the last `minutes`, never negative. */
export function excessOver(f: EntityFrame, metric: Metric, minutes: number): number {
  const s = lastMinutes(f, metric, minutes);
  return Math.max(0, s.obs - s.exp);
}
