import { DAY_MS, HOUR_MS, MINUTE_MS, hourOfDay, hourOfWeek } from './baseline.ts';
import { floorFor } from './config.ts';
import { METRICS } from './types.ts';
import type { AnomalyConfig, Baseline, EntityObservation, Metric, PeerBaseline, SlotStat } from './types.ts';

/** Where an expectation came from; shapes the explanation ("its usual" vs "a typical api_key's"). */
export type Basis = 'own' | 'peers' | 'cold';

/** Expected per-minute rate for one hour of one metric. */
export interface Expectation {
  mean: number;
  /** σ of the level with the hourly counting noise removed (the window's own noise is added when scoring). */
  level: number;
  /** Hourly mean of a recurring heavy slot (batch job) or 0: its hourly budget may be spent in a few minutes. */
  scheduled: number;
  basis: Basis;
  /** Peers only: the middle peer's rate, the "usual" a new entity's money at risk is compared with. */
  usual?: number;
}

/** Expected per-minute rate of `metric` at time `t`, from the own baseline, peers, or the floors (cold start). */
export function expectationAt(b: Baseline | undefined, peer: PeerBaseline | undefined, metric: Metric, t: number, cfg: AnomalyConfig): Expectation {
  const tuning = cfg.tuning;
  let best: Expectation = { mean: 0, level: 0, scheduled: 0, basis: 'cold' };
  const sparse = b === undefined || b.activeHours < tuning.minActiveHours;
  if (b !== undefined) {
    const mb = b.metrics[metric];
    const drift = Math.exp(Math.min(0.2, Math.max(-0.2, (mb.trendPerDay * (t - b.builtAt)) / DAY_MS)));
    const slots = [mb.hourOfWeek[hourOfWeek(t)], mb.hourOfDay[hourOfDay(t)]].filter((s): s is SlotStat => s != null);
    let pick: SlotStat = mb.typical;
    for (const s of slots) if (s.mean > pick.mean) pick = s;
    const mean = pick.mean * drift;
    // The slot spread mixes day-to-day level changes with hourly counting noise; keep only the former.
    const hourNoise = (tuning.dispersion[metric] * mb.unit * mean) / 60;
    const spread = mb.relSpread * mean;
    const level = Math.sqrt(Math.max(spread * spread - hourNoise, (0.05 * mean) ** 2));
    const slotMax = Math.max(0, ...slots.map((s) => s.mean));
    const scheduled = slotMax > 0 && slotMax >= tuning.burst.scheduledRatio * mb.typical.mean ? slotMax * drift : 0;
    best = { mean, level, scheduled, basis: 'own' };
  }
  if (sparse && peer !== undefined) {
    const p = peer.metrics[metric];
    if (p.typical > best.mean) best = { mean: p.typical, level: p.spread, scheduled: 0, basis: 'peers', ...(p.median !== undefined && p.median > 0 ? { usual: p.median } : {}) };
  } else if (sparse) {
    const floor = floorFor(cfg.floors, metric) ?? 0;
    if (floor > best.mean) best = { mean: floor, level: floor, scheduled: 0, basis: 'cold' };
    // A baseline without a single active hour is no history: say so, not "its usual is 0".
    else if (best.mean === 0) best = { ...best, basis: 'cold' };
  }
  return best;
}

export interface MetricFrame {
  obs: readonly number[];
  /** Expectation per hour touched by the series (index via `segmentOf`). */
  seg: Expectation[];
  unit: number;
  basis: Basis;
}

/** One entity's observation aligned with its expectations, ready for the pattern detectors. */
export interface EntityFrame {
  o: EntityObservation;
  now: number;
  n: number;
  /** Elapsed fraction of the current (last) minute. */
  frac: number;
  /** Minute-of-hour of series minute 0. */
  m0: number;
  m: Record<Metric, MetricFrame>;
}

/** Expectation in force for series minute j. */
export function expAt(f: EntityFrame, metric: Metric, j: number): Expectation {
  return f.m[metric].seg[Math.floor((j + f.m0) / 60)]!;
}

export function buildFrame(o: EntityObservation, b: Baseline | undefined, peer: PeerBaseline | undefined, now: number, cfg: AnomalyConfig): EntityFrame | null {
  const n = Math.min(...METRICS.map((k) => o.series[k].length));
  if (!(n > 0)) return null;
  const frac = Math.min(1, Math.max(0, (now - (o.minuteStart + (n - 1) * MINUTE_MS)) / MINUTE_MS));
  const m0 = Math.floor((o.minuteStart % HOUR_MS) / MINUTE_MS);
  const firstHour = o.minuteStart - m0 * MINUTE_MS;
  const hours = Math.floor((n - 1 + m0) / 60) + 1;
  const m = {} as Record<Metric, MetricFrame>;
  for (const metric of METRICS) {
    // Rollups are sums and never negative; anything else is treated as no usage rather than trusted.
    const raw = o.series[metric];
    const series = raw.every((v) => Number.isFinite(v) && v >= 0) ? raw : raw.map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
    const seg = Array.from({ length: hours }, (_, h) => expectationAt(b, peer, metric, firstHour + h * HOUR_MS, cfg));
    const basis = seg[seg.length - 1]!.basis;
    const unit = metric === 'requests' || metric === 'tool_calls' ? 1 : basis === 'own' ? (b?.metrics[metric].unit ?? 0) : (peer?.metrics[metric].unit ?? 0);
    m[metric] = { obs: series.length === n ? series : series.slice(-n), seg, unit, basis };
  }
  return { o, now, n, frac, m0, m };
}

/** Length in minutes of series minute j (the current minute counts only its elapsed part). */
export function minuteLength(f: EntityFrame, j: number): number {
  return j === f.n - 1 ? f.frac : 1;
}

/** Totals of one metric over a span of the series ending now. */
export interface Span {
  startIdx: number;
  start: number;
  minutes: number;
  obs: number;
  exp: number;
  /** Duration-weighted mean level σ (per-minute rate). */
  level: number;
}

/** Sum over the last `minutes` minutes ending now; the oldest minute may be partly included. */
export function lastMinutes(f: EntityFrame, metric: Metric, minutes: number): Span {
  const mf = f.m[metric];
  let left = minutes;
  const s: Span = { startIdx: f.n - 1, start: f.now, minutes: 0, obs: 0, exp: 0, level: 0 };
  for (let j = f.n - 1; j >= 0 && left > 1e-9; j--) {
    const len = minuteLength(f, j);
    const w = Math.min(len, left);
    const e = expAt(f, metric, j);
    if (len > 0) s.obs += (mf.obs[j] ?? 0) * (w / len);
    s.exp += e.mean * w;
    s.level += e.level * w;
    s.minutes += w;
    s.startIdx = j;
    left -= w;
  }
  if (s.minutes > 0) s.level /= s.minutes;
  s.start = f.now - s.minutes * MINUTE_MS;
  return s;
}

/** Sum from the start of series minute `from` until now. */
export function sinceIndex(f: EntityFrame, metric: Metric, from: number): Span {
  const mf = f.m[metric];
  const s: Span = { startIdx: from, start: f.o.minuteStart + from * MINUTE_MS, minutes: 0, obs: 0, exp: 0, level: 0 };
  for (let j = Math.max(0, from); j < f.n; j++) {
    const len = minuteLength(f, j);
    const e = expAt(f, metric, j);
    s.obs += mf.obs[j] ?? 0;
    s.exp += e.mean * len;
    s.level += e.level * len;
    s.minutes += len;
  }
  if (s.minutes > 0) s.level /= s.minutes;
  return s;
}
