import { median } from 'simple-statistics';
import { METRICS } from './types.ts';
import type { Baseline, EntityHistory, Metric, MetricBaseline, SlotStat } from './types.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** MAD → σ for normally distributed data. */
export const MAD_TO_SIGMA = 1.4826;

export interface BaselineOptions {
  /** Samples a hour-of-day / hour-of-week slot needs before it is trusted (default 3: three days / three weeks). */
  minSlotSamples?: number;
  /** Daily log-growth is clamped to this range, so one odd day cannot tilt the whole history. */
  trendClamp?: [number, number];
}

const EMPTY: SlotStat = { mean: 0, spread: 0, n: 0 };

function medianOfSorted(a: Float64Array): number {
  const mid = a.length >> 1;
  return a.length % 2 === 1 ? a[mid]! : (a[mid - 1]! + a[mid]!) / 2;
}

// Scratch space: baselines are rebuilt hourly for every entity, and most slots hold a handful of samples.
let scratch = new Float64Array(1024);

/** Median and MAD-σ of a sample; an empty sample gives zeros. */
export function robustStat(values: readonly number[]): SlotStat {
  const n = values.length;
  if (n === 0) return EMPTY;
  if (values.every((v) => v === values[0])) return { mean: values[0]!, spread: 0, n }; // e.g. an unused metric
  if (scratch.length < 2 * n) scratch = new Float64Array(4 * n);
  const sorted = scratch.subarray(0, n);
  sorted.set(values);
  sorted.sort();
  const mid = medianOfSorted(sorted);
  const dev = scratch.subarray(n, 2 * n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(sorted[i]! - mid);
  dev.sort();
  return { mean: mid, spread: medianOfSorted(dev) * MAD_TO_SIGMA, n };
}

/** UTC hour of week, 0 = Monday 00:00 (1970-01-01 was a Thursday). */
export function hourOfWeek(t: number): number {
  const day = Math.floor(t / DAY_MS);
  return ((day + 3) % 7) * 24 + Math.floor((t % DAY_MS) / HOUR_MS);
}

export function hourOfDay(t: number): number {
  return Math.floor((t % DAY_MS) / HOUR_MS);
}

/** Theil–Sen slope: the median of all pairwise slopes, robust to a few outlying points. */
export function theilSen(xs: readonly number[], ys: readonly number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      const dx = xs[j]! - xs[i]!;
      if (dx !== 0) slopes.push((ys[j]! - ys[i]!) / dx);
    }
  }
  return slopes.length === 0 ? 0 : median(slopes);
}

/**
 * Robust daily log-growth of a series of hourly totals: Theil–Sen over 24-hour blocks aligned to the end of
 * the history (each block holds every hour of the day once, so daily seasonality cancels out).
 */
export function dailyTrend(hourly: readonly number[], clamp: [number, number] = [-0.05, 0.25]): number {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let end = hourly.length; end - 24 >= 0; end -= 24) {
    let total = 0;
    for (let i = end - 24; i < end; i++) total += hourly[i]!;
    if (total > 0) {
      xs.push(end / 24);
      ys.push(Math.log(total));
    }
  }
  if (xs.length < 4) return 0;
  return Math.min(clamp[1], Math.max(clamp[0], theilSen(xs, ys)));
}

function isActive(history: EntityHistory, i: number): boolean {
  return METRICS.some((m) => (history.hourly[m][i] ?? 0) > 0);
}

function unitOf(history: EntityHistory, metric: Metric): number {
  if (metric === 'requests' || metric === 'tool_calls') return 1;
  const ratios: number[] = [];
  const req = history.hourly.requests;
  history.hourly[metric].forEach((v, i) => {
    const r = req[i] ?? 0;
    if (r > 0 && v > 0) ratios.push(v / r);
  });
  return ratios.length === 0 ? 0 : median(ratios);
}

const NO_DAY_SLOTS: readonly null[] = Object.freeze(new Array<null>(24).fill(null));
const NO_WEEK_SLOTS: readonly null[] = Object.freeze(new Array<null>(168).fill(null));

/**
 * Slots without enough samples, as one shared frozen array: a new entity (most of a flood of fresh ids) has none,
 * and 192 nulls per metric were a third of what the detector held per entity.
 */
function shared(slots: (SlotStat | null)[]): (SlotStat | null)[] {
  if (slots.some((s) => s !== null)) return slots;
  return (slots.length === 24 ? NO_DAY_SLOTS : NO_WEEK_SLOTS) as (SlotStat | null)[];
}

function metricBaseline(history: EntityHistory, metric: Metric, now: number, active: boolean[], o: Required<BaselineOptions>): MetricBaseline {
  const hourly = history.hourly[metric];
  const trendPerDay = dailyTrend(hourly, o.trendClamp);
  const byDay: number[][] = Array.from({ length: 24 }, () => []);
  const byWeek: number[][] = Array.from({ length: 168 }, () => []);
  const busy: number[] = [];
  hourly.forEach((total, i) => {
    const start = history.hourStart + i * 3_600_000;
    const ageDays = (now - start - 1_800_000) / 86_400_000;
    // Project every hour to today's level so organic growth does not read as an anomaly.
    const factor = Math.min(12, Math.max(0.5, Math.exp(trendPerDay * ageDays)));
    const rate = (total / 60) * factor;
    byDay[hourOfDay(start)]!.push(rate);
    byWeek[hourOfWeek(start)]!.push(rate);
    if (active[i]) busy.push(rate);
  });
  const slot = (values: number[]): SlotStat | null => (values.length >= o.minSlotSamples ? robustStat(values) : null);
  const typical = robustStat(busy);
  const daySlots = byDay.map(slot);
  const weekSlots = byWeek.map(slot);
  // Pooled relative spread: how far an hour strays from its own slot's norm, over all hours. A slot's own MAD
  // rests on 3–4 samples (hour of week) or mixes weekdays with weekends (hour of day); the pool rests on hundreds.
  const residuals: number[] = [];
  for (let w = 0; w < 168; w++) {
    const ref = weekSlots[w] ?? daySlots[w % 24] ?? typical;
    if (ref.mean > 0) for (const v of byWeek[w]!) residuals.push(v / ref.mean - 1);
  }
  return { typical, hourOfDay: shared(daySlots), hourOfWeek: shared(weekSlots), relSpread: robustStat(residuals).spread, trendPerDay, unit: unitOf(history, metric) };
}

/** Robust per-metric baseline of an entity's per-minute rate from its hourly history; pure, JSON-serializable. */
export function buildBaseline(history: EntityHistory, now: number, opts: BaselineOptions = {}): Baseline {
  const o: Required<BaselineOptions> = { minSlotSamples: opts.minSlotSamples ?? 3, trendClamp: opts.trendClamp ?? [-0.05, 0.25] };
  const hours = Math.max(...METRICS.map((m) => history.hourly[m].length));
  const active = Array.from({ length: hours }, (_, i) => isActive(history, i));
  const metrics = Object.fromEntries(METRICS.map((m) => [m, metricBaseline(history, m, now, active, o)])) as Record<Metric, MetricBaseline>;
  return { kind: history.kind, id: history.id, builtAt: now, historyHours: hours, activeHours: active.filter(Boolean).length, metrics };
}

/** Map key for baselines and observations. */
export function entityKey(kind: string, id: string): string {
  return `${kind}\u0000${id}`;
}
