// Bodies and results for the OTLP decoder tests: spans made by the real OTel JS SDK, one-span requests written by
// hand (JSON) or with protobufjs, and the decode result's spans or error.
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { DecodeResult } from '../../collector/otlp/index.ts';
import { ExportTraceServiceRequest } from '../../collector/otlp/proto.ts';
import type { DecodedSpan } from '../../core/usage/types.ts';

const T0: [number, number] = [1_767_225_600, 123_456_789];
const T1: [number, number] = [1_767_225_601, 987_654_321];

/** The chat span's attributes, one of each type OTLP carries (string, int, double, bool, arrays of each). */
export const CHAT_ATTRIBUTES = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.usage.input_tokens': 1200,
  'gen_ai.usage.cost': 0.0125,
  'gen_ai.request.stream': true,
  'gen_ai.response.finish_reasons': ['stop', 'length'],
  'gen_ai.request.stop_ids': [1, 2, 3],
  'flags.list': [true, false],
};

/** Two spans made by the real OTel JS SDK: an agent span and a chat call under it (with an event, a link, an error). */
export function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'chatbot', 'tenant.id': 't-1', 'deployment.replica': 3 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('openinference.instrumentation', '1.4.2');
  const root = tracer.startSpan('invoke_agent support', { startTime: T0 });
  const child = tracer.startSpan(
    'chat gpt-4o',
    {
      kind: SpanKind.CLIENT,
      startTime: T0,
      attributes: CHAT_ATTRIBUTES,
    },
    trace.setSpan(context.active(), root),
  );
  child.addEvent('gen_ai.content.prompt', { 'gen_ai.prompt': 'hello' });
  child.addLink({ context: root.spanContext(), attributes: { why: 'test' } });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
  child.end(T1);
  root.end(T1);
  return exporter.getFinishedSpans();
}

export function spansOf(result: DecodeResult): DecodedSpan[] {
  if (!result.ok) throw new Error(`decode failed: ${result.error}`);
  return result.spans;
}

export function errorOf(result: DecodeResult): string {
  if (result.ok) throw new Error('expected a decode error');
  return result.error;
}

export const hex = (id: string): Buffer => Buffer.from(id, 'hex');
export const TRACE = '5b8efff798038103d269b633813fc60c';
export const SPAN = 'eee19b7ec3c1b174';

/** A one-span OTLP/JSON request with the given span fields and attributes. */
export function jsonBody(span: Record<string, unknown>, attributes: unknown[] = []): string {
  return JSON.stringify({
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE, spanId: SPAN, ...span, attributes }] }] }],
  });
}

/** A one-span protobuf request built with protobufjs from a proto3-shaped object. */
export function pbBody(span: Record<string, unknown>): Uint8Array {
  const message = ExportTraceServiceRequest.fromObject({
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: hex(TRACE), spanId: hex(SPAN), ...span }] }] }],
  });
  return ExportTraceServiceRequest.encode(message).finish();
}
