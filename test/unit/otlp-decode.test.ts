import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import {
  OTLP_LIMITS,
  decodeJson,
  decodeProtobuf,
  encodeExportResponse,
  encodeStatus,
  hasValidIds,
  rpcCodeForHttpStatus,
} from '../../collector/otlp/index.ts';
import type { DecodeResult } from '../../collector/otlp/index.ts';
import { ExportTraceServiceRequest, RpcStatus } from '../../collector/otlp/proto.ts';
import type { DecodedSpan } from '../../core/usage/types.ts';

const T0: [number, number] = [1_767_225_600, 123_456_789];
const T1: [number, number] = [1_767_225_601, 987_654_321];

function sdkSpans(): ReadableSpan[] {
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
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.usage.input_tokens': 1200,
        'gen_ai.usage.cost': 0.0125,
        'gen_ai.request.stream': true,
        'gen_ai.response.finish_reasons': ['stop', 'length'],
        'gen_ai.request.stop_ids': [1, 2, 3],
        'flags.list': [true, false],
      },
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

function spansOf(result: DecodeResult): DecodedSpan[] {
  if (!result.ok) throw new Error(`decode failed: ${result.error}`);
  return result.spans;
}

function errorOf(result: DecodeResult): string {
  if (result.ok) throw new Error('expected a decode error');
  return result.error;
}

const hex = (id: string): Buffer => Buffer.from(id, 'hex');
const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';

/** A one-span OTLP/JSON request with the given span fields and attributes. */
function jsonBody(span: Record<string, unknown>, attributes: unknown[] = []): string {
  return JSON.stringify({
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE, spanId: SPAN, ...span, attributes }] }] }],
  });
}

/** A one-span protobuf request built with protobufjs from a proto3-shaped object. */
function pbBody(span: Record<string, unknown>): Uint8Array {
  const message = ExportTraceServiceRequest.fromObject({
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: hex(TRACE), spanId: hex(SPAN), ...span }] }] }],
  });
  return ExportTraceServiceRequest.encode(message).finish();
}

describe('decode spans from the OpenTelemetry JS SDK', () => {
  const spans = sdkSpans();
  const pb = spansOf(decodeProtobuf(ProtobufTraceSerializer.serializeRequest(spans)!));
  const json = spansOf(decodeJson(JsonTraceSerializer.serializeRequest(spans)!));

  it('decodes protobuf and JSON to the same spans', () => {
    expect(pb).toHaveLength(2);
    expect(json).toEqual(pb);
  });

  it('keeps ids as lowercase hex and links the parent', () => {
    const [child, root] = pb as [DecodedSpan, DecodedSpan];
    const sdkChild = spans.find((s) => s.name === 'chat gpt-4o')!;
    expect(child.name).toBe('chat gpt-4o');
    expect(child.traceId).toBe(sdkChild.spanContext().traceId);
    expect(child.spanId).toBe(sdkChild.spanContext().spanId);
    expect(child.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(child.parentSpanId).toBe(root.spanId);
    expect(root.parentSpanId).toBe('');
    expect(hasValidIds(child)).toBe(true);
  });

  it('keeps times as exact nanoseconds', () => {
    expect(pb[0]!.startTimeUnixNano).toBe(1_767_225_600_123_456_789n);
    expect(pb[0]!.endTimeUnixNano).toBe(1_767_225_601_987_654_321n);
  });

  it('keeps attribute types, kind and status', () => {
    const child = pb[0]!;
    expect(child.kind).toBe(3);
    expect(child.statusCode).toBe(2);
    expect(child.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.cost': 0.0125,
      'gen_ai.request.stream': true,
      'gen_ai.response.finish_reasons': ['stop', 'length'],
      'gen_ai.request.stop_ids': [1, 2, 3],
      'flags.list': [true, false],
    });
    expect(pb[1]!.kind).toBe(1);
    expect(pb[1]!.statusCode).toBe(0);
  });

  it('copies resource attributes and scope to every span', () => {
    for (const s of [...pb, ...json]) {
      expect(s.resource).toMatchObject({ 'service.name': 'chatbot', 'tenant.id': 't-1', 'deployment.replica': 3 });
      expect(s.scopeName).toBe('openinference.instrumentation');
      expect(s.scopeVersion).toBe('1.4.2');
    }
  });
});

