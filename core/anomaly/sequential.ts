import { MINUTE_MS } from './baseline.ts';
import type { FreshBucket } from './fresh-counters.ts';
import type { Metric } from './types.ts';

/** Expected per-minute rate of a metric at a time, with the σ of that level (as `expectationAt` gives it). */
export interface RateAt {
  mean: number;
  level: number;
}

export interface SequentialParams {
  metric: Metric;
  /** Only buckets starting at or after this time count (the window's start). */
  from: number;
  now: number;
  /** Size of one event in the metric (USD per request for cost; 1 for counts). */
  unit: number;
  /** The entity's expectation in force at a time. */
  expected: (t: number) => RateAt;
  /** Rate multiples tested against the expectation (one CUSUM each). */
  alternatives: readonly number[];
  /** Quasi-Poisson over-dispersion: every log-likelihood ratio is divided by it. */
  dispersion: number;
  /** One event weighs at most this many units (cost only): a single expensive request is not a flood. */
  capUnits: number;
  /** The expectation is raised by this many σ of its level before testing (the baseline may be a little low). */
  levelZ: number;
  /** Model error allowed around the expectation, as a fraction of it. */
  relativeError: number;
  /**
   * The run must still be going: over its last `recentMin` minutes its statistic may not have fallen (the rate there
   * is at least the alternative's break-even rate (k − 1)·λ₀ / ln k). A CUSUM remembers a strong burst long after it
   * ended; without this an attack that stopped would stay a finding until its buckets leave the window.
   */
  recentMin: number;
  /**
   * The drip test: one more CUSUM at this multiple against the plain expectation (no level σ, no model error), so a
   * modest sustained rise gains evidence at its true ratio; 0 or absent: none.
   */
  dripMultiple?: number;
}

/** The strongest alarm of the sequential test: the run of buckets that carries the evidence. */
export interface SequentialRun {
  metric: Metric;
  /** Log-likelihood ratio (CUSUM statistic) of the best alternative at `now`. */
  llr: number;
  /** The alternative rate multiple that gave it. */
  multiple: number;
  /** Start of the run (epoch ms): the bucket after which the statistic last left zero. */
  start: number;
  minutes: number;
  /** Metric total over the run (raw, uncapped) and its plain expectation (mean rate × duration). */
  observed: number;
  expected: number;
  /** Requests + tool calls, and USD, over the run. */
  events: number;
  usd: number;
  /** Requests alone over the run (the events that carry a price). */
  requests: number;
  /** The run's most expensive single event (USD): one request alone never sets the pace money is projected at. */
  largestUsd: number;
}

/** Weight of a bucket in event units; for cost each event is capped at `capUnits` (its largest ones are known). */
export function bucketUnits(b: FreshBucket, metric: Metric, unit: number, capUnits: number): number {
  const raw = b[metric];
  if (metric !== 'cost_usd') return raw / unit;
  const cap = capUnits * unit;
  let excess = 0;
  for (const c of b.top) if (c > cap) excess += c - cap;
  return Math.max(0, raw - excess) / unit;
}

/**
 * Poisson CUSUM, one per alternative multiple k, in event units: each bucket adds x·ln k / d, elapsed time
 * subtracts (k − 1)·λ₀·Δt / d, never below zero. λ₀ is the expectation raised by `levelZ` σ of its level (the drip
 * test's: the plain expectation). A strong
 * attack crosses a threshold after a few events (k large: each weighs ln k), a weak sustained one after enough of
 * them (k small, the drift barely eats the evidence). Recomputed from the buckets every call: nothing to carry
 * over a restart. Returns the alternative with the highest statistic now, or null when every statistic is zero.
 */
export function sequentialTest(buckets: readonly FreshBucket[], p: SequentialParams): SequentialRun | null {
  const unit = Math.max(p.unit, 1e-12);
  const raisedRate = (t: number): number => {
    const e = p.expected(t);
    const sd = Math.sqrt(e.level * e.level + (p.relativeError * e.mean) ** 2);
    return Math.max(0, e.mean + p.levelZ * sd) / unit;
  };
  const plainRate = (t: number): number => Math.max(0, p.expected(t).mean) / unit;
  const tests = p.alternatives.map((k) => ({ k, lambda: raisedRate }));
  if (p.dripMultiple !== undefined && p.dripMultiple > 1) tests.push({ k: p.dripMultiple, lambda: plainRate });
  let best: SequentialRun | null = null;
  for (const { k, lambda } of tests) {
    if (!(k > 1)) continue;
    const gain = Math.log(k) / p.dispersion;
    const drift = (k - 1) / p.dispersion;
    let s = 0;
    let cursor = p.from;
    let run = { start: p.from, observed: 0, events: 0, requests: 0, usd: 0, largestUsd: 0 };
    const elapse = (to: number): void => {
      if (to <= cursor) return;
      s = Math.max(0, s - drift * lambda((cursor + to) / 2) * ((to - cursor) / MINUTE_MS));
      cursor = to;
    };
    for (const b of buckets) {
      if (b.start < p.from || b.start > p.now) continue;
      elapse(b.start);
      if (s === 0) run = { start: b.start, observed: 0, events: 0, requests: 0, usd: 0, largestUsd: 0 };
      s += gain * bucketUnits(b, p.metric, unit, p.capUnits);
      run.observed += b[p.metric];
      run.events += b.requests + b.tool_calls;
      run.requests += b.requests;
      run.usd += b.cost_usd;
      run.largestUsd = Math.max(run.largestUsd, b.top[0] ?? 0);
    }
    elapse(p.now);
    if (s <= 0 || (best !== null && s <= best.llr)) continue;
    const recentFrom = Math.max(run.start, p.now - p.recentMin * MINUTE_MS);
    let recent = 0;
    for (const b of buckets) if (b.start >= recentFrom && b.start <= p.now) recent += bucketUnits(b, p.metric, unit, p.capUnits);
    if (recent * Math.log(k) < (k - 1) * lambda(p.now) * ((p.now - recentFrom) / MINUTE_MS)) continue;
    const minutes = Math.max(p.now - run.start, 1) / MINUTE_MS;
    let expected = 0;
    // Expected total over the run, minute by minute (the expectation changes at hour boundaries).
    for (let t = run.start; t < p.now; t += MINUTE_MS) expected += p.expected(t).mean * (Math.min(p.now, t + MINUTE_MS) - t) / MINUTE_MS;
    best = { metric: p.metric, llr: s, multiple: k, start: run.start, minutes, observed: run.observed, expected, events: run.events, requests: run.requests, usd: run.usd, largestUsd: run.largestUsd };
  }
  return best;
}

/** A log-likelihood ratio as a z-like score (LLR = z²/2), comparable with the robust scores of the minute path. */
export function llrScore(llr: number): number {
  return Math.sqrt(2 * Math.max(0, llr));
}
