// Decode throughput of OTLP trace requests: `npx tsx bench/otlp-decode.ts`.
// One request of 1000 typical GenAI spans (~16 attributes each), decoded repeatedly on one core.
import { SpanKind } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { performance } from 'node:perf_hooks';
import { decodeJson, decodeProtobuf } from '../collector/otlp/index.ts';
import type { DecodeResult } from '../collector/otlp/index.ts';

const SPANS = 1000;
const ROUNDS = 5;

function genAiSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'support-bot', 'service.version': '2.3.1', 'deployment.environment.name': 'prod' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-openai', '0.5.0');
  for (let i = 0; i < SPANS; i++) {
    const span = tracer.startSpan('chat gpt-4o-mini', {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
        'gen_ai.response.id': `chatcmpl-${i.toString(36)}AbCdEfGhIjKlMnOp`,
        'gen_ai.request.temperature': 0.7,
        'gen_ai.request.max_tokens': 1024,
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.usage.input_tokens': 1500 + (i % 300),
        'gen_ai.usage.output_tokens': 200 + (i % 50),
        'gen_ai.usage.cache_read.input_tokens': 1024,
        'gen_ai.usage.reasoning.output_tokens': 0,
        'gen_ai.conversation.id': `conv-${i % 97}`,
        'user.id': `user-${i % 1000}`,
        'tollkeeper.api_key.id': `k-${i % 50}`,
        'server.address': 'api.openai.com',
      },
    });
    span.end();
  }
  return exporter.getFinishedSpans();
}

/** Spans per second of one ~1 s round. */
function round(decode: () => DecodeResult): number {
  let runs = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 1000) {
    decode();
    runs++;
    elapsed = performance.now() - start;
  }
  return (runs * SPANS) / (elapsed / 1000);
}

// Rounds are interleaved and the best and median reported: this machine is shared, so the
// best round is the closest to the decoder's own cost.
function measure(cases: { name: string; bytes: number; decode: () => DecodeResult }[]): void {
  const rates = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (const c of cases) {
    const first = c.decode();
    if (!first.ok || first.spans.length !== SPANS) throw new Error(`${c.name}: ${first.ok ? first.spans.length : first.error}`);
    for (let i = 0; i < 50; i++) c.decode(); // warm up the JIT
  }
  for (let r = 0; r < ROUNDS; r++) for (const c of cases) rates.get(c.name)!.push(round(c.decode));
  for (const c of cases) {
    const sorted = rates.get(c.name)!.sort((a, b) => b - a);
    const best = sorted[0]!;
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9);
    console.log(`${c.name.padEnd(13)} best ${fmt(best)} spans/s (${((best * c.bytes) / SPANS / 1e6).toFixed(0)} MB/s)  median ${fmt(median)}  (${(c.bytes / SPANS).toFixed(0)} B/span)`);
  }
}

const spans = genAiSpans();
const pb = ProtobufTraceSerializer.serializeRequest(spans)!;
const json = JsonTraceSerializer.serializeRequest(spans)!;
console.log(`node ${process.version}, ${SPANS} spans per request, 16 span + 3 resource attributes, ${ROUNDS} rounds of 1 s`);
// Baseline: JSON.parse alone on a fresh string, as a server gets it. (Parsing one string over
// and over is 2-3x faster than parsing fresh ones, so every case here starts from bytes.)
const parsedOnly = decodeJson(json);
measure([
  { name: 'protobuf', bytes: pb.length, decode: () => decodeProtobuf(pb) },
  { name: 'json', bytes: json.length, decode: () => decodeJson(json) },
  { name: 'JSON.parse', bytes: json.length, decode: () => {
      JSON.parse(Buffer.from(json).toString('latin1'));
      return parsedOnly;
    },
  },
]);
