// The five attack stories at end-to-end scale (burst, new key, runaway loop, slow drip, tenant spike).
import { HOUR, MIN, between, constant, human, key, keyLeaves, mulberry32, type Leaf } from './traffic-sim.ts';
import { attackAt, during, e2e, type E2eScenario } from './sim-e2e.ts';

export function burstLeakedKey(): E2eScenario {
  const at = attackAt(14);
  return e2e({
    name: 'burst: leaked key floods an expensive model',
    label: 'burst',
    description: '0.1 req/min key suddenly makes 120 req/min at $0.06',
    seed: 101,
    leaves: [
      ...keyLeaves(101, 't-acme', 3, { min: 0.03, max: 0.15, cost: [0.004, 0.03] }),
      ...keyLeaves(102, 't-beta', 2, { min: 0.03, max: 0.15, cost: [0.004, 0.03], tz: -6 }),
      key('t-acme', 'k-acme-victim', human(0.1), 0.01),
      key('t-acme', 'k-acme-victim', between(at, at + 6 * HOUR, constant(120)), 0.06),
    ],
    attackStart: at,
    targets: [{ kind: 'api_key', id: 'k-acme-victim' }, { kind: 'tenant', id: 't-acme' }],
    boundMin: 3,
    evalFrom: at - 15 * MIN,
    evalTo: at + 20 * MIN,
  });
}

export function newKeyHeavy(): E2eScenario {
  const at = attackAt(15);
  return e2e({
    name: 'burst: brand-new key spends heavily',
    label: 'burst',
    description: 'a key with no history starts at 60 req/min at $0.05; another new key starts with normal traffic',
    seed: 202,
    leaves: [
      ...keyLeaves(201, 't-one', 4, { min: 0.03, max: 0.15, cost: [0.003, 0.03] }),
      ...keyLeaves(202, 't-two', 3, { min: 0.03, max: 0.15, cost: [0.003, 0.03] }),
      key('t-two', 'k-new', between(at, Infinity, constant(60)), 0.05),
      key('t-one', 'k-fresh', between(at - 20 * MIN, Infinity, human(2)), 0.01),
    ],
    attackStart: at,
    targets: [{ kind: 'api_key', id: 'k-new' }, { kind: 'tenant', id: 't-two' }],
    boundMin: 3,
    evalFrom: at - 15 * MIN,
    evalTo: at + 20 * MIN,
  });
}

export function runawayAgent(): E2eScenario {
  const at = attackAt(15);
  const bots = { api_key: 'k-bots-1', tenant: 't-bots', agent: 'a-research' };
  const r = mulberry32(303);
  // Today's conversations carry what the agent usually does (~0.45 req/min at this hour), so only the loop stands out.
  const conversations: Leaf[] = Array.from({ length: 24 }, (_, i) => {
    const start = at - 6 * HOUR + i * 15 * MIN;
    const duration = (3 + Math.floor(r() * 22)) * MIN;
    return { identity: { ...bots, conversation: `c-${i}` }, rate: between(start, start + duration, constant(0.2 + 0.6 * r())), costPerRequest: 0.015, tokensPerRequest: 2000, toolCallsPerRequest: 0.5 + 0.7 * r() };
  });
  return e2e({
    name: 'runaway_loop: an agent conversation stuck in a tool loop',
    label: 'runaway_loop',
    description: 'one conversation calls the LLM and a tool 20×/min, steadily, for an hour (peers: 0.2–0.8/min)',
    seed: 303,
    leaves: [
      // Earlier days' conversations, without their ids: the agent's history.
      { identity: bots, rate: between(0, at - 6 * HOUR, during(8, 20, human(0.5))), costPerRequest: 0.015, tokensPerRequest: 2000, toolCallsPerRequest: 0.85 },
      ...conversations,
      { identity: { api_key: 'k-bots-2', tenant: 't-bots', agent: 'a-support' }, rate: during(8, 20, human(0.15)), costPerRequest: 0.01, tokensPerRequest: 1500, toolCallsPerRequest: 0.5 },
      ...keyLeaves(303, 't-bots', 2, { min: 0.03, max: 0.1, cost: [0.005, 0.02] }),
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
    boundMin: 20,
    evalFrom: at - 10 * MIN,
    evalTo: at + 25 * MIN,
  });
}

export function slowDrip(): E2eScenario {
  const at = attackAt(9);
  const usual = during(6, 21, human(1));
  return e2e({
    name: 'slow_drip: a key quietly runs at 3× for hours',
    label: 'slow_drip',
    description: 'extra traffic at twice the key’s own seasonal rate (1 req/min at peak, 06:00–21:00), from 09:00 for 6 hours',
    seed: 404,
    leaves: [
      key('t-drip', 'k-drip', usual, 0.03),
      key('t-drip', 'k-drip', between(at, at + 6 * HOUR, (t) => 2 * usual(t)), 0.03),
      ...keyLeaves(404, 't-drip', 2, { min: 0.03, max: 0.1, cost: [0.005, 0.03] }),
      ...keyLeaves(405, 't-other', 2, { min: 0.03, max: 0.1, cost: [0.005, 0.03] }),
    ],
    attackStart: at,
    targets: [{ kind: 'api_key', id: 'k-drip' }, { kind: 'tenant', id: 't-drip' }],
    boundMin: 180,
    evalFrom: at - 10 * MIN,
    evalTo: at + 190 * MIN,
    tickEveryMin: 2,
    // The detector reads 28 hourly days and counts those before an entity's first use as idle hours (histories are
    // zero-filled), which inflates the spread: with 21 days of history this drip only ever reaches warning.
    historyDays: 28,
  });
}

export function tenantSpike(): E2eScenario {
  const at = attackAt(16);
  const keys = keyLeaves(505, 't-spread', 8, { min: 0.25, max: 0.45, cost: [0.008, 0.012] }).map((k) => ({ ...k, rate: during(13, 19, k.rate) }));
  return e2e({
    name: 'tenant_spike: every key of a tenant goes up a little',
    label: 'tenant_spike',
    description: '8 keys (13:00–19:00) each at 6× (each still below the cost floor), tenant total 6×',
    seed: 505,
    leaves: [
      ...keys,
      ...keys.map((k) => ({ ...k, rate: between(at, Infinity, (t: number) => 5 * k.rate(t)) })),
      ...keyLeaves(506, 't-calm', 3, { min: 0.03, max: 0.1, cost: [0.005, 0.03] }),
    ],
    attackStart: at,
    targets: [{ kind: 'tenant', id: 't-spread' }, ...keys.map((k) => ({ kind: 'api_key' as const, id: k.identity.api_key }))],
    boundMin: 6,
    evalFrom: at - 10 * MIN,
    evalTo: at + 20 * MIN,
  });
}