describe('decodeJson (hand-written bodies)', () => {
  it('accepts an empty request', () => {
    expect(decodeJson('{}')).toEqual({ ok: true, spans: [] });
    expect(decodeJson('{"resourceSpans":[{"scopeSpans":[{}]}, {}]}')).toEqual({ ok: true, spans: [] });
  });

  it('accepts intValue as string or number, and big ones as bigint', () => {
    const spans = spansOf(
      decodeJson(
        jsonBody({}, [
          { key: 's', value: { intValue: '42' } },
          { key: 'n', value: { intValue: 42 } },
          { key: 'neg', value: { intValue: '-7' } },
          { key: 'big', value: { intValue: '9007199254740993' } },
          { key: 'min', value: { intValue: '-9223372036854775808' } },
          { key: 'd', value: { doubleValue: 'NaN' } },
        ]),
      ),
    );
    expect(spans[0]!.attributes).toEqual({ s: 42, n: 42, neg: -7, big: 9007199254740993n, min: -(2n ** 63n), d: NaN });
  });

  it('accepts timestamps as strings or numbers', () => {
    const [a] = spansOf(decodeJson(jsonBody({ startTimeUnixNano: '1767225600123456789', endTimeUnixNano: 1_000_000 })));
    expect(a!.startTimeUnixNano).toBe(1_767_225_600_123_456_789n);
    expect(a!.endTimeUnixNano).toBe(1_000_000n);
  });

  it('accepts enum numbers and names', () => {
    const [a] = spansOf(decodeJson(jsonBody({ kind: 'SPAN_KIND_CLIENT', status: { code: 'STATUS_CODE_ERROR' } })));
    expect([a!.kind, a!.statusCode]).toEqual([3, 2]);
    const [b] = spansOf(decodeJson(jsonBody({ kind: 2, status: { code: 1 } })));
    expect([b!.kind, b!.statusCode]).toEqual([2, 1]);
    expect(errorOf(decodeJson(jsonBody({ kind: 'CLIENT' })))).toMatch(/spans\[0\]\.kind: expected an enum/);
  });

  it('fills missing fields with proto3 defaults', () => {
    const [s] = spansOf(decodeJson('{"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]}]}'));
    expect(s).toEqual({
      traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, startTimeUnixNano: 0n, endTimeUnixNano: 0n,
      attributes: {}, resource: {}, scopeName: '', scopeVersion: '', statusCode: 0,
    });
    expect(hasValidIds(s!)).toBe(false);
  });

  it('lowercases hex ids and rejects invalid ones with a path', () => {
    const [s] = spansOf(decodeJson(jsonBody({ traceId: TRACE.toUpperCase() })));
    expect(s!.traceId).toBe(TRACE);
    const body = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{}, { spans: [{ traceId: TRACE, spanId: SPAN }, { traceId: 'xyz', spanId: SPAN }] }] }],
    });
    expect(errorOf(decodeJson(body))).toBe('resourceSpans[0].scopeSpans[1].spans[1].traceId: expected 32 hex chars, got "xyz"');
    const base64 = hex(TRACE).toString('base64');
    expect(errorOf(decodeJson(jsonBody({ traceId: base64 })))).toMatch(/not base64/);
    expect(errorOf(decodeJson(jsonBody({ parentSpanId: 'zz19b7ec3c1b174z' })))).toMatch(/parentSpanId: expected 16 hex chars/);
  });

  it('flattens arrays, kvlists and bytes', () => {
    const [s] = spansOf(
      decodeJson(
        jsonBody({}, [
          { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { boolValue: false }, {}] } } },
          { key: 'kv', value: { kvlistValue: { values: [{ key: 'x', value: { intValue: 1 } }, { key: 'y', value: { arrayValue: {} } }] } } },
          { key: 'bytes', value: { bytesValue: Buffer.from([1, 2, 255]).toString('base64') } },
          { key: 'none' },
        ]),
      ),
    );
    expect(s!.attributes).toEqual({ arr: ['a', false, null], kv: { x: 1, y: [] }, bytes: new Uint8Array([1, 2, 255]), none: null });
    expect(s!.attributes.bytes).toBeInstanceOf(Uint8Array);
  });

  it('accepts snake_case field names and ignores unknown fields', () => {
    const body = JSON.stringify({
      resource_spans: [{ scope_spans: [{ spans: [{ trace_id: TRACE, span_id: SPAN, start_time_unix_nano: '5', extra: 1, attributes: [{ key: 'k', value: { int_value: '3' } }] }] }] }],
      unknown: { deep: [1] },
    });
    const [s] = spansOf(decodeJson(body));
    expect([s!.traceId, s!.startTimeUnixNano, s!.attributes]).toEqual([TRACE, 5n, { k: 3 }]);
  });

  it('rejects wrong types with the path and value', () => {
    expect(errorOf(decodeJson('{"resourceSpans":[{"scopeSpans":[{"spans":{}}]}]}'))).toBe('resourceSpans[0].scopeSpans[0].spans: expected an array, got {}');
    expect(errorOf(decodeJson(jsonBody({}, [{ key: 'k', value: { intValue: 1.5 } }])))).toMatch(/spans\[0\]\.attributes\[0\]\.value\.intValue: expected a 64-bit integer/);
    expect(errorOf(decodeJson(jsonBody({}, [{ key: 'k', value: { boolValue: 'yes' } }])))).toMatch(/boolValue: expected true or false/);
    expect(errorOf(decodeJson(jsonBody({ startTimeUnixNano: '-1' })))).toMatch(/startTimeUnixNano: expected unsigned nanoseconds/);
    expect(errorOf(decodeJson('[]'))).toMatch(/expected an ExportTraceServiceRequest object/);
    expect(errorOf(decodeJson(''))).toBe('invalid JSON: empty body');
    expect(errorOf(decodeJson('{"resourceSpans": ['))).toMatch(/^invalid JSON: /);
  });

  it('does not let a __proto__ key change the attribute object', () => {
    const body = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"__proto__","value":{"kvlistValue":{"values":[{"key":"polluted","value":{"boolValue":true}}]}}}]}]}]}]}';
    const [s] = spansOf(decodeJson(body));
    expect(Object.getPrototypeOf(s!.attributes)).toBe(Object.prototype);
    expect(Object.hasOwn(s!.attributes, '__proto__')).toBe(true);
    expect((s!.attributes as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('bounds nesting depth and attribute counts: the span is left out, the request is not (see otlp-span-limits)', () => {
    let value: unknown = { stringValue: 'leaf' };
    for (let i = 0; i < OTLP_LIMITS.maxDepth; i++) value = { arrayValue: { values: [value] } };
    expect(decodeJson(jsonBody({}, [{ key: 'deep', value }])).ok).toBe(true);
    const rejectedOf = (r: DecodeResult) => (r.ok ? r.rejected : r.error);
    const tooDeep = { arrayValue: { values: [value] } };
    expect(rejectedOf(decodeJson(jsonBody({}, [{ key: 'deep', value: tooDeep }])))).toEqual({ spans: 1, message: expect.stringMatching(/nested deeper than 32 levels$/) });
    const many = Array.from({ length: OTLP_LIMITS.maxAttributes + 1 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } }));
    expect(rejectedOf(decodeJson(jsonBody({}, many)))).toEqual({ spans: 1, message: 'resourceSpans[0].scopeSpans[0].spans[0].attributes: more than 1024 attributes' });
    const wide = { arrayValue: { values: Array.from({ length: OTLP_LIMITS.maxValues }, () => ({ intValue: 1 })) } };
    expect(rejectedOf(decodeJson(jsonBody({}, [{ key: 'wide', value: wide }])))).toEqual({ spans: 1, message: expect.stringMatching(/more than 16384 attribute values/) });
    const spans = `[${Array<string>(OTLP_LIMITS.maxSpans + 1).fill('{}').join(',')}]`;
    expect(errorOf(decodeJson(`{"resourceSpans":[{"scopeSpans":[{"spans":${spans}}]}]}`))).toBe(
      'more than 200000 spans in one request; send smaller batches',
    );
  });

  it('rejects a protobuf body', () => {
    const body = ProtobufTraceSerializer.serializeRequest(sdkSpans())!;
    expect(errorOf(decodeJson(body))).toMatch(/^invalid JSON: /);
  });
});

