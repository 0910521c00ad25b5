import { SpanKind, type Attributes, type HrTime } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** A span to put in an OTLP export body. Attribute values may be anything, nested objects and wrong types too. */
export interface TestSpan {
  traceId: string;
  spanId: string;
  name?: string;
  endMs?: number;
  attributes: Record<string, unknown>;
}

let seq = 0;
/** Ids no other span of this process uses: 32 + 16 lowercase hex digits. */
export function uniqueIds(): { traceId: string; spanId: string } {
  seq++;
  const tail = `${process.pid.toString(16)}f${seq.toString(16)}`;
  return { traceId: tail.padStart(32, 'c'), spanId: tail.padStart(16, 'd').slice(-16) };
}

/** A metered chat span with fresh ids. */
export function chatSpan(attributes: Record<string, unknown>): TestSpan {
  return { ...uniqueIds(), name: 'chat', attributes: { 'gen_ai.operation.name': 'chat', ...attributes } };
}

/** OTLP/JSON AnyValue for a JS value; `{ $raw: x }` is sent as is (for wrong types). */
export function anyValue(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && '$raw' in v) return (v).$raw;
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: v } : { doubleValue: Number.isFinite(v) ? v : String(v) };
  if (typeof v === 'bigint') return { intValue: v.toString() };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if (typeof v === 'object' && v !== null) return { kvlistValue: { values: Object.entries(v).map(([key, value]) => ({ key, value: anyValue(value) })) } };
  return {};
}

/** An OTLP/HTTP JSON ExportTraceServiceRequest, as the OTel JSON exporter sends it (hex ids, string nanos). */
export function exportJson(spans: readonly TestSpan[], resource: Record<string, unknown> = { 'service.name': 'svc' }): string {
  const attrs = (a: Record<string, unknown>) => Object.entries(a).map(([key, value]) => ({ key, value: anyValue(value) }));
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: attrs(resource) },
        scopeSpans: [
          {
            scope: { name: 'test', version: '1' },
            spans: spans.map((s) => {
              const end = BigInt(s.endMs ?? Date.now()) * 1_000_000n;
              return {
                traceId: s.traceId,
                spanId: s.spanId,
                name: s.name ?? 'chat',
                kind: 3,
                startTimeUnixNano: String(end - 1_000_000_000n),
                endTimeUnixNano: String(end),
                attributes: attrs(s.attributes),
              };
            }),
          },
        ],
      },
    ],
  });
}

const hr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

/** An OTLP/HTTP protobuf body made by the OTel JS serializer (what the proto exporter sends) from these spans. */
export function exportProtobuf(spans: readonly TestSpan[], resource: Record<string, unknown> = { 'service.name': 'svc' }): Uint8Array {
  const res = resourceFromAttributes(resource as Attributes);
  const readable = spans.map((s): ReadableSpan => {
    const end = s.endMs ?? Date.now();
    return {
      name: s.name ?? 'chat',
      kind: SpanKind.CLIENT,
      spanContext: () => ({ traceId: s.traceId, spanId: s.spanId, traceFlags: 1 }),
      parentSpanContext: undefined,
      startTime: hr(end - 1000),
      endTime: hr(end),
      duration: [1, 0],
      ended: true,
      status: { code: 0 },
      // The serializer encodes nested objects as kvlists; the SDK would have dropped them.
      attributes: s.attributes as Attributes,
      links: [],
      events: [],
      resource: res,
      instrumentationScope: { name: 'test', version: '1' },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
  const body = ProtobufTraceSerializer.serializeRequest(readable);
  if (!body) throw new Error('ProtobufTraceSerializer returned nothing');
  return body;
}
