/**
 * The traffic simulator end to end. `scenarioSpans` turns a scenario into real OpenTelemetry spans: one `chat` span
 * per request and one `execute_tool` span per tool call, spread evenly over the minute (or, for older history, the
 * hour) whose totals the simulator drew, carrying the exact cost (`gen_ai.usage.cost`) and tokens; `createSpanSender`
 * sends them through the real OTel SDK (BasicTracerProvider + BatchSpanProcessor + OTLP/protobuf exporter), back-dated
 * with explicit start and end times. `e2eScenarios` are the ten labelled stories at a scale where that is affordable.
 * Longer than the house ≲200 lines because the scenarios are data.
 */
import type { Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  DAY,
  EVAL_DAY,
  HOUR,
  MIN,
  between,
  constant,
  drawHour,
  human,
  key,
  keyLeaves,
  mix,
  mulberry32,
  scenarioMinutes,
  type Leaf,
  type Scenario,
  type SimIdentity,
  type Totals,
} from './traffic-sim.ts';

export interface SimSpan {
  /** End time (epoch ms): the event time the collector uses. */
  end: number;
  op: 'chat' | 'execute_tool';
  identity: SimIdentity;
  cost: number;
  inputTokens: number;
  outputTokens: number;
}

const LATENCY_MS = 700;

