/**
 * The live detection benchmark's fleet in simulated time (bench/lib/live-fleet.ts): each key's history is seven
 * days of per-minute calls drawn uniformly from 0..2× its mean (noisy minutes, as the benchmark seeds the rollup),
 * its baseline is built from those minutes' hourly totals, and live traffic is sent second by second the way the
 * benchmark sends it (a call in a second with probability rate / 60), counted into 10 s fresh buckets and the
 * per-minute series, with a detector tick every `tickS` seconds.
 */
import { buildBaseline, entityKey } from '../../core/anomaly/baseline.ts';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import { detect, emptyDetectorState, type DetectResult } from '../../core/anomaly/detect.ts';
import { addFresh, createFreshCounters, pruneFresh } from '../../core/anomaly/fresh-counters.ts';
import { buildPeerBaseline } from '../../core/anomaly/peers.ts';
import { METRICS } from '../../core/anomaly/types.ts';
import type { AnomalyConfig, Baseline, EntityObservation, Finding, Metric } from '../../core/anomaly/types.ts';
import type { EntityKind } from '../../core/usage/types.ts';
import { mix, mulberry32 } from './sim-model.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const HISTORY_MIN = 7 * 1440;
const WINDOW_MIN = 360;

/** One live key: its usual calls per minute and cost per call, and its live rate (calls per minute) over time. */
export interface LiveKey {
  id: string;
  tenant: string;
  agent?: string;
  perMin: number;
  usd: number;
  /** Live calls per minute at `s` seconds into the live run (default: `perMin`). */
  live?: (s: number) => number;
  /** Single calls at a second of the live run, with their cost (e.g. one expensive request). */
  extra?: { s: number; usd: number }[];
  /** A key never seen before the live run (no history: judged against its peers). */
  fresh?: boolean;
  /** No usage in the last minutes before the live run (blocked by its quota until a reset). */
  silentMin?: number;
}

/** An aggregate's seeded history (a tenant or an agent seeded flat, like the benchmark's). */
export interface LiveAggregate {
  kind: EntityKind;
  id: string;
  perMin: number;
  usd: number;
}

export interface LiveRun {
  keys: LiveKey[];
  aggregates?: LiveAggregate[];
  seed: number;
  /** Live seconds to simulate. */
  seconds: number;
  /** Detector interval (s); default 2. */
  tickS?: number;
  /** Epoch ms of the live run's start (default: 14:00:20 UTC on a Tuesday). */
  start?: number;
  config?: AnomalyConfig;
  /** Feed the fresh path (default true); false: the minute path alone. */
  fresh?: boolean;
  /** Quota period starts, seconds into the live run (the benchmark's billing cycle starts 40 s in, for every key). */
  resetsS?: number[];
  /** Called after every detector tick with its second, time and result (e.g. to run the incident lifecycle). */
  onTick?: (s: number, now: number, r: DetectResult) => void;
}

export interface LiveFinding extends Finding {
  /** Seconds into the live run. */
  s: number;
}

type Series = Record<Metric, number[]>;
const empty = (n: number): Series => Object.fromEntries(METRICS.map((m) => [m, new Array<number>(n).fill(0)])) as Series;

/** Seven days of uniform 0..2×mean calls a minute (the rollup seeding), as per-minute series ending before `cur`. */
function seeded(seed: number, perMin: number, usd: number, n: number): Series {
  const r = mulberry32(seed);
  const out = empty(n);
  for (let j = 0; j < n; j++) {
    const calls = Math.floor(r() * (2 * perMin + 1));
    out.requests[j] = calls;
    out.cost_usd[j] = calls * usd;
    out.tokens[j] = calls * 1800;
  }
  return out;
}

function baselineOf(kind: EntityKind, id: string, minutes: Series, cur: number): Baseline {
  const hours = Math.floor(HISTORY_MIN / 60);
  const hourly = empty(hours);
  // The seeded minutes end at `cur`, the hourly history at the hour before it: whole hours only.
  const end = Math.floor(cur / HOUR) * HOUR;
  const first = cur - HISTORY_MIN * MIN;
  for (let j = 0; j < HISTORY_MIN; j++) {
    const t = first + j * MIN;
    const h = Math.floor((t - (end - hours * HOUR)) / HOUR);
    if (h < 0 || h >= hours) continue;
    for (const m of METRICS) hourly[m][h]! += minutes[m][j]!;
  }
  return buildBaseline({ kind, id, hourStart: end - hours * HOUR, hourly }, end);
}

