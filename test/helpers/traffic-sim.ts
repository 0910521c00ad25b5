/**
 * Seeded traffic simulator for the denial-of-wallet detector: normal traffic with daily/weekly seasonality plus
 * labelled attack and false-positive-trap scenarios. Deterministic (own PRNG, random access by time), so the
 * same scenario can also be turned into real spans (`scenarioMinutes`). Longer than the house ≲200 lines because
 * the scenarios are data; the machinery is the first half.
 */
import { buildBaseline, entityKey } from '../../core/anomaly/baseline.ts';
import type { BaselineOptions } from '../../core/anomaly/baseline.ts';
import { buildPeerBaseline, peerBaselineFromObservations } from '../../core/anomaly/peers.ts';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import { replayDetection } from '../../core/anomaly/replay.ts';
import type { ReplayResult, ReplayTick } from '../../core/anomaly/replay.ts';
import { METRICS } from '../../core/anomaly/types.ts';
import type { FreshBucket, FreshSeries } from '../../core/anomaly/fresh-counters.ts';
import type { FreshInput } from '../../core/anomaly/fresh-findings.ts';
import type { AnomalyConfig, Baseline, EntityHistory, EntityObservation, Metric, Pattern, PeerBaseline } from '../../core/anomaly/types.ts';
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

