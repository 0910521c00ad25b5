import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
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
import { RpcStatus } from '../../collector/otlp/proto.ts';
import type { DecodedSpan } from '../../core/usage/types.ts';
import { CHAT_ATTRIBUTES, errorOf, pbBody, sdkSpans, spansOf } from '../helpers/otlp-decode-bodies.ts';

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
    // Every type as the SDK was given it: ints stay ints, arrays keep their element types.
    expect(child.attributes).toEqual(CHAT_ATTRIBUTES);
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
