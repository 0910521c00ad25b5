// decodeJson on OTLP/JSON bodies written by hand: the encodings the spec allows, its defaults, and the errors.
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { OTLP_LIMITS, decodeJson, hasValidIds, type DecodeResult } from '../../collector/otlp/index.ts';
import { SPAN, TRACE, errorOf, hex, jsonBody, sdkSpans, spansOf } from '../helpers/otlp-decode-bodies.ts';

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

describe('JSON attribute integers beyond int64', () => {
  it('keeps them as doubles instead of failing the whole export', async () => {
    const { decodeJson } = await import('../../collector/otlp/index.ts');
    const body = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"s","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"x","value":{"intValue":100000000000000000000}}]}]}]}]}';
    const r = decodeJson(body);
    expect(r.ok && r.spans[0]!.attributes.x).toBe(1e20);
  });
});
