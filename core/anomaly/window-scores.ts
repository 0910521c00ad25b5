import { MINUTE_MS } from './baseline.ts';
import { floorFor } from './config.ts';
import { expAt, lastMinutes, minuteLength, sinceIndex } from './frame.ts';
import type { EntityFrame, Span } from './frame.ts';
import { ratioOf, robustScore } from './score.ts';
import type { AnomalyConfig, Metric } from './types.ts';

export const isCount = (m: Metric): boolean => m === 'requests' || m === 'tool_calls';

/** Noise unit: the baseline's event size, or the observed one when requests got bigger (a few huge requests are not a flood). */
export function unitFor(f: EntityFrame, metric: Metric, minutes: number, obs: number): number {
  if (isCount(metric)) return 1;
  const req = lastMinutes(f, 'requests', minutes).obs;
  return Math.max(f.m[metric].unit, req > 0 ? obs / req : obs);
}

/** Floors (`anomaly.floors`): the metric's own floor, and the entity as a whole must be above some floor. */
export function aboveFloors(f: EntityFrame, metric: Metric, minutes: number, cfg: AnomalyConfig): boolean {
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

/** Robust score of a span's rate against its expectation. */
export function scoreSpan(f: EntityFrame, metric: Metric, s: Span, cfg: AnomalyConfig, relativeError = cfg.tuning.relativeError): { score: number; sigma: number } {
  const minutes = Math.max(s.minutes, 1e-9);
  return robustScore({
    observed: s.obs / minutes,
    expected: s.exp / minutes,
    level: s.level,
    unit: unitFor(f, metric, s.minutes, s.obs),
    minutes: s.minutes,
    dispersion: cfg.tuning.dispersion[metric],
    relativeError,
  });
}

/** A recurring heavy hour (batch job) may spend its usual hourly total in a few minutes: score against that budget. */
export function budgetScore(f: EntityFrame, metric: Metric, cfg: AnomalyConfig): number {
  const cur = f.n - 1;
  const intoHour = (cur + f.m0) % 60;
  let from = cur - intoHour;
  let budget = expAt(f, metric, cur).scheduled;
  // A batch job that overruns its hour by a few minutes still spends the previous hour's budget.
  if (budget === 0 && intoHour < 15 && from - 1 >= 0) {
    budget = expAt(f, metric, from - 1).scheduled;
    from -= 60;
  }
  if (budget === 0) return Number.POSITIVE_INFINITY;
  const s = sinceIndex(f, metric, Math.max(0, from));
  const extra = Math.max(0, s.minutes - 60) * expAt(f, metric, cur).mean;
  const unit = unitFor(f, metric, s.minutes, s.obs);
  const t = cfg.tuning;
  return robustScore({ observed: s.obs / 60, expected: budget + extra / 60, level: s.level, unit, minutes: 60, dispersion: t.dispersion[metric], relativeError: t.relativeError }).score;
}

/** Recent resets (within the grace period) with the demand held back before each, capped at `maxCatchUpMin` minutes. */
function heldBackByReset(f: EntityFrame, metric: Metric, resets: readonly number[], cfg: AnomalyConfig): { from: number; allowance: number }[] {
  const { graceMin, maxCatchUpMin } = cfg.tuning.reset;
  const out: { from: number; allowance: number }[] = [];
  for (const r of resets) {
    if (f.now < r || f.now - r >= graceMin * MINUTE_MS) continue;
    const from = Math.round((r - f.o.minuteStart) / MINUTE_MS);
    if (from <= 0 || from > f.n - 1) continue;
    let deficit = 0;
    for (let j = 0; j < from; j++) deficit += expAt(f, metric, j).mean - (f.m[metric].obs[j] ?? 0);
    out.push({ from, allowance: Math.min(Math.max(0, deficit), maxCatchUpMin * expAt(f, metric, from).mean) });
  }
  return out;
}

/**
 * The usual demand of the silent stretch (not one unit of the metric) that ends at a recent quota period reset
 * (0 when none): what a block held back. A block leaves a gap; the net shortfall of six noisy hours does not show
 * one (a key of one call a minute is ten calls short of its expectation a quarter of the time by chance alone).
 */
export function silentBeforeReset(f: EntityFrame, metric: Metric, resets: readonly number[], cfg: AnomalyConfig): number {
  // Only an entity's own history says what it would have spent: a new key's silence held nothing back.
  if (f.m[metric].basis !== 'own') return 0;
  let best = 0;
  for (const r of resets) {
    if (f.now < r || f.now - r >= cfg.tuning.reset.graceMin * MINUTE_MS) continue;
    // The minute the reset falls in is mixed (blocked, then open): the gap is judged on the whole minutes before it.
    const last = Math.floor((r - f.o.minuteStart) / MINUTE_MS) - 1;
    if (last < 0 || last > f.n - 2) continue;
    let held = 0;
    for (let j = last; j >= 0 && (f.m[metric].obs[j] ?? 0) === 0; j--) held += expAt(f, metric, j).mean;
    best = Math.max(best, held);
  }
  return best;
}

/**
 * Shortly after a quota period reset, demand held back while the entity was blocked comes back at once: allow
 * the net shortfall of the series before the reset (capped at `maxCatchUpMin` minutes of the usual rate).
 */
export function resetScore(f: EntityFrame, metric: Metric, resets: readonly number[], cfg: AnomalyConfig): number {
  let best = Number.POSITIVE_INFINITY;
  for (const { from, allowance } of heldBackByReset(f, metric, resets, cfg)) {
    const s = sinceIndex(f, metric, from);
    if (s.minutes > 0) best = Math.min(best, scoreSpan(f, metric, { ...s, exp: s.exp + allowance }, cfg).score);
  }
  return best;
}

/** Start of the current excursion: the earliest far-above-normal minute reached from now with at most 1-minute gaps. */
export function onsetIndex(f: EntityFrame, metric: Metric, from: number, minRatio: number, cfg: AnomalyConfig): number {
  const mf = f.m[metric];
  const unit = isCount(metric) ? 1 : mf.unit;
  const elevated = (j: number): boolean => {
    const len = minuteLength(f, j);
    if (len <= 0) return true;
    const rate = (mf.obs[j] ?? 0) / len;
    const e = expAt(f, metric, j);
    const sd = Math.sqrt(e.level ** 2 + (cfg.tuning.dispersion[metric] * unit * (rate + e.mean)) / 2);
    return ratioOf(rate, e.mean) >= minRatio && rate - e.mean >= 2 * sd;
  };
  let onset = -1;
  let gap = 0;
  for (let j = f.n - 1; j >= 0; j--) {
    if (elevated(j)) {
      onset = j;
      gap = 0;
    } else if (j < from && ++gap > 1) break; // quiet minutes inside the scored window do not end the search
  }
  return onset >= 0 ? onset : from;
}

/** Excess (observed − expected) of `metric` over the last `minutes`, never negative. */
export function excessOver(f: EntityFrame, metric: Metric, minutes: number): number {
  const s = lastMinutes(f, metric, minutes);
  return Math.max(0, s.obs - s.exp);
}
