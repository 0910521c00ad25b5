/**
 * The traffic simulator end to end. `scenarioSpans` turns a scenario into real OpenTelemetry spans: one `chat` span
 * per request and one `execute_tool` span per tool call, spread evenly over the minute (or, for older history, the
 * hour) whose totals the simulator drew, carrying the exact cost (`gen_ai.usage.cost`) and tokens; `createSpanSender`
 * sends them through the real OTel SDK (BasicTracerProvider + BatchSpanProcessor + OTLP/protobuf exporter), back-dated
 * with explicit start and end times. `e2eScenarios` are the ten labelled stories at a scale where that is affordable
 * (`sim-e2e*.ts`).
 */
import type { Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { HOUR, drawHour, scenarioMinutes, type Scenario, type SimIdentity, type Totals } from './traffic-sim.ts';
import { burstLeakedKey, newKeyHeavy, runawayAgent, slowDrip, tenantSpike } from './sim-e2e-attacks.ts';
import { batchJobs, noise, organicGrowth, periodReset, singleExpensive } from './sim-e2e-traps.ts';
import type { E2eScenario } from './sim-e2e.ts';

export { e2eBusyConversation } from './sim-e2e-traps.ts';
export type { E2eScenario } from './sim-e2e.ts';

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

/** The ten labelled stories at end-to-end scale (same names, labels and targets as `scenarios()`). */
export function e2eScenarios(): E2eScenario[] {
  return [burstLeakedKey(), newKeyHeavy(), runawayAgent(), slowDrip(), tenantSpike(), organicGrowth(), batchJobs(), periodReset(), noise(), singleExpensive()];
}
