import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJson, decodeProtobuf } from '../../collector/otlp/index.ts';
import { ExportTraceServiceRequest } from '../../collector/otlp/proto.ts';
import protobuf from 'protobufjs';

// The protobuf decoder walks the wire format itself; the JSON decoder is independent code. Random requests,
// encoded by protobufjs and as OTLP/JSON, must decode to the same spans.

type Value =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: bigint }
  | { doubleValue: number }
  | { bytesValue: Uint8Array }
  | { arrayValue: { values: Value[] } }
  | { kvlistValue: { values: { key: string; value: Value }[] } }
  | Record<string, never>;

const key = fc.oneof(fc.constantFrom('gen_ai.usage.input_tokens', 'gen_ai.request.model', 'tenant.id', 'user.id', '__proto__', ''), fc.string({ maxLength: 12 }));
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const { value } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ stringValue: fc.string({ maxLength: 20, unit: 'grapheme' }) }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ intValue: fc.oneof(int64, fc.bigInt({ min: -1000n, max: 1000n })) }),
    fc.record({ doubleValue: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
    fc.record({ bytesValue: fc.uint8Array({ maxLength: 8 }) }),
    fc.constant({}),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('value'), { maxLength: 3 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key, value: tie('value') }), { maxLength: 3 }) }) }),
  ),
}));
const attributes = fc.array(fc.record({ key, value }), { maxLength: 6 });
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const span = fc.record({
  traceId: bytes(16),
  spanId: bytes(8),
  parentSpanId: fc.oneof(fc.constant(new Uint8Array(0)), bytes(8)),
  name: fc.string({ maxLength: 16 }),
  kind: fc.integer({ min: 0, max: 5 }),
  startTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  endTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  attributes,
  status: fc.record({ code: fc.integer({ min: 0, max: 2 }) }),
});
const request = fc.record({
  resourceSpans: fc.array(
    fc.record({
      resource: fc.record({ attributes }),
      scopeSpans: fc.array(fc.record({ scope: fc.record({ name: fc.string({ maxLength: 8 }), version: fc.string({ maxLength: 5 }) }), spans: fc.array(span, { maxLength: 3 }) }), { maxLength: 2 }),
    }),
    { maxLength: 2 },
  ),
});
type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** proto3 JSON as OTLP defines it: hex ids, integer enums, 64-bit integers as strings, bytes as base64. */
function toJson(r: Request): string {
  const v = (x: Value): unknown => {
    if ('intValue' in x) return { intValue: x.intValue.toString() };
    if ('bytesValue' in x) return { bytesValue: Buffer.from(x.bytesValue).toString('base64') };
    if ('arrayValue' in x) return { arrayValue: { values: x.arrayValue.values.map(v) } };
    if ('kvlistValue' in x) return { kvlistValue: { values: x.kvlistValue.values.map((kv) => ({ key: kv.key, value: v(kv.value) })) } };
    return x;
  };
  const attrs = (a: { key: string; value: Value }[]) => a.map((kv) => ({ key: kv.key, value: v(kv.value) }));
  return JSON.stringify({
    resourceSpans: r.resourceSpans.map((rs) => ({
      resource: { attributes: attrs(rs.resource.attributes) },
      scopeSpans: rs.scopeSpans.map((ss) => ({
        scope: ss.scope,
        spans: ss.spans.map((s) => ({
          ...s,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          startTimeUnixNano: s.startTimeUnixNano.toString(),
          endTimeUnixNano: s.endTimeUnixNano.toString(),
          attributes: attrs(s.attributes),
        })),
      })),
    })),
  });
}

/** The same request through protobufjs (64-bit values as decimal strings, which fromObject accepts). */
function toProtobuf(r: Request): Uint8Array {
  const plain = JSON.parse(
    JSON.stringify(r, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? { __bytes: Buffer.from(x).toString('base64') } : x)),
    (_k, x: unknown) => (x !== null && typeof x === 'object' && '__bytes' in x ? Buffer.from((x as { __bytes: string }).__bytes, 'base64') : x),
  ) as Record<string, unknown>;
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(plain)).finish();
}

describe('protobuf and JSON decoders agree', () => {
  it('on random requests', () => {
    fc.assert(
      fc.property(request, (r) => {
        const fromPb = decodeProtobuf(toProtobuf(r));
        const fromJson = decodeJson(toJson(r));
        expect(fromPb.ok).toBe(true);
        expect(fromPb).toEqual(fromJson);
      }),
      { numRuns: 300 },
    );
  });

  it('when the resource and the scope follow their spans on the wire', () => {
    const r: Request = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'late' } }] },
          scopeSpans: [{ scope: { name: 'lib', version: '1.2' }, spans: [{ traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2), parentSpanId: new Uint8Array(0), name: 'chat', kind: 3, startTimeUnixNano: 1n, endTimeUnixNano: 2n, attributes: [], status: { code: 0 } }] }],
        },
      ],
    };
    const inOrder = toProtobuf(r);
    // Re-encode ResourceSpans and ScopeSpans with their fields reversed (fields may come in any order).
    const w = protobuf.Writer.create();
    const rsType = ExportTraceServiceRequest.lookupType('opentelemetry.proto.trace.v1.ResourceSpans');
    const ssType = ExportTraceServiceRequest.lookupType('opentelemetry.proto.trace.v1.ScopeSpans');
    const decoded = ExportTraceServiceRequest.decode(inOrder) as unknown as { resourceSpans: { resource: unknown; scopeSpans: { scope: unknown; spans: unknown[] }[] }[] };
    const rs = decoded.resourceSpans[0]!;
    const ss = rs.scopeSpans[0]!;
    const scopeSpansBytes = Buffer.concat([ssType.encode({ spans: ss.spans }).finish(), ssType.encode({ scope: ss.scope }).finish()]);
    const resourceSpansBytes = Buffer.concat([
      protobuf.Writer.create().uint32((2 << 3) | 2).bytes(scopeSpansBytes).finish(),
      rsType.encode({ resource: rs.resource }).finish(),
    ]);
    const body = w.uint32((1 << 3) | 2).bytes(resourceSpansBytes).finish();
    expect(decodeProtobuf(body)).toEqual(decodeProtobuf(inOrder));
    const [s] = (decodeProtobuf(body) as { spans: { resource: unknown; scopeName: string; scopeVersion: string }[] }).spans;
    expect(s).toMatchObject({ resource: { 'service.name': 'late' }, scopeName: 'lib', scopeVersion: '1.2' });
  });

  it('bound the spans of one request the same way', async () => {
    const { OTLP_LIMITS } = await import('../../collector/otlp/decode-common.ts');
    // ScopeSpans holding maxSpans + 1 empty spans (field 2, length 0), in a ResourceSpans, in the request.
    const scope = Buffer.alloc((OTLP_LIMITS.maxSpans + 1) * 2);
    for (let i = 0; i < scope.length; i += 2) scope[i] = (2 << 3) | 2;
    const resource = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(scope).finish();
    const body = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(resource).finish();
    expect(decodeProtobuf(body)).toEqual({ ok: false, error: `invalid protobuf: more than ${OTLP_LIMITS.maxSpans} spans in one request; send smaller batches` });
  });
});
