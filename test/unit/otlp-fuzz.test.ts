import { SpanKind, context, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJson, decodeProtobuf } from '../../collector/otlp/index.ts';
import type { DecodeResult } from '../../collector/otlp/index.ts';
import { ExportTraceServiceRequest } from '../../collector/otlp/proto.ts';
import { byteEdit, mutate } from '../helpers/byte-edits.ts';

const RUNS = { numRuns: 300 };

function sdkBodies(): { pb: Uint8Array; json: Uint8Array } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'fuzz', 'tenant.id': 't-9' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('fuzz-scope', '0.0.1');
  const root = tracer.startSpan('invoke_agent');
  const child = tracer.startSpan(
    'chat',
    { kind: SpanKind.CLIENT, attributes: { 'gen_ai.usage.input_tokens': 10, 'gen_ai.request.model': 'gpt-4o', ratio: 0.5, ok: true, list: ['a', 'b'] } },
    trace.setSpan(context.active(), root),
  );
  child.addEvent('e', { x: 1 });
  child.end();
  root.end();
  const spans = exporter.getFinishedSpans();
  return { pb: ProtobufTraceSerializer.serializeRequest(spans)!, json: JsonTraceSerializer.serializeRequest(spans)! };
}

/** The decoder returned a well-formed DecodeResult (it must never throw). */
function assertResult(result: DecodeResult): void {
  if (result.ok) {
    expect(Array.isArray(result.spans)).toBe(true);
    for (const s of result.spans) {
      expect(s.traceId).toMatch(/^(?:[0-9a-f]{32})?$/);
      expect(s.spanId).toMatch(/^(?:[0-9a-f]{16})?$/);
      expect(typeof s.startTimeUnixNano).toBe('bigint');
      expect(typeof s.attributes).toBe('object');
    }
  } else {
    expect(typeof result.error).toBe('string');
    expect(result.error.length).toBeGreaterThan(0);
    expect(result.error.length).toBeLessThan(600);
  }
}

/** Replace the n-th node (pre-order) of a JSON tree with `replacement`. */
function replaceNode(tree: unknown, n: number, replacement: unknown): unknown {
  let count = 0;
  const total = (function size(v: unknown): number {
    if (v === null || typeof v !== 'object') return 1;
    return 1 + Object.values(v).reduce<number>((sum, c) => sum + size(c), 0);
  })(tree);
  const target = n % total;
  const walk = (v: unknown): unknown => {
    if (count++ === target) return replacement;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, c]) => [k, walk(c)]));
    return v;
  };
  return walk(tree);
}

const { pb, json } = sdkBodies();
const jsonTree: unknown = JSON.parse(Buffer.from(json).toString('utf8'));

describe('OTLP decoders never throw', () => {
  it('on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), fc.boolean(), (bytes, asRequest) => {
        const body = asRequest && bytes.length > 0 ? Uint8Array.from([0x0a, ...bytes]) : bytes;
        assertResult(decodeProtobuf(body));
        assertResult(decodeJson(body));
      }),
      RUNS,
    );
  });

  it('on random JSON values and strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string()), (text) => {
        assertResult(decodeJson(text));
        assertResult(decodeJson(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [text] }] }] })));
      }),
      RUNS,
    );
  });

  it('on mutated protobuf bodies', () => {
    fc.assert(
      fc.property(fc.array(byteEdit, { maxLength: 8 }), fc.option(fc.nat()), (edits, cut) => {
        assertResult(decodeProtobuf(mutate(pb, edits, cut)));
      }),
      RUNS,
    );
  });

  it('on byte-mutated JSON bodies', () => {
    fc.assert(
      fc.property(fc.array(byteEdit, { maxLength: 8 }), fc.option(fc.nat()), (edits, cut) => {
        assertResult(decodeJson(mutate(json, edits, cut)));
      }),
      RUNS,
    );
  });

  it('on structurally mutated JSON bodies', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 3 })), { minLength: 1, maxLength: 3 }), (edits) => {
        const tree = edits.reduce((t, [n, v]) => replaceNode(t, n, v), jsonTree);
        assertResult(decodeJson(JSON.stringify(tree)));
      }),
      RUNS,
    );
  });
});

// AnyValue in its OTLP/JSON form; protobufjs' fromObject reads the same shape.
const { value: anyValue } = fc.letrec<{ value: Record<string, unknown> }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 4, depthSize: 'small' },
    fc.record({ stringValue: fc.string() }),
    fc.record({ intValue: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) }),
    fc.record({
      doubleValue: fc.double().map((d) => (Number.isFinite(d) ? (Object.is(d, -0) ? 0 : d) : String(d))),
    }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ bytesValue: fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b).toString('base64')) }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('value'), { maxLength: 4 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string(), value: tie('value') }), { maxLength: 4 }) }) }),
  ),
}));

describe('protobuf and JSON decoding agree', () => {
  it('on random attributes, ids and times', () => {
    const attrs = fc.array(fc.record({ key: fc.string(), value: anyValue }), { maxLength: 8 });
    const id = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b));
    fc.assert(
      fc.property(attrs, attrs, id(16), id(8), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (spanAttrs, resAttrs, traceId, spanId, t) => {
        const request = (ids: { traceId: unknown; spanId: unknown }) => ({
          resourceSpans: [
            {
              resource: { attributes: resAttrs },
              scopeSpans: [{ scope: { name: 's', version: 'v' }, spans: [{ ...ids, name: 'x', kind: 3, startTimeUnixNano: t.toString(), attributes: spanAttrs }] }],
            },
          ],
        });
        const pbMessage = ExportTraceServiceRequest.fromObject(request({ traceId, spanId }));
        const asJson = JSON.stringify(request({ traceId: traceId.toString('hex'), spanId: spanId.toString('hex') }));
        const fromPb = decodeProtobuf(ExportTraceServiceRequest.encode(pbMessage).finish());
        const fromJson = decodeJson(asJson);
        expect(fromPb.ok).toBe(true);
        expect(fromJson).toEqual(fromPb);
      }),
      { numRuns: 200 },
    );
  });
});