describe('decodeProtobuf (edge cases)', () => {
  it('accepts an empty body', () => {
    expect(decodeProtobuf(new Uint8Array(0))).toEqual({ ok: true, spans: [] });
  });

  it('decodes int64 edge values, bytes and kvlists', () => {
    const [s] = spansOf(
      decodeProtobuf(
        pbBody({
          kind: 2,
          startTimeUnixNano: '18446744073709551615',
          attributes: [
            { key: 'small', value: { intValue: -5 } },
            { key: 'big', value: { intValue: '9007199254740993' } },
            { key: 'min', value: { intValue: '-9223372036854775808' } },
            { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2]) } },
            { key: 'kv', value: { kvlistValue: { values: [{ key: 'a', value: { doubleValue: 1.5 } }, { key: 'b' }] } } },
            { key: 'empty', value: {} },
          ],
        }),
      ),
    );
    expect(s!.startTimeUnixNano).toBe(2n ** 64n - 1n);
    expect(s!.attributes).toEqual({ small: -5, big: 9007199254740993n, min: -(2n ** 63n), bytes: new Uint8Array([0, 1, 2]), kv: { a: 1.5, b: null }, empty: null });
  });

  it('keeps empty ids as "" and rejects wrong-length ids with a path', () => {
    const [s] = spansOf(decodeProtobuf(pbBody({ traceId: Buffer.alloc(0), spanId: Buffer.alloc(0) })));
    expect([s!.traceId, s!.spanId, hasValidIds(s!)]).toEqual(['', '', false]);
    expect(errorOf(decodeProtobuf(pbBody({ spanId: Buffer.from([1, 2, 3]) })))).toBe(
      'resourceSpans[0].scopeSpans[0].spans[0].spanId: expected 8 bytes, got 3',
    );
  });

  it('bounds nesting depth', () => {
    let value: Record<string, unknown> = { stringValue: 'leaf' };
    for (let i = 0; i <= OTLP_LIMITS.maxDepth; i++) value = { arrayValue: { values: [value] } };
    const r = decodeProtobuf(pbBody({ attributes: [{ key: 'deep', value }] }));
    expect(r.ok && r.spans).toEqual([]);
    expect(r.ok && r.rejected?.message).toMatch(
      /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes\[0\]\.value\..*: nested deeper than 32 levels$/,
    );
  });

  it('rejects truncated bodies and JSON bodies', () => {
    const body = ProtobufTraceSerializer.serializeRequest(sdkSpans())!;
    expect(errorOf(decodeProtobuf(body.subarray(0, body.length - 7)))).toMatch(/^invalid protobuf: index out of range/);
    const json = JsonTraceSerializer.serializeRequest(sdkSpans())!;
    expect(errorOf(decodeProtobuf(json))).toMatch(/^invalid protobuf: body looks like JSON/);
    expect(errorOf(decodeProtobuf(Buffer.from([0x0a, 0x05, 0x12, 0x03])))).toMatch(/^invalid protobuf: /);
  });
});