/** Runs the live fleet through `detect` (fresh path on) and returns every finding with its second. */
export function runLiveFleet(o: LiveRun): LiveFinding[] {
  const start = o.start ?? Date.UTC(2026, 2, 31, 14, 0, 20);
  const cur = Math.floor(start / MIN) * MIN;
  const config = o.config ?? resolveAnomalyConfig({});
  const tickS = o.tickS ?? 2;
  const liveMin = Math.ceil(o.seconds / 60) + 1;
  const entities = new Map<string, { kind: EntityKind; id: string; tenant: string; series: Series }>();
  const baselines = new Map<string, Baseline>();
  const add = (kind: EntityKind, id: string, tenant: string, perMin: number, usd: number, salt: number, silentMin = 0): void => {
    const hist = seeded(mix(o.seed, salt), perMin, usd, HISTORY_MIN);
    for (const m of METRICS) hist[m].fill(0, HISTORY_MIN - silentMin);
    if (perMin > 0) baselines.set(entityKey(kind, id), baselineOf(kind, id, hist, cur));
    const series = empty(WINDOW_MIN + liveMin);
    for (const m of METRICS) for (let j = 0; j < WINDOW_MIN; j++) series[m][j] = hist[m][HISTORY_MIN - WINDOW_MIN + j]!;
    entities.set(entityKey(kind, id), { kind, id, tenant, series });
  };
  o.keys.forEach((k, i) => add('api_key', k.id, k.tenant, k.fresh ? 0 : k.perMin, k.usd, i + 1, k.silentMin));
  (o.aggregates ?? []).forEach((a, i) => add(a.kind, a.id, '', a.perMin, a.usd, 1000 + i));
  const peer = buildPeerBaseline('api_key', baselines.values());
  const peers = new Map(peer ? [['api_key' as const, peer]] : []);
  const counters = createFreshCounters(10 * SEC, 30 * MIN);
  const rnd = mulberry32(mix(o.seed, 424242));
  const count = (kind: EntityKind, id: string, t: number, usd: number): void => {
    const e = entities.get(entityKey(kind, id));
    if (!e) return;
    const j = WINDOW_MIN + Math.floor((t - cur) / MIN);
    e.series.requests[j]! += 1;
    e.series.cost_usd[j]! += usd;
    e.series.tokens[j]! += 1800;
  };
  const call = (k: LiveKey, t: number, usd: number): void => {
    const ids: { kind: EntityKind; id: string }[] = [{ kind: 'api_key', id: k.id }, { kind: 'tenant', id: k.tenant }];
    if (k.agent) ids.push({ kind: 'agent', id: k.agent });
    addFresh(counters, { time: t, entities: ids, tenant: k.tenant, requests: 1, toolCalls: 0, tokens: 1800, costUsd: usd }, t);
    for (const x of ids) count(x.kind, x.id, t, usd);
  };
  let state = emptyDetectorState();
  const out: LiveFinding[] = [];
  for (let s = 0; s < o.seconds; s++) {
    const t = start + s * SEC;
    for (const k of o.keys) {
      const rate = k.live ? k.live(s) : k.perMin;
      // The benchmark's sender: the whole part of rate / 60 every second, the fraction by chance.
      const whole = Math.floor(rate / 60);
      const n = whole + (rnd() < rate / 60 - whole ? 1 : 0);
      for (let i = 0; i < n; i++) call(k, t, k.usd);
      for (const x of k.extra ?? []) if (x.s === s) call(k, t, x.usd);
    }
    if ((s + 1) % tickS !== 0) continue;
    const now = t + SEC;
    pruneFresh(counters, now);
    const n = WINDOW_MIN + Math.floor((now - 1 - cur) / MIN) + 1;
    const observations: EntityObservation[] = [...entities.values()].map((e) => ({
      kind: e.kind,
      id: e.id,
      tenant: e.tenant,
      minuteStart: cur + (n - 2 * WINDOW_MIN) * MIN,
      series: Object.fromEntries(METRICS.map((m) => [m, e.series[m].slice(n - WINDOW_MIN, n)])) as Series,
    }));
    const fresh = o.fresh === false ? {} : { fresh: { series: counters.series, from: now - 30 * MIN } };
    const resets = o.resetsS ? { periodResets: o.resetsS.map((x) => start + x * SEC) } : {};
    const r = detect(state, { now, observations, baselines, peers, config, ...fresh, ...resets });
    state = r.state;
    for (const f of r.findings) out.push({ ...f, s: s + 1 });
    o.onTick?.(s + 1, now, r);
  }
  return out;
}
