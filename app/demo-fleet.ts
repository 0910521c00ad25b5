import type { Attributes, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const HOUR = 3_600_000;

/**
 * The demo's fleet: a few services' API keys on a small model, each with its usual call size. Ordinary traffic
 * stays under the detector's spend floor ($0.05 a minute per key and per tenant), as small steady usage does.
 */
export const FLEET = [
  { key: 'demo-support-bot', tenant: 'acme', model: 'gpt-4o-mini', input: 600, output: 150 },
  { key: 'demo-search', tenant: 'acme', model: 'gpt-4o-mini', input: 1_000, output: 100 },
  { key: 'demo-summarizer', tenant: 'globex', model: 'gpt-4o-mini', input: 1_500, output: 250 },
  { key: 'demo-coder', tenant: 'globex', model: 'gpt-4o-mini', input: 1_200, output: 250 },
  { key: 'demo-translator', tenant: 'initech', model: 'gpt-4o-mini', input: 400, output: 400 },
] as const;

type Member = { key: string; tenant: string; model: string; input: number; output: number };

/** The key the attacker found in a public repository (the summarizer's), and what they run with it: long gpt-4o calls (~$0.50 each). */
export const LEAKED = FLEET[2];
const ATTACK_CALL: Member = { ...LEAKED, model: 'gpt-4o', input: 120_000, output: 20_000 };

/**
 * A real OpenTelemetry SDK pipeline (BatchSpanProcessor + OTLP/HTTP protobuf exporter), exactly what an
 * instrumented service runs: the demo's usage reaches tollkeeper the way production usage does.
 */
export function createFleet(otlpUrl: string, headers: Record<string, string> = {}) {
  const exporter = new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces`, headers });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'tollkeeper-demo' }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 200, maxExportBatchSize: 512, maxQueueSize: 8192 })],
  });
  const tracer: Tracer = provider.getTracer('tollkeeper-demo', '1.0.0');

  /** One chat call span as an OTel GenAI instrumentation records it; `endMs` back-dates it (history). */
  function call(member: Member, scale: number, endMs?: number): void {
    const attributes: Attributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': member.model,
      'gen_ai.usage.input_tokens': Math.round(member.input * scale),
      'gen_ai.usage.output_tokens': Math.round(member.output * scale),
      'tollkeeper.api_key.id': member.key,
      'tenant.id': member.tenant,
    };
    if (endMs === undefined) {
      tracer.startSpan(`chat ${member.model}`, { attributes }).end();
      return;
    }
    tracer.startSpan(`chat ${member.model}`, { attributes, startTime: endMs - 1500 }).end(endMs);
  }

  return {
    /**
     * A week of ordinary usage for every fleet member, back-dated (four calls an hour, a little busier in the
     * daytime), so the detector knows what "usual" is for each key. Returns the number of spans.
     */
    async seedHistory(now: number, days: number): Promise<number> {
      let spans = 0;
      for (let h = days * 24; h >= 1; h--) {
        const hourStart = Math.floor((now - h * HOUR) / HOUR) * HOUR;
        const busy = new Date(hourStart).getUTCHours() >= 8 && new Date(hourStart).getUTCHours() < 20 ? 1.3 : 0.8;
        for (const m of FLEET) {
          for (let i = 0; i < 4; i++) {
            call(m, busy, hourStart + i * 900_000 + 60_000);
            spans++;
          }
        }
        // Hand spans to the exporter in batches it can hold (its queue is bounded).
        if (spans % 2_000 < FLEET.length * 4) await provider.forceFlush();
      }
      await provider.forceFlush();
      return spans;
    },
    /** One ordinary call of each member, now. */
    normalRound(): void {
      for (const m of FLEET) call(m, 1);
    },
    /** The attack: `calls` very large calls on the leaked key (long prompts, long answers), now. */
    attack(calls: number): void {
      for (let i = 0; i < calls; i++) call(ATTACK_CALL, 1);
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
export type Fleet = ReturnType<typeof createFleet>;
