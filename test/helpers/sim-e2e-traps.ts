// The traps at end-to-end scale (traffic that must not be flagged), and one busy conversation beside the ten stories.
import {
  DAY,
  EVAL_DAY,
  HOUR,
  MIN,
  between,
  constant,
  human,
  key,
  keyLeaves,
  mix,
  mulberry32,
  type Leaf,
} from './traffic-sim.ts';
import { attackAt, dailyAt, during, e2e, E2E_HISTORY_DAYS, type E2eScenario } from './sim-e2e.ts';

export function organicGrowth(): E2eScenario {
  const from = EVAL_DAY - E2E_HISTORY_DAYS * DAY;
  const grow = (base: number) => (t: number): number => human(base)(t) * Math.pow(1.1, (t - from) / DAY);
  const r = mulberry32(606);
  return e2e({
    name: 'trap: organic growth',
    description: '+10 %/day compounding for 3 weeks (7× overall), keys above the cost floor',
    seed: 606,
    leaves: Array.from({ length: 5 }, (_, i) => key('t-grow', `k-grow-${i}`, grow(0.01 + 0.05 * r()), 0.2 + 0.3 * r())),
    evalFrom: attackAt(12),
    evalTo: attackAt(16),
    tickEveryMin: 5,
  });
}

export function batchJobs(): E2eScenario {
  return e2e({
    name: 'trap: recurring batch jobs',
    description: 'nightly 02:00 job at 10 req/min for ~25 min, and a Monday 03:00 job (hour-of-week)',
    seed: 707,
    leaves: [
      key('t-batch', 'k-nightly', human(0.1), 0.01),
      key('t-batch', 'k-nightly', dailyAt(2, 25, 10, 1), 0.08),
      key('t-batch', 'k-weekly', human(0.05), 0.01),
      key('t-batch', 'k-weekly', (t) => ((Math.floor(t / DAY) + 3) % 7 === 0 ? dailyAt(3, 20, 20, 2)(t) : 0), 0.05),
      ...keyLeaves(707, 't-batch', 2, { min: 0.03, max: 0.1, cost: [0.005, 0.02] }),
    ],
    evalFrom: EVAL_DAY + 115 * MIN,
    evalTo: EVAL_DAY + 215 * MIN,
  });
}

export function periodReset(): E2eScenario {
  const leaves: Leaf[] = [];
  for (let i = 0; i < 4; i++) {
    const normal = human(0.25);
    // Each day the free-tier key exhausts its daily quota between 17:00 and 23:00 and is blocked until midnight.
    const blockedFrom = (t: number): number => Math.floor(t / DAY) * DAY + (17 + (mix(808, i, Math.floor(t / DAY)) % 6)) * HOUR;
    const rate = (t: number): number => (t >= blockedFrom(t) ? 0 : normal(t));
    // Queued jobs and retrying clients come back at once: 6× the daytime rate, decaying over a few minutes.
    const catchUp = (t: number): number => {
      const since = t - Math.floor(t / DAY) * DAY;
      return since < 20 * MIN ? 1.5 * Math.exp(-since / (4 * MIN)) : 0;
    };
    leaves.push(key('t-free', `k-free-${i}`, rate, 0.1), key('t-free', `k-free-${i}`, catchUp, 0.1));
  }
  return e2e({
    name: 'trap: quota period reset',
    description: '4 free keys blocked after exhausting their daily quota resume at 00:00 with a catch-up surge',
    seed: 808,
    leaves,
    evalFrom: EVAL_DAY - 15 * MIN,
    evalTo: EVAL_DAY + 30 * MIN,
    // The detector learns where periods start from the quota policies (this one never fires).
    yaml: 'policies: [{ name: free-daily, scope: api_key, period: { calendar: day, timezone: UTC }, limits: { cost_usd: 1000000 } }]',
  });
}

export function noise(): E2eScenario {
  return e2e({
    name: 'trap: normal noise',
    description: '6 keys from 0.02 to 0.3 req/min in 3 tenants/time zones, agents with tool calls, over a working day (09:00–17:00)',
    seed: 909,
    leaves: [
      ...keyLeaves(901, 't-eu', 2, { min: 0.02, max: 0.3, cost: [0.01, 0.2], tz: 1 }),
      ...keyLeaves(902, 't-us', 2, { min: 0.02, max: 0.3, cost: [0.01, 0.2], tz: -6 }),
      ...keyLeaves(903, 't-ap', 2, { min: 0.02, max: 0.3, cost: [0.01, 0.2], tz: 8 }),
      { identity: { api_key: 'k-eu-agents', tenant: 't-eu', agent: 'a-planner' }, rate: human(0.08, 1), costPerRequest: 0.2, tokensPerRequest: 3000, toolCallsPerRequest: 1.5 },
      { identity: { api_key: 'k-us-agents', tenant: 't-us', agent: 'a-coder' }, rate: human(0.1, -6), costPerRequest: 0.3, tokensPerRequest: 4000, toolCallsPerRequest: 2 },
    ],
    evalFrom: attackAt(9),
    evalTo: attackAt(17),
    tickEveryMin: 8,
  });
}

export function singleExpensive(): E2eScenario {
  const one = (at: number) => between(at, at + MIN, constant(1));
  return e2e({
    name: 'trap: single expensive request',
    description: 'a key doing 1 request per 20 min makes one $0.04 request (under the floor), later one $6 request',
    seed: 1010,
    leaves: [
      key('t-quiet', 'k-quiet', human(0.05), 0.004),
      key('t-quiet', 'k-quiet', one(attackAt(11)), 0.04, { steady: true }),
      key('t-quiet', 'k-quiet', one(attackAt(11.5)), 6, { steady: true }),
      ...keyLeaves(1010, 't-quiet', 3, { min: 0.02, max: 0.2, cost: [0.005, 0.02] }),
    ],
    evalFrom: attackAt(10.8),
    evalTo: attackAt(11.85),
  });
}

/**
 * Not one of the ten stories: an ordinary conversation, busier than the others (4 req/min, not steady) at a time
 * when few others are active. The pure detector judges it against the conversations of the last 6 hours.
 */
export function e2eBusyConversation(): E2eScenario {
  const at = attackAt(15);
  const help = { api_key: 'k-help', tenant: 't-help', agent: 'a-helper' };
  const conversations: Leaf[] = Array.from({ length: 8 }, (_, i) => {
    const start = at - 6 * HOUR + i * 40 * MIN;
    return { identity: { ...help, conversation: `c-${i}` }, rate: between(start, start + 15 * MIN, constant(1.5)), costPerRequest: 0.03, tokensPerRequest: 3000, toolCallsPerRequest: 0.5 };
  });
  return e2e({
    name: 'trap: one busy conversation while few others are active',
    description: '8 conversations at 1.5 req/min over the last 6 h, then one at 4 req/min ($0.12/min) for 12 min',
    seed: 4242,
    leaves: [
      { identity: help, rate: between(0, at - 6 * HOUR, during(8, 20, human(0.3))), costPerRequest: 0.03, tokensPerRequest: 3000, toolCallsPerRequest: 0.5 },
      ...conversations,
      { identity: { ...help, conversation: 'c-busy' }, rate: between(at, at + 12 * MIN, constant(4)), costPerRequest: 0.03, tokensPerRequest: 3000, toolCallsPerRequest: 0.5 },
    ],
    scopes: ['api_key', 'tenant', 'agent', 'conversation'],
    evalFrom: at - 5 * MIN,
    evalTo: at + 15 * MIN,
  });
}