/** Splits an integer total into `n` near-equal integer parts that add up exactly. */
function split(total: number, n: number): number[] {
  const base = Math.floor(total / n);
  const extra = total - base * n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

/** The spans of one leaf's totals over [start, start + lengthMs): requests and tool calls spread evenly, sums exact. */
export function spansOf(identity: SimIdentity, totals: Totals, start: number, lengthMs: number): SimSpan[] {
  const out: SimSpan[] = [];
  const n = Math.round(totals.requests);
  const tokens = split(Math.round(totals.tokens), Math.max(1, n));
  for (let i = 0; i < n; i++) {
    const t = tokens[i]!;
    const input = Math.round(t * 0.8);
    // Offsets stay strictly inside the interval, so a span never lands in the next minute's rollup.
    out.push({ end: start + Math.floor(((i + 0.5) * lengthMs) / n), op: 'chat', identity, cost: totals.cost_usd / n, inputTokens: input, outputTokens: t - input });
  }
  const m = Math.round(totals.tool_calls);
  for (let i = 0; i < m; i++) out.push({ end: start + Math.floor(((i + 0.75) * lengthMs) / (m + 0.5)), op: 'execute_tool', identity, cost: 0, inputTokens: 0, outputTokens: 0 });
  return out;
}

/**
 * Every span of a scenario ending in [from, to), sorted by end time: hourly totals (cheap, as the detector's history
 * reads them) before `minutesFrom`, per-minute totals (what the detector's per-minute series sees) from then on.
 */
export function scenarioSpans(s: Scenario, from: number, minutesFrom: number, to: number): SimSpan[] {
  const out: SimSpan[] = [];
  for (let h = from; h < minutesFrom; h += HOUR) {
    s.leaves.forEach((leaf, li) => {
      const totals = drawHour(s.seed, li, leaf, h);
      if (totals.requests > 0 || totals.tool_calls > 0) out.push(...spansOf(leaf.identity, totals, h, HOUR));
    });
  }
  for (const m of scenarioMinutes(s, minutesFrom, to)) out.push(...spansOf(m.identity, m.totals, m.minuteStart, 60_000));
  return out.sort((a, b) => a.end - b.end);
}

export interface EntityTotals {
  requests: number;
  tools: number;
  tokens: number;
  cost: number;
}

/** What the per-minute rollup must hold per entity (`kind:id`) once these spans are stored: identity mapping, exact cost. */
export function entityTotals(spans: readonly SimSpan[]): Map<string, EntityTotals> {
  const out = new Map<string, EntityTotals>();
  for (const sp of spans) {
    const { api_key, tenant, agent, conversation } = sp.identity;
    const keys = [`api_key:${api_key}`, `tenant:${tenant}`, ...(agent ? [`agent:${agent}`] : []), ...(conversation ? [`conversation:${conversation}`] : [])];
    for (const k of keys) {
      const t = out.get(k) ?? { requests: 0, tools: 0, tokens: 0, cost: 0 };
      if (sp.op === 'chat') t.requests++;
      else t.tools++;
      t.tokens += sp.inputTokens + sp.outputTokens;
      t.cost += sp.cost;
      out.set(k, t);
    }
  }
  return out;
}

function attributesOf(sp: SimSpan): Attributes {
  const id = sp.identity;
  const a: Attributes = {
    'gen_ai.operation.name': sp.op,
    'gen_ai.provider.name': 'openai',
    'tollkeeper.api_key.id': id.api_key,
    'tenant.id': id.tenant,
  };
  if (id.agent !== undefined) a['gen_ai.agent.name'] = id.agent;
  if (id.conversation !== undefined) a['gen_ai.conversation.id'] = id.conversation;
  if (sp.op === 'chat') {
    a['gen_ai.request.model'] = 'gpt-4o-mini';
    a['gen_ai.usage.input_tokens'] = sp.inputTokens;
    a['gen_ai.usage.output_tokens'] = sp.outputTokens;
    a['gen_ai.usage.cost'] = sp.cost;
  } else {
    a['gen_ai.tool.name'] = 'web_search';
  }
  return a;
}

/** Queue size per flush: the BatchSpanProcessor drops spans beyond its queue, so `send` flushes in chunks. */
const CHUNK = 8192;

/** A real OTel SDK pipeline to the collector under test; `send` resolves once every span was exported (and stored). */
export function createSpanSender(otlpUrl: string, service = 'sim-gateway') {
  const exporter = new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces`, timeoutMillis: 120_000 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    // Exports happen on `forceFlush` (the scheduled delay is longer than any test step), so each step is deterministic.
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: CHUNK, maxExportBatchSize: 2048, scheduledDelayMillis: 600_000, exportTimeoutMillis: 120_000 })],
  });
  const tracer = provider.getTracer('tollkeeper-traffic-sim', '1.0.0');
  let sent = 0;
  return {
    /** Spans handed to the SDK so far. */
    get sent(): number {
      return sent;
    },
    async send(spans: readonly SimSpan[]): Promise<void> {
      for (let i = 0; i < spans.length; i += CHUNK) {
        for (const sp of spans.slice(i, i + CHUNK)) {
          const span = tracer.startSpan(sp.op === 'chat' ? 'chat gpt-4o-mini' : 'execute_tool web_search', { root: true, startTime: sp.end - LATENCY_MS, attributes: attributesOf(sp) });
          span.end(sp.end);
        }
        await provider.forceFlush();
      }
      sent += spans.length;
    },
    shutdown: () => provider.shutdown(),
  };
}
export type SpanSender = ReturnType<typeof createSpanSender>;

// ---------- the labelled stories at end-to-end scale ----------
//
// `scenarios()` draws up to a few million requests of history per story; through the real pipeline (OTel SDK →
// collector → ClickHouse, a few thousand spans a second here) that would be minutes each. Since one span is one
// request (so request-count baselines stay real), the e2e suite runs the same stories, with the same names, labels
// and targets, at a smaller scale: fewer and quieter keys, some active only in working hours, attacks at full strength
// where the pattern allows, and costs raised where a trap must clear the cost floor. Quiet traffic is also protected by
// counting noise, so the suite reports whether each trap still bites at this scale (pure detector, mechanism off).

/** An end-to-end scenario: where its history starts (the spans go back that far) and the config it needs. */
export interface E2eScenario extends Scenario {
  historyFrom: number;
  /** Extra `tollkeeper.yaml` lines (e.g. the daily quota whose reset the detector must know about). */
  yaml: string;
}

export const E2E_HISTORY_DAYS = 21;

/** Traffic only between UTC hours [from, to) of each day (a tenant active in working hours). */
export const during = (from: number, to: number, r: (t: number) => number) => (t: number): number => {
  const h = (t % DAY) / HOUR;
  return h >= from && h < to ? r(t) : 0;
};

const attackAt = (h: number): number => EVAL_DAY + h * HOUR;

/** A job at hh:00 each day, starting 0–3 min late and running ±3 min (as in `scenarios()`). */
const dailyAt = (hour: number, minutes: number, rate: number, seed: number) => (t: number): number => {
  const day = Math.floor(t / DAY);
  const start = day * DAY + hour * HOUR + (mix(seed, day) % 4) * MIN;
  return t >= start && t < start + (minutes + (mix(seed, day, 5) % 7) - 3) * MIN ? rate : 0;
};

interface Spec extends Partial<Omit<Scenario, 'name' | 'description' | 'seed' | 'leaves' | 'evalFrom' | 'evalTo'>> {
  name: string;
  description: string;
  seed: number;
  leaves: Leaf[];
  evalFrom: number;
  evalTo: number;
  historyDays?: number;
  yaml?: string;
}

/** Every leaf starts with the history the spans carry, so the pure and the e2e run see the same traffic. */
function e2e(o: Spec): E2eScenario {
  const historyFrom = EVAL_DAY - (o.historyDays ?? E2E_HISTORY_DAYS) * DAY;
  return {
    name: o.name,
    label: o.label ?? 'trap',
    description: o.description,
    seed: o.seed,
    leaves: o.leaves.map((l) => ({ ...l, rate: between(historyFrom, Infinity, l.rate) })),
    scopes: o.scopes ?? ['api_key', 'tenant', 'agent'],
    attackStart: o.attackStart ?? null,
    targets: o.targets ?? [],
    boundMin: o.boundMin ?? null,
    evalFrom: o.evalFrom,
    evalTo: o.evalTo,
    tickEveryMin: o.tickEveryMin ?? 1,
    historyFrom,
    yaml: o.yaml ?? '',
  };
}

function burstLeakedKey(): E2eScenario {
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

function newKeyHeavy(): E2eScenario {
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

function runawayAgent(): E2eScenario {
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

function slowDrip(): E2eScenario {
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

function tenantSpike(): E2eScenario {
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

function organicGrowth(): E2eScenario {
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

function batchJobs(): E2eScenario {
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

function periodReset(): E2eScenario {
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

function noise(): E2eScenario {
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

function singleExpensive(): E2eScenario {
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

/** The ten labelled stories at end-to-end scale (same names, labels and targets as `scenarios()`). */
export function e2eScenarios(): E2eScenario[] {
  return [burstLeakedKey(), newKeyHeavy(), runawayAgent(), slowDrip(), tenantSpike(), organicGrowth(), batchJobs(), periodReset(), noise(), singleExpensive()];
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
