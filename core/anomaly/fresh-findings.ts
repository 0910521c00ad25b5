import { MINUTE_MS } from './baseline.ts';
import { floorFor } from './config.ts';
import type { FreshBucket, FreshSeries } from './fresh-counters.ts';
import { expAt } from './frame.ts';
import type { EntityFrame, Span } from './frame.ts';
import type { MoneyWindow } from './money.ts';
import type { Candidate } from './patterns.ts';
import { ratioOf } from './score.ts';
import { llrScore, sequentialTest, type SequentialRun } from './sequential.ts';
import type { AnomalyConfig, Metric } from './types.ts';
import { budgetScore, resetScore, silentBeforeReset } from './window-scores.ts';

/** Minutes of the usual rate a silent stretch before a reset must have held back for the reset to change anything for the fresh path. */
const HELD_BACK_MIN = 10;

/** Usage counted in sub-minute buckets since `from` (the fresh path), keyed by `entityKey(kind, id)`. */
export interface FreshInput {
  series: ReadonlyMap<string, FreshSeries>;
  /** Start of the window the buckets cover completely (older usage is only in the per-minute series). */
  from: number;
}

/** A candidate of the fresh path, with the money its run spent (money at risk is judged on the run itself). */
export interface FreshCandidate extends Candidate {
  window: MoneyWindow;
}

/** Series minute index of a time (clamped to the frame). */
function indexOf(f: EntityFrame, t: number): number {
  return Math.min(f.n - 1, Math.max(0, Math.floor((t - f.o.minuteStart) / MINUTE_MS)));
}

function totals(buckets: readonly FreshBucket[], from: number): Record<Metric, number> {
  const out: Record<Metric, number> = { cost_usd: 0, tokens: 0, requests: 0, tool_calls: 0 };
  for (const b of buckets) {
    if (b.start < from) continue;
    out.cost_usd += b.cost_usd;
    out.tokens += b.tokens;
    out.requests += b.requests;
    out.tool_calls += b.tool_calls;
  }
  return out;
}

/** Floors, on the run's own rates: the metric's floor, and the entity must pass the cost (or tokens/requests) floor. */
function runAboveFloors(run: SequentialRun, sum: Record<Metric, number>, cfg: AnomalyConfig): boolean {
  const rate = (m: Metric): number => sum[m] / run.minutes;
  const own = floorFor(cfg.floors, run.metric);
  if (own !== undefined && rate(run.metric) < own) return false;
  const fl = cfg.floors;
  return (
    rate('cost_usd') >= fl.cost_usd_per_minute ||
    (fl.tokens_per_minute !== undefined && rate('tokens') >= fl.tokens_per_minute) ||
    (fl.requests_per_minute !== undefined && rate('requests') >= fl.requests_per_minute)
  );
}

function toCandidate(f: EntityFrame, run: SequentialRun, score: number, tenant: boolean, cfg: AnomalyConfig): FreshCandidate {
  const startIdx = indexOf(f, run.start);
  const e = expAt(f, run.metric, startIdx);
  const span: Span = { startIdx, start: run.start, minutes: run.minutes, obs: run.observed, exp: run.expected, level: e.level };
  const perMin = run.expected / run.minutes;
  const unit = run.metric === 'requests' || run.metric === 'tool_calls' ? 1 : f.m[run.metric].unit;
  const d = cfg.tuning.sequential.dispersion[run.metric] ?? cfg.tuning.dispersion[run.metric];
  const sigma = Math.sqrt(e.level ** 2 + (cfg.tuning.relativeError * perMin) ** 2 + (d * unit * perMin) / run.minutes);
  // A strong excess is a burst; a modest one that needed time to show is a drip. A tenant's is a tenant spike. The
  // run must be at the burst ratio and its evidence come from a test of a higher rate multiple: a 3.5× drip whose
  // run happened to start on a busy stretch is still a drip.
  const minRatio = cfg.tuning.burst.minRatio;
  const strong = ratioOf(run.observed, run.expected) >= minRatio && run.multiple > minRatio;
  const pattern = tenant ? 'tenant_spike' : strong ? 'burst' : 'slow_drip';
  return { pattern, metric: run.metric, score, scoredMinutes: run.minutes, span, sigma, window: { usd: run.usd, calls: run.events, minutes: run.minutes, startIdx, largestUsd: run.largestUsd, requests: run.requests } };
}

/**
 * The fresh path for one entity: a Poisson CUSUM per tested metric on its sub-minute buckets against the
 * expectation in force (own history, peers, floor), gated by the evidence threshold (`broadThreshold` for a run
 * that `broad` accepts: a tenant's rise carried by most of its keys), a minimum number of events
 * and the floors. The score is the LLR as a z (√(2·LLR)), still capped like the minute path by the budget of a
 * recurring heavy hour and by the demand held back before a quota period reset.
 */
export function freshCandidate(f: EntityFrame, series: FreshSeries, from: number, cfg: AnomalyConfig, resets: readonly number[], broad?: (run: SequentialRun) => boolean): FreshCandidate | null {
  const sq = cfg.tuning.sequential;
  // A tenant's rise carried by most of its keys may warn on less evidence (see `broadThreshold`).
  const lowest = broad ? Math.min(sq.threshold, sq.broadThreshold) : sq.threshold;
  let best: FreshCandidate | null = null;
  for (const metric of sq.metrics) {
    const mf = f.m[metric];
    const unit = metric === 'requests' || metric === 'tool_calls' ? 1 : mf.unit;
    if (!(unit > 0)) continue;
    const run = sequentialTest(series.buckets, {
      metric,
      from,
      now: f.now,
      unit,
      expected: (t) => expAt(f, metric, indexOf(f, t)),
      alternatives: sq.alternatives,
      dispersion: sq.dispersion[metric] ?? cfg.tuning.dispersion[metric],
      capUnits: sq.capUnits,
      levelZ: sq.levelZ,
      relativeError: cfg.tuning.relativeError,
      recentMin: sq.recentMin,
      ...(sq.dripKinds.includes(f.o.kind) ? { dripMultiple: sq.dripMultiple } : {}),
    });
    if (!run || run.llr < lowest || run.events < sq.minEvents) continue;
    if (run.llr < sq.threshold && !broad?.(run)) continue;
    if (!runAboveFloors(run, totals(series.buckets, run.start), cfg)) continue;
    // Held-back demand after a quota period reset is judged like the minute path does; without any, a reset
    // changes nothing (the minute path's score would only slow the fresh one down).
    // A real block leaves a gap: ordinary noise before a reset (a few quiet minutes, a shortfall over six hours) is
    // not held-back demand.
    const blocked = silentBeforeReset(f, metric, resets, cfg) > HELD_BACK_MIN * expAt(f, metric, f.n - 1).mean;
    const afterReset = blocked ? resetScore(f, metric, resets, cfg) : Number.POSITIVE_INFINITY;
    const score = Math.min(llrScore(run.llr), budgetScore(f, metric, cfg), afterReset);
    if (best !== null && score <= best.score) continue;
    best = toCandidate(f, run, score, f.o.kind === 'tenant', cfg);
  }
  return best;
}
