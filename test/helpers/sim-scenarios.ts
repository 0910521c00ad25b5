// The labelled scenarios: one attack per pattern (two for burst) and false-positive traps, as data over the
// traffic model (sim-model.ts).
import { DAY, EVAL_DAY, HOUR, MIN, T0, between, constant, human, keyLeaves, mix, mulberry32, type Leaf, type Scenario } from './sim-model.ts';

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
