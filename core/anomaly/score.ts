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
  /** Rate at which the counting noise is evaluated; default the midpoint of observed and expected. */
  noiseAt?: number;
}

export interface Score {
  /** (observed − expected) / σ: a robust z. */
  score: number;
  /** σ of the per-minute rate used for the score. */
  sigma: number;
}

/**
 * Robust z of an observed rate against an expectation. The variance has three parts: the level's own
 * day-to-day spread, a relative model error, and compound-Poisson counting noise of the window, taken at the
 * midpoint of observed and expected so small counts do not produce huge scores while real floods still do.
 */
export function robustScore(i: ScoreInput): Score {
  const minutes = Math.max(i.minutes, 1 / 60);
  const noiseAt = i.noiseAt ?? (i.expected + i.observed) / 2;
  const noise = (i.dispersion * Math.max(i.unit, 0) * Math.max(0, noiseAt)) / minutes;
  const variance = i.level * i.level + (i.relativeError * i.expected) ** 2 + noise;
  const sigma = Math.sqrt(variance);
  if (sigma <= 1e-12) return { score: i.observed > i.expected ? 1e6 : 0, sigma: 0 };
  return { score: (i.observed - i.expected) / sigma, sigma };
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
