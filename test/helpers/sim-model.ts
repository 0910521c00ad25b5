/**
 * Seeded traffic model for the detector's simulations: a PRNG with random access by time, leaves (streams of traffic
 * with one identity), their per-minute and per-hour draws with daily/weekly seasonality, and the scenario shape.
 * The scenarios themselves are data (sim-scenarios.ts); running them through the detector is sim-run.ts.
 */
import type { Metric, Pattern } from '../../core/anomaly/types.ts';
import type { EntityKind } from '../../core/usage/types.ts';

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
/** Monday 2026-03-02 00:00 UTC: every scenario's history starts here. */
export const T0 = Date.UTC(2026, 2, 2);
/** The evaluated day, 28 days of history later (also a Monday). */
export const EVAL_DAY = T0 + 28 * DAY;

// ---------- PRNG and distributions ----------

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-style mix of integers into a 32-bit seed (random access: one stream per leaf and minute). */
export function mix(...parts: number[]): number {
  let h = 2166136261;
  for (const p of parts) {
    h = Math.imul(h ^ (p & 0xffff), 16777619);
    h = Math.imul(h ^ (Math.floor(p / 65536) & 0xffffffff), 16777619);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

type Rng = () => number;
const normal = (r: Rng): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

export function gamma(r: Rng, shape: number, scale: number): number {
  if (shape <= 0) return 0;
  if (shape < 1) return gamma(r, shape + 1, scale) * Math.pow(r(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(r);
    const v = (1 + c * x) ** 3;
    if (v > 0 && Math.log(1 - r()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * scale;
  }
}

export function poisson(r: Rng, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(r)));
  const l = Math.exp(-lambda);
  let k = 0;
  for (let p = r(); p > l; p *= r()) k++;
  return k;
}

// ---------- traffic model ----------

/** What a span carries: the identity of one stream of traffic. */
export interface SimIdentity {
  api_key: string;
  tenant: string;
  agent?: string;
  conversation?: string;
}

/** One stream of traffic with a fixed identity. */
export interface Leaf {
  identity: SimIdentity;
  /** Expected requests per minute at time t. */
  rate: (t: number) => number;
  costPerRequest: number;
  tokensPerRequest: number;
  toolCallsPerRequest: number;
  /** Machine-driven (loops, single requests): exact counts and sizes. */
  steady?: boolean;
  /** Per-minute over-dispersion (CV of the rate multiplier) and day-to-day level CV. */
  cvMinute?: number;
  cvDay?: number;
}

export type Totals = Record<Metric, number>;
const zero = (): Totals => ({ cost_usd: 0, tokens: 0, requests: 0, tool_calls: 0 });

function dayFactor(seed: number, li: number, t: number, cv: number): number {
  const r = mulberry32(mix(seed, li, Math.floor(t / DAY), 7));
  return Math.exp(cv * normal(r) - (cv * cv) / 2);
}

function amounts(r: Rng, leaf: Leaf, n: number): Totals {
  if (n <= 0) return zero();
  if (leaf.steady) {
    return { requests: n, cost_usd: n * leaf.costPerRequest, tokens: n * leaf.tokensPerRequest, tool_calls: Math.round(n * leaf.toolCallsPerRequest) };
  }
  return {
    requests: n,
    cost_usd: gamma(r, 2 * n, leaf.costPerRequest / 2),
    tokens: Math.round(gamma(r, 2 * n, leaf.tokensPerRequest / 2)),
    tool_calls: poisson(r, n * leaf.toolCallsPerRequest),
  };
}

/** Totals of one leaf in the minute starting at t. */
export function drawMinute(seed: number, li: number, leaf: Leaf, t: number): Totals {
  const lambda = leaf.rate(t);
  if (lambda <= 0) return zero();
  const r = mulberry32(mix(seed, li, t / MIN, 1));
  // Machine-driven: a renewal process whose iteration time varies ±30 % (count variance 0.09 × mean, not mean).
  if (leaf.steady) return amounts(r, leaf, Math.max(0, Math.round(lambda + 0.3 * Math.sqrt(lambda) * normal(r))));
  const cv = leaf.cvMinute ?? 0.3;
  const multiplier = gamma(r, 1 / (cv * cv), cv * cv) * dayFactor(seed, li, t, leaf.cvDay ?? 0.1);
  return amounts(r, leaf, poisson(r, lambda * multiplier));
}

/** Totals of one leaf in the hour starting at h (drawn at hour level: cheap enough for weeks of history). */
export function drawHour(seed: number, li: number, leaf: Leaf, h: number): Totals {
  let lambda = 0; // sampled every 5 minutes: exact enough for hourly totals, and weeks of history stay cheap
  for (let m = 2; m < 60; m += 5) lambda += 5 * Math.max(0, leaf.rate(h + m * MIN));
  if (lambda <= 0) return zero();
  const r = mulberry32(mix(seed, li, h / HOUR, 2));
  if (leaf.steady) return amounts(r, leaf, Math.round(lambda));
  return amounts(r, leaf, poisson(r, lambda * gamma(r, 100, 0.01) * dayFactor(seed, li, h, leaf.cvDay ?? 0.1)));
}

// ---------- rate shapes ----------

/** Human traffic: low at 03:00, peak at 15:00 (shifted by `tzHours`), weekends at 60 %. */
export function human(base: number, tzHours = 0): (t: number) => number {
  return (t) => {
    const local = t + tzHours * HOUR;
    const h = (local % DAY) / HOUR;
    const dow = (Math.floor(local / DAY) + 3) % 7; // 0 = Monday
    return base * (0.35 + 0.325 * (1 - Math.cos((2 * Math.PI * (h - 3)) / 24))) * (dow >= 5 ? 0.6 : 1);
  };
}

export const between = (from: number, to: number, r: (t: number) => number) => (t: number): number => (t >= from && t < to ? r(t) : 0);
export const constant = (v: number) => (): number => v;

// ---------- scenarios ----------

export type ScenarioLabel = Pattern | 'trap';

export interface Scenario {
  name: string;
  label: ScenarioLabel;
  description: string;
  seed: number;
  leaves: Leaf[];
  scopes: EntityKind[];
  attackStart: number | null;
  /** Entities the attack touches; a finding of the labelled pattern on one of them is a true positive. */
  targets: Array<{ kind: EntityKind; id: string }>;
  /** Required detection delay (minutes) at critical severity (tenant spikes: flagged, see `caughtAt`); null for traps. */
  boundMin: number | null;
  evalFrom: number;
  evalTo: number;
  tickEveryMin: number;
}

export interface SimEntity {
  kind: EntityKind;
  id: string;
  tenant: string;
}

export function entitiesOfLeaf(l: Leaf): SimEntity[] {
  const { api_key, tenant, agent, conversation } = l.identity;
  const out: SimEntity[] = [
    { kind: 'api_key', id: api_key, tenant },
    { kind: 'tenant', id: tenant, tenant: '' },
  ];
  if (agent !== undefined) out.push({ kind: 'agent', id: agent, tenant });
  if (conversation !== undefined) out.push({ kind: 'conversation', id: conversation, tenant });
  return out;
}

/** Per-minute leaf totals of a scenario between two times (for turning a scenario into spans); zero minutes skipped. */
export function* scenarioMinutes(s: Scenario, from: number, to: number): Generator<{ minuteStart: number; identity: SimIdentity; totals: Totals }> {
  for (let t = Math.floor(from / MIN) * MIN; t < to; t += MIN) {
    for (const [li, leaf] of s.leaves.entries()) {
      const totals = drawMinute(s.seed, li, leaf, t);
      if (totals.requests > 0 || totals.cost_usd > 0 || totals.tool_calls > 0) yield { minuteStart: t, identity: leaf.identity, totals };
    }
  }
}

export function keyLeaves(seed: number, tenant: string, n: number, o: { min: number; max: number; cost: [number, number]; tz?: number; prefix?: string }): Leaf[] {
  const r = mulberry32(mix(seed, n, 99));
  return Array.from({ length: n }, (_, i) => {
    const base = o.min * Math.pow(o.max / o.min, r());
    const cost = o.cost[0] * Math.pow(o.cost[1] / o.cost[0], r());
    return { identity: { api_key: `${o.prefix ?? `k-${tenant.slice(2)}`}-${i}`, tenant }, rate: human(base, o.tz ?? 0), costPerRequest: cost, tokensPerRequest: cost * 150_000, toolCallsPerRequest: 0 };
  });
}
