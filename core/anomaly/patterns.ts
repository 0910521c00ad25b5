import { median } from 'simple-statistics';
import { floorFor } from './config.ts';
import { expAt, lastMinutes, sinceIndex } from './frame.ts';
import type { EntityFrame, Span } from './frame.ts';
import { meanCv, ratioOf, robustScore } from './score.ts';
import type { AnomalyConfig, Metric, Pattern } from './types.ts';
import { aboveFloors, budgetScore, onsetIndex, resetScore, scoreSpan } from './window-scores.ts';

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
      if (s.minutes <= 0 || ratioOf(s.obs, s.exp) < p.minRatio || !aboveFloors(f, metric, w, cfg)) continue;
      const events = lastMinutes(f, 'requests', w).obs + lastMinutes(f, 'tool_calls', w).obs;
      if (events < p.minEvents) continue;
      let score = scoreSpan(f, metric, s, cfg).score;
      if (best !== null && score <= best.score) continue;
      score = Math.min(score, budgetScore(f, metric, cfg), resetScore(f, metric, p.resets, cfg));
      if (best !== null && score <= best.score) continue;
      best = { pattern: p.pattern, metric, score, scoredMinutes: s.minutes, span: s, sigma: 0 };
    }
  }
  if (best === null) return null;
  const span = sinceIndex(f, best.metric, onsetIndex(f, best.metric, best.span.startIdx, p.minRatio, cfg));
  return { ...best, span, sigma: scoreSpan(f, best.metric, span, cfg).sigma };
}

/** runaway_loop: many minutes of high counts, markedly more regular than random traffic, well above the norm. */
export function runawayLoop(f: EntityFrame, cfg: AnomalyConfig, resets: readonly number[]): Candidate | null {
  const r = cfg.tuning.runaway;
  const end = f.n - 1; // complete minutes only: [end - windowMin, end)
  if (!r.kinds.includes(f.o.kind) || end < r.windowMin) return null;
  let best: Candidate | null = null;
  for (const metric of r.metrics) {
    const mf = f.m[metric];
    const recent = mf.obs.slice(end - r.windowMin, end);
    const med = median(recent);
    // The loop's run: back from the window while minutes stay within ±50 % of its median. The whole run is
    // evidence, so a loop that keeps going scores higher the longer it lasts.
    let start = end - r.windowMin;
    while (start > 0 && Math.abs((mf.obs[start - 1] ?? 0) - med) <= 0.5 * med) start--;
    const counts = mf.obs.slice(start, end);
    const minutes = counts.length;
    const { mean, cv } = meanCv(recent);
    // Poisson traffic has CV 1/√mean: a loop is clearly steadier than that.
    if (mean < r.minPerMinute || cv > Math.min(r.maxCv, r.maxCvVsPoisson / Math.sqrt(mean))) continue;
    if (mean < (floorFor(cfg.floors, metric) ?? 0) || !aboveFloors(f, metric, r.windowMin + f.frac, cfg)) continue;
    let expected = 0;
    let level = 0;
    for (let j = start; j < end; j++) {
      const e = expAt(f, metric, j);
      expected += e.mean / minutes;
      level += e.level / minutes;
    }
    const runMean = counts.reduce((a, b) => a + b, 0) / minutes;
    if (ratioOf(runMean, expected) < r.minRatio) continue;
    const t = cfg.tuning;
    const z = robustScore({ observed: runMean, expected, level, unit: 1, minutes, dispersion: t.dispersion[metric], relativeError: t.relativeError }).score;
    const score = Math.min(z, budgetScore(f, metric, cfg), resetScore(f, metric, resets, cfg));
    if (best !== null && score <= best.score) continue;
    const span = sinceIndex(f, metric, start);
    best = { pattern: 'runaway_loop', metric, score, scoredMinutes: minutes, span, sigma: scoreSpan(f, metric, span, cfg).sigma, cv };
  }
  return best;
}

/**
 * A drip's run is still going unless its last `recentMin` minutes are nearer the usual rate than the run's own rate:
 * a run's statistic remembers its excess long after the rate is back to normal.
 */
export function stillGoing(f: EntityFrame, metric: Metric, span: Span, recentMin: number): boolean {
  const recent = lastMinutes(f, metric, Math.min(recentMin, span.minutes));
  return ratioOf(recent.obs, recent.exp) >= (1 + ratioOf(span.obs, span.exp)) / 2;
}

/** The last `recentMin` minutes of some drip metric are above the drip allowance ((1 + allowance) × expected). */
export function stillAbove(f: EntityFrame, d: AnomalyConfig['tuning']['slowDrip']): boolean {
  return d.metrics.some((m) => {
    const recent = lastMinutes(f, m, d.recentMin);
    return recent.exp > 0 && recent.obs >= (1 + d.allowance) * recent.exp;
  });
}

/**
 * slow_drip: CUSUM of the excess over (1 + allowance) × expected locates a persistent run; the run's own robust
 * z decides. Recomputed from the series every tick, so nothing needs to survive a restart. The run must still be
 * going (`stillGoing`): the CUSUM falls by only `allowance` × expected a minute once a drip stops, so it would
 * remember 100 minutes of a 3× drip for about four hours.
 */
export function slowDrip(f: EntityFrame, cfg: AnomalyConfig): Candidate | null {
  const d = cfg.tuning.slowDrip;
  let best: Candidate | null = null;
  for (const metric of d.metrics) {
    const { obs, seg } = f.m[metric];
    let c = 0;
    let start = 0;
    for (let j = 0; j < f.n; j++) {
      const allowed = (1 + d.allowance) * seg[((j + f.m0) / 60) | 0]!.mean * (j === f.n - 1 ? f.frac : 1);
      c = Math.max(0, c + (obs[j] ?? 0) - allowed);
      if (c === 0) start = j + 1;
    }
    if (c <= 0 || start >= f.n) continue;
    const span = sinceIndex(f, metric, start);
    if (span.minutes < d.minMinutes || ratioOf(span.obs, span.exp) < d.minRatio || !aboveFloors(f, metric, span.minutes, cfg)) continue;
    if (!stillGoing(f, metric, span, d.recentMin)) continue;
    const sc = scoreSpan(f, metric, span, cfg, d.relativeError);
    if (best !== null && sc.score <= best.score) continue;
    best = { pattern: 'slow_drip', metric, score: sc.score, scoredMinutes: span.minutes, span, sigma: sc.sigma };
  }
  return best;
}
