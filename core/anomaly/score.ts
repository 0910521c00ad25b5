import type { Severity } from './types.ts';

export interface ScoreInput {
  /** Observed per-minute rate over the window. */
  observed: number;
  /** Expected per-minute rate over the window. */
  expected: number;
  /** Robust σ of the expected rate's level (day-to-day variation of that hour), per minute. */
  level: number;
  /** Size of one event in the metric's unit (USD per request, tokens per request, 1 for counts). */
  unit: number;
  /** Window length in minutes. */
  minutes: number;
  /** Over-dispersion relative to Poisson. */
  dispersion: number;
  /** Model error always allowed, as a fraction of expected. */
  relativeError: number;
}

export interface Score {
  /** Robust z: excess over expected in units of its spread (see `robustScore`). */
  score: number;
  /** σ of the per-minute rate under the expectation (level, model error and counting noise). */
  sigma: number;
}

/**
 * Robust z of an observed rate against an expectation. Two sources of doubt are scored separately and combined
 * like independent normal errors (1/z² = 1/z_level² + 1/z_count²):
 * - level: the expectation itself may be off (day-to-day spread of that hour, plus a relative model error);
 * - counting: a window holds few events; Anscombe's √ transform, 2(√obs − √exp) in event units over √dispersion,
 *   keeps a handful of requests from looking extreme while a real flood still scores high.
 */
export function robustScore(i: ScoreInput): Score {
  const minutes = Math.max(i.minutes, 1 / 60);
  const unit = Math.max(i.unit, 1e-12);
  const levelSd = Math.sqrt(i.level * i.level + (i.relativeError * i.expected) ** 2);
  const sigma = Math.sqrt(levelSd * levelSd + (i.dispersion * unit * Math.max(0, i.expected)) / minutes);
  const diff = i.observed - i.expected;
  if (diff <= 0) return { score: sigma > 0 ? diff / sigma : 0, sigma };
  const zLevel = levelSd > 0 ? diff / levelSd : Number.POSITIVE_INFINITY;
  const events = (rate: number): number => (Math.max(0, rate) * minutes) / unit;
  const zCount = i.unit > 0 ? (2 * (Math.sqrt(events(i.observed)) - Math.sqrt(events(i.expected)))) / Math.sqrt(i.dispersion) : Number.POSITIVE_INFINITY;
  const inv = 1 / (zLevel * zLevel) + 1 / (zCount * zCount);
  return { score: inv > 0 ? Math.min(1e6, 1 / Math.sqrt(inv)) : 1e6, sigma };
}

/** Severity for a score; `warningScale` < 1 lowers the warning bar for a condition that is already active. */
export function severityFor(score: number, thresholds: { warning: number; critical: number }, warningScale = 1): Severity | null {
  if (score >= thresholds.critical) return 'critical';
  if (score >= thresholds.warning * warningScale) return 'warning';
  return null;
}

/** Observed / expected, with a zero expectation counting as infinitely far above. */
export function ratioOf(observed: number, expected: number): number {
  if (expected > 0) return observed / expected;
  return observed > 0 ? Number.POSITIVE_INFINITY : 0;
}

/** Mean and coefficient of variation of a sample (CV = 0 for a constant, Infinity for a zero mean). */
export function meanCv(values: readonly number[]): { mean: number; cv: number } {
  if (values.length === 0) return { mean: 0, cv: Number.POSITIVE_INFINITY };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (mean <= 0) return { mean, cv: Number.POSITIVE_INFINITY };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length - 1);
  return { mean, cv: Math.sqrt(variance) / mean };
}