describe('responses', () => {
  it('encodes full success as an empty message', () => {
    expect(encodeExportResponse(null, 'protobuf')).toEqual({ body: Buffer.alloc(0), contentType: 'application/x-protobuf' });
    expect(encodeExportResponse({ rejectedSpans: 0, errorMessage: '' }, 'json')).toEqual({ body: '{}', contentType: 'application/json' });
  });

  it('encodes partial success so the OTel exporter reads it back', () => {
    const r = { rejectedSpans: 3, errorMessage: 'spans[2]: negative token count' };
    const pb = encodeExportResponse(r, 'protobuf');
    expect(ProtobufTraceSerializer.deserializeResponse(pb.body as Buffer)).toEqual({ partialSuccess: r });
    const json = encodeExportResponse(r, 'json');
    expect(JSON.parse(json.body as string)).toEqual({ partialSuccess: { rejectedSpans: '3', errorMessage: r.errorMessage } });
    expect(JSON.parse(encodeExportResponse({ rejectedSpans: 0, errorMessage: 'warn' }, 'json').body as string)).toEqual({ partialSuccess: { errorMessage: 'warn' } });
  });

  it('encodes google.rpc.Status bodies', () => {
    const code = rpcCodeForHttpStatus(400);
    const pb = encodeStatus(code, 'invalid protobuf: index out of range', 'protobuf');
    expect(pb.contentType).toBe('application/x-protobuf');
    expect(RpcStatus.toObject(RpcStatus.decode(pb.body as Buffer))).toEqual({ code: 3, message: 'invalid protobuf: index out of range' });
    expect(encodeStatus(rpcCodeForHttpStatus(503), 'store down', 'json')).toEqual({ body: '{"code":14,"message":"store down"}', contentType: 'application/json' });
    expect([413, 415, 429].map(rpcCodeForHttpStatus)).toEqual([8, 3, 8]);
  });
});

describe('JSON attribute integers beyond int64', () => {
  it('keeps them as doubles instead of failing the whole export', async () => {
    const { decodeJson } = await import('../../collector/otlp/index.ts');
    const body = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"s","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"x","value":{"intValue":100000000000000000000}}]}]}]}]}';
    const r = decodeJson(body);
    expect(r.ok && r.spans[0]!.attributes.x).toBe(1e20);
  });
});