function entitiesOfLeaf(l: Leaf): SimEntity[] {
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

const T = EVAL_DAY;
const attackAt = (h: number): number => T + h * HOUR;
export const key = (tenant: string, api_key: string, rate: (t: number) => number, costPerRequest: number, extra: Partial<Leaf> = {}): Leaf => ({
  identity: { api_key, tenant },
  rate,
  costPerRequest,
  tokensPerRequest: costPerRequest * 150_000,
  toolCallsPerRequest: 0,
  ...extra,
});
const dailyAt = (hour: number, minutes: number, rate: number, seed: number) => (t: number): number => {
  const day = Math.floor(t / DAY);
  const jitter = mix(seed, day) % 4; // start 0–3 min late, run ±3 min
  const start = day * DAY + hour * HOUR + jitter * MIN;
  return t >= start && t < start + (minutes + (mix(seed, day, 5) % 7) - 3) * MIN ? rate : 0;
};

function burstLeakedKey(): Scenario {
  const at = attackAt(14);
  const victim = key('t-acme', 'k-acme-victim', human(1), 0.01);
  return {
    name: 'burst: leaked key floods an expensive model',
    label: 'burst',
    description: '1 req/min key suddenly makes 120 req/min at $0.06',
    seed: 101,
    leaves: [
      ...keyLeaves(101, 't-acme', 8, { min: 0.3, max: 6, cost: [0.004, 0.03] }),
      ...keyLeaves(102, 't-beta', 6, { min: 0.3, max: 6, cost: [0.004, 0.03], tz: -6 }),
      victim,
      key('t-acme', 'k-acme-victim', between(at, at + 6 * HOUR, constant(120)), 0.06),
    ],
    scopes: ['api_key', 'tenant', 'agent'],
    attackStart: at,
    targets: [{ kind: 'api_key', id: 'k-acme-victim' }, { kind: 'tenant', id: 't-acme' }],
    boundMin: 2,
    evalFrom: at - 30 * MIN,
    evalTo: at + 30 * MIN,
    tickEveryMin: 1,
  };
}

function newKeyHeavy(): Scenario {
  const at = attackAt(15);
  return {
    name: 'burst: brand-new key spends heavily',
    label: 'burst',
    description: 'a key with no history starts at 60 req/min at $0.05; another new key starts with normal traffic',
    seed: 202,
    leaves: [
      ...keyLeaves(201, 't-one', 10, { min: 0.2, max: 8, cost: [0.003, 0.03] }),
      ...keyLeaves(202, 't-two', 10, { min: 0.2, max: 8, cost: [0.003, 0.03] }),
      key('t-two', 'k-new', between(at, Infinity, constant(60)), 0.05),
      key('t-one', 'k-fresh', between(at - 20 * MIN, Infinity, human(2)), 0.01),
    ],
    scopes: ['api_key', 'tenant', 'agent'],
    attackStart: at,
    targets: [{ kind: 'api_key', id: 'k-new' }, { kind: 'tenant', id: 't-two' }],
    boundMin: 2,
    evalFrom: at - 30 * MIN,
    evalTo: at + 30 * MIN,
    tickEveryMin: 1,
  };
}

function runawayAgent(): Scenario {
  const at = attackAt(15);
  const bots = { api_key: 'k-bots-1', tenant: 't-bots', agent: 'a-research' };
  const r = mulberry32(303);
  const conversations: Leaf[] = Array.from({ length: 60 }, (_, i) => {
    const start = at - 6 * HOUR + i * 8 * MIN;
    const duration = (3 + Math.floor(r() * 22)) * MIN;
    return { identity: { ...bots, conversation: `c-${i}` }, rate: between(start, start + duration, constant(0.5 + 2.5 * r())), costPerRequest: 0.015, tokensPerRequest: 2000, toolCallsPerRequest: 0.5 + 0.7 * r() };
  });
  return {
    name: 'runaway_loop: an agent conversation stuck in a tool loop',
    label: 'runaway_loop',
    description: 'one conversation calls the LLM and a tool 20×/min, steadily, for an hour (peers: 0.5–3/min)',
    seed: 303,
    leaves: [
      { identity: bots, rate: human(10), costPerRequest: 0.015, tokensPerRequest: 2000, toolCallsPerRequest: 1 },
      { identity: { api_key: 'k-bots-2', tenant: 't-bots', agent: 'a-support' }, rate: human(6), costPerRequest: 0.01, tokensPerRequest: 1500, toolCallsPerRequest: 0.5 },
      ...conversations,
      ...keyLeaves(303, 't-bots', 4, { min: 0.5, max: 4, cost: [0.005, 0.02] }),
      // One LLM call + one tool call every ~3 s, for an hour: ~7× what the busiest conversations do.
      { identity: { ...bots, conversation: 'c-loop' }, rate: between(at, at + HOUR, constant(20)), costPerRequest: 0.02, tokensPerRequest: 3000, toolCallsPerRequest: 1, steady: true },
    ],
    scopes: ['api_key', 'tenant', 'agent', 'conversation'],
    attackStart: at,
    targets: [
      { kind: 'conversation', id: 'c-loop' },
      { kind: 'agent', id: 'a-research' },
      { kind: 'api_key', id: 'k-bots-1' },
      { kind: 'tenant', id: 't-bots' },
    ],
    boundMin: 15,
    evalFrom: at - 30 * MIN,
    evalTo: at + 40 * MIN,
    tickEveryMin: 1,
  };
}

function slowDripScenario(): Scenario {
  const at = attackAt(9);
  return {
    name: 'slow_drip: a key quietly runs at 3× for hours',
    label: 'slow_drip',
    description: 'extra traffic at twice the key’s own seasonal rate, from 09:00 for 6 hours',
    seed: 404,
    leaves: [
      key('t-drip', 'k-drip', human(3), 0.03),
      key('t-drip', 'k-drip', between(at, at + 6 * HOUR, (t) => 2 * human(3)(t)), 0.03),
      ...keyLeaves(404, 't-drip', 4, { min: 0.5, max: 5, cost: [0.005, 0.03] }),
      ...keyLeaves(405, 't-other', 5, { min: 0.5, max: 5, cost: [0.005, 0.03] }),
    ],
    scopes: ['api_key', 'tenant', 'agent'],
    attackStart: at,
    targets: [{ kind: 'api_key', id: 'k-drip' }, { kind: 'tenant', id: 't-drip' }],
    boundMin: 180,
    evalFrom: at - 30 * MIN,
    evalTo: at + 200 * MIN,
    tickEveryMin: 1,
  };
}

function tenantSpike(): Scenario {
  const at = attackAt(16);
  const keys = keyLeaves(505, 't-spread', 25, { min: 1.4, max: 2.8, cost: [0.008, 0.012] });
  return {
    name: 'tenant_spike: every key of a tenant goes up a little',
    label: 'tenant_spike',
    description: '25 keys each at 3.5× (each still below its own floor/ratio), tenant total 3.5×',
    seed: 505,
    leaves: [
      ...keys,
      ...keys.map((k) => ({ ...k, rate: between(at, Infinity, (t: number) => 2.5 * k.rate(t)) })),
      ...keyLeaves(506, 't-calm', 8, { min: 0.5, max: 5, cost: [0.005, 0.03] }),
    ],
    scopes: ['api_key', 'tenant', 'agent'],
    attackStart: at,
    targets: [{ kind: 'tenant', id: 't-spread' }, ...keys.map((k) => ({ kind: 'api_key' as const, id: k.identity.api_key }))],
    boundMin: 5,
    evalFrom: at - 30 * MIN,
    evalTo: at + 30 * MIN,
    tickEveryMin: 1,
  };
}

const trap = (name: string, description: string, seed: number, leaves: Leaf[], evalFrom: number, evalTo: number, tickEveryMin: number): Scenario => ({
  name: `trap: ${name}`,
  label: 'trap',
  description,
  seed,
  leaves,
  scopes: ['api_key', 'tenant', 'agent'],
  attackStart: null,
  targets: [],
  boundMin: null,
  evalFrom,
  evalTo,
  tickEveryMin,
});

function organicGrowth(): Scenario {
  const grow = (base: number) => (t: number): number => human(base)(t) * Math.pow(1.1, (t - T0) / DAY);
  const r = mulberry32(606);
  const leaves = Array.from({ length: 6 }, (_, i) => key('t-grow', `k-grow-${i}`, grow(0.1 + r()), 0.01 + 0.02 * r()));
  return trap('organic growth', '+10 %/day compounding for 4 weeks (14× overall)', 606, leaves, T, T + DAY, 5);
}

function batchJobs(): Scenario {
  return trap(
    'recurring batch jobs',
    'nightly 02:00 job at 40 req/min for ~25 min, and a Monday 03:00 job (hour-of-week)',
    707,
    [
      key('t-batch', 'k-nightly', human(1), 0.01),
      key('t-batch', 'k-nightly', dailyAt(2, 25, 40, 1), 0.02),
      key('t-batch', 'k-weekly', human(0.5), 0.01),
      key('t-batch', 'k-weekly', (t) => ((Math.floor(t / DAY) + 3) % 7 === 0 ? dailyAt(3, 20, 30, 2)(t) : 0), 0.03),
      ...keyLeaves(707, 't-batch', 3, { min: 0.5, max: 3, cost: [0.005, 0.02] }),
    ],
    T + 90 * MIN,
    T + 4 * HOUR,
    1,
  );
}

function periodReset(): Scenario {
  const leaves: Leaf[] = [];
  for (let i = 0; i < 10; i++) {
    const normal = human(1.5);
    // Each day the free-tier key exhausts its daily quota between 17:00 and 23:00 and is blocked until midnight.
    const blockedFrom = (t: number): number => Math.floor(t / DAY) * DAY + (17 + (mix(808, i, Math.floor(t / DAY)) % 6)) * HOUR;
    const rate = (t: number): number => (t >= blockedFrom(t) ? 0 : normal(t));
    // Queued jobs and retrying clients come back at once: 6× the daytime rate, decaying over a few minutes.
    const catchUp = (t: number): number => {
      const since = t - Math.floor(t / DAY) * DAY;
      return since < 20 * MIN ? 9 * Math.exp(-since / (4 * MIN)) : 0;
    };
    leaves.push(key('t-free', `k-free-${i}`, rate, 0.02), key('t-free', `k-free-${i}`, catchUp, 0.02));
  }
  return trap('quota period reset', '10 free keys blocked after exhausting their daily quota resume at 00:00 with a catch-up surge', 808, leaves, T - HOUR, T + HOUR, 1);
}

function noise(): Scenario {
  return trap(
    'normal noise',
    '24 keys from 0.05 to 40 req/min in 3 tenants/time zones, agents with tool calls, for a whole day',
    909,
    [
      ...keyLeaves(901, 't-eu', 8, { min: 0.05, max: 40, cost: [0.002, 0.05], tz: 1 }),
      ...keyLeaves(902, 't-us', 8, { min: 0.05, max: 40, cost: [0.002, 0.05], tz: -6 }),
      ...keyLeaves(903, 't-ap', 8, { min: 0.05, max: 40, cost: [0.002, 0.05], tz: 8 }),
      { identity: { api_key: 'k-eu-agents', tenant: 't-eu', agent: 'a-planner' }, rate: human(5, 1), costPerRequest: 0.02, tokensPerRequest: 3000, toolCallsPerRequest: 1.5 },
      { identity: { api_key: 'k-us-agents', tenant: 't-us', agent: 'a-coder' }, rate: human(12, -6), costPerRequest: 0.03, tokensPerRequest: 4000, toolCallsPerRequest: 2 },
    ],
    T,
    T + DAY,
    6,
  );
}

function singleExpensive(): Scenario {
  const one = (at: number) => between(at, at + MIN, constant(1));
  return trap(
    'single expensive request',
    'a key doing 1 request per 20 min makes one $0.04 request (under the floor), later one $6 request',
    1010,
    [
      key('t-quiet', 'k-quiet', human(0.05), 0.004),
      key('t-quiet', 'k-quiet', one(attackAt(10)), 0.04, { steady: true }),
      key('t-quiet', 'k-quiet', one(attackAt(11.5)), 6, { steady: true }),
      ...keyLeaves(1010, 't-quiet', 3, { min: 0.1, max: 2, cost: [0.005, 0.02] }),
    ],
    attackAt(9.8),
    attackAt(12),
    1,
  );
}

/** All labelled scenarios: 5 attacks (one per pattern, two for burst) and 5 false-positive traps. */
export function scenarios(): Scenario[] {
  return [burstLeakedKey(), newKeyHeavy(), runawayAgent(), slowDripScenario(), tenantSpike(), organicGrowth(), batchJobs(), periodReset(), noise(), singleExpensive()];
}

// ---------- running scenarios through the detector ----------

interface Prepared {
  s: Scenario;
  entities: SimEntity[];
  minuteFrom: number;
  minutes: Array<Record<Metric, number[]>>;
  /** Per entity and minute, the largest cost of one request among the leaves active then (the fresh path caps it). */
  maxCost: number[][];
  hours: Array<Record<Metric, number[]>>;
}

const OBSERVED_MINUTES = 360;
const filled = (n: number): number[] => new Array<number>(n).fill(0);
const arrays = (n: number): Record<Metric, number[]> => ({ cost_usd: filled(n), tokens: filled(n), requests: filled(n), tool_calls: filled(n) });

function prepare(s: Scenario): Prepared {
  const index = new Map<string, number>();
  const entities: SimEntity[] = [];
  const leafEntities = s.leaves.map((l) =>
    entitiesOfLeaf(l).map((e) => {
      const k = entityKey(e.kind, e.id);
      if (!index.has(k)) {
        index.set(k, entities.length);
        entities.push(e);
      }
      return index.get(k)!;
    }),
  );
  const minuteFrom = Math.floor(s.evalFrom / MIN) * MIN - OBSERVED_MINUTES * MIN;
  const nMin = Math.ceil((s.evalTo - minuteFrom) / MIN) + 2;
  const nHour = Math.floor(s.evalTo / HOUR) - T0 / HOUR + 1;
  const minutes = entities.map(() => arrays(nMin));
  const maxCost = entities.map(() => filled(nMin));
  const hours = entities.map(() => arrays(nHour));
  s.leaves.forEach((leaf, li) => {
    const add = (target: Array<Record<Metric, number[]>>, i: number, v: Totals): void => {
      for (const e of leafEntities[li]!) for (const m of METRICS) target[e]![m][i]! += v[m];
    };
    for (let i = 0; i < nMin; i++) {
      const v = drawMinute(s.seed, li, leaf, minuteFrom + i * MIN);
      add(minutes, i, v);
      if (v.requests > 0) for (const e of leafEntities[li]!) maxCost[e]![i] = Math.max(maxCost[e]![i]!, v.cost_usd / v.requests);
    }
    for (let i = 0; i < nHour; i++) add(hours, i, drawHour(s.seed, li, leaf, T0 + i * HOUR));
  });
  return { s, entities, minuteFrom, minutes, maxCost, hours };
}

/**
 * The fresh path's input at `now` as the sim can give it: the last 30 minutes in one-minute buckets (the current
 * one partial), each with up to three requests of its largest per-request cost. Coarser than the detector's 10 s
 * buckets, which only makes the sequential tests slower to alarm, never quicker.
 */
function freshAt(p: Prepared, now: number): FreshInput {
  const cur = Math.floor(now / MIN) * MIN;
  const frac = (now - cur) / MIN;
  const idx = (cur - p.minuteFrom) / MIN;
  const series = new Map<string, FreshSeries>();
  p.entities.forEach((e, i) => {
    const buckets: FreshBucket[] = [];
    for (let j = Math.max(0, idx - 29); j <= idx; j++) {
      const w = j === idx ? frac : 1;
      const m = p.minutes[i]!;
      if (m.requests[j]! + m.cost_usd[j]! + m.tool_calls[j]! <= 0) continue;
      const top = new Array<number>(Math.min(3, Math.ceil(m.requests[j]! * w))).fill(p.maxCost[i]![j]!);
      buckets.push({ start: p.minuteFrom + j * MIN, requests: m.requests[j]! * w, tool_calls: m.tool_calls[j]! * w, tokens: m.tokens[j]! * w, cost_usd: m.cost_usd[j]! * w, top });
    }
    if (buckets.length > 0) series.set(entityKey(e.kind, e.id), { kind: e.kind, id: e.id, tenant: e.tenant, buckets });
  });
  return { series, from: cur - 29 * MIN };
}

/** What the ClickHouse query would return at `now`: the last 360 minutes, the current one partial. */
function observationsAt(p: Prepared, now: number): EntityObservation[] {
  const cur = Math.floor(now / MIN) * MIN;
  const frac = (now - cur) / MIN;
  const idx = (cur - p.minuteFrom) / MIN;
  const start = Math.max(0, idx - OBSERVED_MINUTES + 1);
  const out: EntityObservation[] = [];
  p.entities.forEach((e, i) => {
    const series = {} as Record<Metric, number[]>;
    let any = false;
    for (const m of METRICS) {
      const v = p.minutes[i]![m].slice(start, idx + 1);
      v[v.length - 1]! *= frac;
      any ||= v.some((x) => x > 0);
      series[m] = v;
    }
    if (any) out.push({ kind: e.kind, id: e.id, tenant: e.tenant, minuteStart: p.minuteFrom + start * MIN, series });
  });
  return out;
}

/** Hourly history up to the hour before the current one; entities without any history get none (new keys). */
function historiesAt(p: Prepared, now: number): EntityHistory[] {
  const end = Math.floor(now / HOUR) - T0 / HOUR;
  const out: EntityHistory[] = [];
  p.entities.forEach((e, i) => {
    const hourly = {} as Record<Metric, number[]>;
    for (const m of METRICS) hourly[m] = p.hours[i]![m].slice(0, end);
    if (hourly.requests.some((x) => x > 0)) out.push({ kind: e.kind, id: e.id, hourStart: T0, hourly });
  });
  return out;
}

function* ticks(p: Prepared, baselineOpts: BaselineOptions, fresh: boolean): Generator<ReplayTick> {
  let hour = Number.NaN;
  let baselines = new Map<string, Baseline>();
  let peers = new Map<EntityKind, PeerBaseline>();
  for (let t = p.s.evalFrom; t <= p.s.evalTo; t += p.s.tickEveryMin * MIN) {
    const now = t + 45_000;
    if (Math.floor(now / HOUR) !== hour) {
      hour = Math.floor(now / HOUR);
      baselines = new Map(historiesAt(p, now).map((h) => [entityKey(h.kind, h.id), buildBaseline(h, hour * HOUR, baselineOpts)]));
      peers = new Map();
      for (const kind of ['api_key', 'tenant', 'agent'] as const) {
        const peer = buildPeerBaseline(kind, baselines.values());
        if (peer) peers.set(kind, peer);
      }
    }
    const observations = observationsAt(p, now);
    const tickPeers = new Map(peers);
    const conv = peerBaselineFromObservations('conversation', observations);
    if (conv) tickPeers.set('conversation', conv);
    yield { now, observations, baselines, peers: tickPeers, ...(fresh ? { fresh: freshAt(p, now) } : {}) };
  }
}

export interface IncidentSummary {
  pattern: Pattern;
  kind: EntityKind;
  id: string;
  criticalAt: number | null;
  verdict: 'true_positive' | 'cross_labelled' | 'false_positive';
  explanation: string;
}

export interface ScenarioOutcome {
  scenario: Scenario;
  result: ReplayResult;
  /** Minutes from attack start to the first critical incident of the labelled pattern on a target (tenant spikes: the first incident, see `caughtAt`). */
  delayMin: number | null;
  incidents: IncidentSummary[];
}

export interface RunOptions {
  config?: AnomalyConfig;
  /** Baseline options, e.g. to show what a trap does to a detector without seasonality or trend. */
  baseline?: BaselineOptions;
  /** Also feed the fresh path (sequential tests) from the minute series. */
  fresh?: boolean;
}

export function runScenario(s: Scenario, opts: RunOptions = {}): ScenarioOutcome {
  const config = opts.config ?? resolveAnomalyConfig({ scopes: s.scopes });
  const result = replayDetection(ticks(prepare(s), opts.baseline ?? {}, opts.fresh ?? false), config);
  return { scenario: s, result, ...classify(s, result.incidents) };
}

/**
 * A moderate tenant-wide rise warns (revoking a whole tenant takes money at risk, not a score): a tenant spike is
 * caught by its first incident, warning or not; every other attack by its first critical one.
 */
export const caughtAt = (label: ScenarioLabel, inc: { criticalAt: number | null; detectedAt: number; flaggedAt?: number }): number | null =>
  label === 'tenant_spike' ? (inc.flaggedAt ?? inc.detectedAt) : inc.criticalAt;

function classify(s: Scenario, all: ReplayResult['incidents']): Pick<ScenarioOutcome, 'delayMin' | 'incidents'> {
  const targets = new Set(s.targets.map((t) => entityKey(t.kind, t.id)));
  const incidents = all.map((inc): IncidentSummary => {
    const onTarget = targets.has(entityKey(inc.kind, inc.entityId)) && s.attackStart !== null && (inc.criticalAt ?? inc.detectedAt) >= s.attackStart;
    const verdict = !onTarget ? 'false_positive' : inc.pattern === s.label ? 'true_positive' : 'cross_labelled';
    return { pattern: inc.pattern, kind: inc.kind, id: inc.entityId, criticalAt: inc.criticalAt, verdict, explanation: inc.explanation };
  });
  const delays = all
    .map((inc, i) => (incidents[i]!.verdict === 'true_positive' ? caughtAt(s.label, inc) : null))
    .filter((at): at is number => at !== null)
    .map((at) => (at - s.attackStart!) / MIN);
  return { delayMin: delays.length > 0 ? Math.min(...delays) : null, incidents };
}

export interface ReportRow {
  pattern: Pattern;
  attacks: number;
  detected: number;
  recall: number;
  meanDelayMin: number | null;
  maxDelayMin: number | null;
  criticalIncidents: number;
  truePositives: number;
  crossLabelled: number;
  falsePositives: number;
  /** Strict: right pattern on an attacked entity / all critical incidents of the pattern. */
  precision: number | null;
  /** Lenient: critical incidents on an attacked entity (any pattern name) / all of the pattern. */
  entityPrecision: number | null;
  /** Incidents that stayed warnings, on entities not under attack (reported as noise). */
  noiseWarnings: number;
}

export interface TrapRow {
  scenario: string;
  criticals: number;
  warnings: number;
}

const PATTERN_LIST: Pattern[] = ['burst', 'runaway_loop', 'slow_drip', 'tenant_spike'];

/** Per-pattern precision / recall / detection delay (critical incidents), and per-trap criticals and warnings. */
export function scenarioReport(outcomes: ScenarioOutcome[] = scenarios().map((s) => runScenario(s))): { rows: ReportRow[]; traps: TrapRow[]; outcomes: ScenarioOutcome[] } {
  const rows = PATTERN_LIST.map((pattern): ReportRow => {
    const attacks = outcomes.filter((o) => o.scenario.label === pattern);
    const delays = attacks.map((o) => o.delayMin).filter((d): d is number => d !== null);
    const criticals = outcomes.flatMap((o) => o.incidents).filter((i) => i.pattern === pattern && i.criticalAt !== null);
    const count = (v: IncidentSummary['verdict']): number => criticals.filter((i) => i.verdict === v).length;
    const all = outcomes.flatMap((o) => o.incidents).filter((i) => i.pattern === pattern);
    return {
      pattern,
      attacks: attacks.length,
      detected: delays.length,
      recall: attacks.length > 0 ? delays.length / attacks.length : 0,
      meanDelayMin: delays.length > 0 ? delays.reduce((a, b) => a + b, 0) / delays.length : null,
      maxDelayMin: delays.length > 0 ? Math.max(...delays) : null,
      criticalIncidents: criticals.length,
      truePositives: count('true_positive'),
      crossLabelled: count('cross_labelled'),
      falsePositives: count('false_positive'),
      precision: criticals.length > 0 ? count('true_positive') / criticals.length : null,
      entityPrecision: criticals.length > 0 ? (count('true_positive') + count('cross_labelled')) / criticals.length : null,
      noiseWarnings: all.filter((i) => i.criticalAt === null && i.verdict === 'false_positive').length,
    };
  });
  const traps = outcomes
    .filter((o) => o.scenario.label === 'trap')
    .map((o) => ({
      scenario: o.scenario.name,
      criticals: o.result.incidents.filter((i) => i.criticalAt !== null).length,
      warnings: o.result.incidents.filter((i) => i.criticalAt === null).length,
    }));
  return { rows, traps, outcomes };
}

/** Classifies incidents observed elsewhere (e.g. from the incidents API) the way `runScenario` does. */
export function outcomeOf(s: Scenario, incidents: ReplayResult['incidents']): ScenarioOutcome {
  return { scenario: s, result: { incidents, findings: [] }, ...classify(s, incidents) };
}
