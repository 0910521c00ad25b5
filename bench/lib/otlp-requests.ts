// Realistic GenAI OTLP trace requests, serialized once by the OTel SDK's own serializers and then stamped
// with fresh trace/span ids and timestamps per request, so every request is unique (dedup keeps them all)
// without holding hundreds of megabytes of pre-built bodies.
import { SpanKind } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

export type Format = 'protobuf' | 'json';

export const API_KEYS = 1000;
export const TENANTS = 50;

const MODELS = [
  { provider: 'openai', request: 'gpt-4o', response: 'gpt-4o-2024-08-06' },
  { provider: 'anthropic', request: 'claude-3-5-sonnet', response: 'claude-3-5-sonnet-20241022' },
] as const;

/** Byte offsets inside a serialized template where the per-request values go. */
interface Template {
  body: Buffer;
  idOffsets: number[];
  timeOffsets: number[];
  times: bigint[];
}

function makeSpans(spans: number, variant: number, baseMs: number) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `chat-api-${variant % 4}`, 'service.version': '2.3.1', 'deployment.environment.name': 'prod' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-openai', '0.5.0');
  for (let i = 0; i < spans; i++) {
    const n = variant * spans + i;
    const m = MODELS[n % MODELS.length]!;
    const key = (n * 7919) % API_KEYS;
    // Distinct, odd start/end times per span, so each appears exactly once in the body.
    const end = baseMs - 1000 + i * 0.001 + 0.000_000_7;
    const span = tracer.startSpan(`chat ${m.request}`, {
      kind: SpanKind.CLIENT,
      startTime: end - 800 - (i % 997) - 0.000_000_3,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': m.provider,
        'gen_ai.request.model': m.request,
        'gen_ai.response.model': m.response,
        'gen_ai.response.id': `chatcmpl-${n.toString(36)}AbCdEfGhIjKlMnOp`,
        'gen_ai.request.temperature': 0.7,
        'gen_ai.request.max_tokens': 1024,
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.usage.input_tokens': 1500 + (n % 300),
        'gen_ai.usage.output_tokens': 200 + (n % 50),
        'gen_ai.usage.cache_read.input_tokens': n % 3 === 0 ? 1024 : 0,
        'gen_ai.conversation.id': `conv-${n % 997}`,
        'user.id': `user-${n % 5000}`,
        'tollkeeper.api_key.id': `key-${key.toString().padStart(4, '0')}`,
        'tenant.id': `tenant-${key % TENANTS}`,
        'server.address': m.provider === 'openai' ? 'api.openai.com' : 'api.anthropic.com',
      },
    });
    span.end(end);
  }
  return exporter.getFinishedSpans();
}

function nanos(t: [number, number]): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/** Every offset of `needle` in `hay`; the template builder demands exactly one per value. */
function offsetsOf(hay: Buffer, needle: Buffer): number[] {
  const out: number[] = [];
  for (let at = hay.indexOf(needle); at !== -1; at = hay.indexOf(needle, at + 1)) out.push(at);
  return out;
}

function only(hay: Buffer, needle: Buffer, what: string): number {
  const found = offsetsOf(hay, needle);
  if (found.length !== 1) throw new Error(`template: ${what} found ${found.length} times`);
  return found[0]!;
}

function buildTemplate(format: Format, spans: number, variant: number, baseMs: number): Template {
  const finished = makeSpans(spans, variant, baseMs);
  const serialized = format === 'protobuf' ? ProtobufTraceSerializer.serializeRequest(finished) : JsonTraceSerializer.serializeRequest(finished);
  if (!serialized) throw new Error('template: serializer returned nothing');
  const body = Buffer.from(serialized);
  const idOffsets: number[] = [];
  const timeOffsets: number[] = [];
  const times: bigint[] = [];
  for (const s of finished) {
    const ctx = s.spanContext();
    for (const [hex, what] of [[ctx.traceId, 'trace id'], [ctx.spanId, 'span id']] as const) {
      idOffsets.push(only(body, format === 'protobuf' ? Buffer.from(hex, 'hex') : Buffer.from(`"${hex}"`), what) + (format === 'json' ? 1 : 0));
    }
    for (const t of [nanos(s.startTime), nanos(s.endTime)]) {
      const needle = format === 'protobuf' ? Buffer.alloc(8) : Buffer.from(`"${t}"`);
      if (format === 'protobuf') needle.writeBigUInt64LE(t);
      timeOffsets.push(only(body, needle, `time ${t}`) + (format === 'json' ? 1 : 0));
      times.push(t);
    }
  }
  return { body, idOffsets, timeOffsets, times };
}

/**
 * Builds `variants` templates of `spans` spans each (together they cover every API key) and returns a
 * function that makes request number `seq` (unique for seq < 2^32): ids get `seq` in their first 4 bytes,
 * timestamps are shifted so the spans end just before `nowMs`.
 */
export function requestFactory(format: Format, spans: number, baseMs = Date.now()) {
  const variants = Math.max(1, Math.ceil((2 * API_KEYS) / spans));
  const templates = Array.from({ length: variants }, (_, v) => buildTemplate(format, spans, v, baseMs));
  const prefix = Buffer.alloc(4);
  return {
    bytesPerRequest: templates[0]!.body.length,
    make(seq: number, nowMs: number): Buffer {
      const t = templates[seq % variants]!;
      const out = Buffer.from(t.body);
      prefix.writeUInt32BE(seq >>> 0);
      const hex = prefix.toString('hex');
      for (const at of t.idOffsets) {
        if (format === 'protobuf') prefix.copy(out, at);
        else out.write(hex, at, 'latin1');
      }
      const shift = BigInt(Math.round(nowMs - baseMs)) * 1_000_000n;
      for (let i = 0; i < t.timeOffsets.length; i++) {
        const v = t.times[i]! + shift;
        if (format === 'protobuf') out.writeBigUInt64LE(v, t.timeOffsets[i]);
        else out.write(v.toString(), t.timeOffsets[i]!, 'latin1');
      }
      return out;
    },
  };
}

export const CONTENT_TYPE: Record<Format, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };
