// Protobuf bodies that break the wire format are refused whole with a message saying what is wrong (the collector
// answers 400), never read as something else and never a crash: field number 0, varints over 10 bytes or 64 bits,
// stray or mismatched groups, wire types 6 and 7, lengths and fixed-size values past the end, deep nesting.
// Traces (decode-protobuf.ts), metrics and logs (decode-metrics.ts) read the wire the same way.
import { describe, expect, it } from 'vitest';
import { countLogRecords, decodeMetrics, TOKEN_USAGE_METRIC } from '../../collector/otlp/decode-metrics.ts';
import { decodeProtobuf, OTLP_LIMITS } from '../../collector/otlp/index.ts';
import { MAX_GROUP_DEPTH } from '../../collector/otlp/wire.ts';
import { errorOf, spansOf } from '../helpers/otlp-decode-bodies.ts';
import { bytes, deepKvlist, double, fixed64, len, lenAround, str, tag, varint } from '../helpers/wire-bytes.ts';

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

const ELEVEN_BYTES = [...Array<number>(10).fill(0xff), 0x01];
const OVER_64_BITS = [...Array<number>(9).fill(0xff), 0x02];
const MINUS_ONE = varint(-1); // 10 bytes, the 10th 0x01: valid
/** A span's trace id and span id fields. */
const IDS = [...len(1, Array<number>(16).fill(1)), ...len(2, Array<number>(8).fill(2))];

/** A one-span request; `spanTail` ends the span, `value` is the AnyValue of its attribute `a`. */
function traceBody(spanTail: number[] = [], value?: number[]): Uint8Array {
  const attr = value ? len(9, str(1, 'a'), len(2, value)) : [];
  return bytes(len(1, len(2, len(2, IDS, str(5, 'chat'), attr, spanTail))));
}

const T0 = 1_767_225_600_000_000_000n;

/**
 * A one-point token usage request; `metricTail` ends the Metric, `pointTail` the data point, `value` an attribute
 * `x`. Each tail ends the body (the temporality comes before the point).
 */
function metricsBody(o: { metricTail?: number[]; pointTail?: number[]; value?: number[] } = {}): Uint8Array {
  const type = len(9, str(1, 'gen_ai.token.type'), len(2, str(1, 'input')));
  const extra = o.value ? len(9, str(1, 'x'), len(2, o.value)) : [];
  const point = [...fixed64(2, T0), ...fixed64(3, T0 + 60_000_000_000n), ...fixed64(4, 1n), ...double(5, 100), ...type, ...extra, ...(o.pointTail ?? [])];
  const metric = [...str(1, TOKEN_USAGE_METRIC), ...len(9, [...tag(2, VARINT), 1], len(1, point)), ...(o.metricTail ?? [])];
  return bytes(len(1, len(2, len(2, metric))));
}

const traceError = (body: Uint8Array) => errorOf(decodeProtobuf(body));
function metricsError(body: Uint8Array): string {
  const r = decodeMetrics(body, 'protobuf');
  if (r.ok) throw new Error('expected a decode error');
  return r.error;
}

describe('the bodies the tests build are valid', () => {
  it('decodes the span and the point, with a 10-byte int64 of -1', () => {
    const [s] = spansOf(decodeProtobuf(traceBody([...tag(6, VARINT), ...MINUS_ONE], [...tag(3, VARINT), ...MINUS_ONE])));
    expect(s).toMatchObject({ name: 'chat', kind: -1, attributes: { a: -1 } });
    const m = decodeMetrics(metricsBody({ value: [...tag(3, VARINT), ...MINUS_ONE] }), 'protobuf');
    expect(m.ok && m.points.map((p) => [p.sum, p.count, p.attributes])).toEqual([[100, 1, { 'gen_ai.token.type': 'input', x: -1 }]]);
  });
});

// Each case: [what, where it goes in the span or the point (the tail) or the attribute value, the error].
const cases: [string, { tail?: number[]; value?: number[] }, RegExp][] = [
  ['field number 0 (varint)', { tail: [0x00, 0x01] }, /field number 0 at byte \d+/],
  ['field number 0 (length-delimited)', { tail: [0x02, 0x00] }, /field number 0/],
  ['field number 0 in an AnyValue', { value: [0x00, 0x01] }, /field number 0/],
  ['an 11-byte varint (unknown field)', { tail: [...tag(20, VARINT), ...ELEVEN_BYTES] }, /varint at byte \d+ is longer than 10 bytes/],
  ['an 11-byte varint (int64 value)', { value: [...tag(3, VARINT), ...ELEVEN_BYTES] }, /longer than 10 bytes/],
  ['an 11-byte tag', { tail: [...ELEVEN_BYTES.slice(0, 10), 0x00] }, /longer than 10 bytes/],
  ['an 11-byte length', { tail: [...tag(20, LEN), 0x80, ...ELEVEN_BYTES.slice(1, 10), 0x00] }, /longer than 10 bytes/],
  ['a 10th varint byte over 1 (int64 value)', { value: [...tag(3, VARINT), ...OVER_64_BITS] }, /varint at byte \d+ does not fit in 64 bits/],
  ['a 10th varint byte over 1 (unknown field)', { tail: [...tag(20, VARINT), ...OVER_64_BITS] }, /does not fit in 64 bits/],
  ['a tag over 32 bits', { tail: varint(2n ** 32n + 8n) }, /tag at byte \d+ does not fit in 32 bits/],
  ['a length over 32 bits (its low bits would say 1)', { tail: [...tag(20, LEN), ...varint(2n ** 32n + 1n), 0x41] }, /length at byte \d+ does not fit in 32 bits/],
  ['wire type 6', { tail: tag(20, 6) }, /invalid wire type 6 at byte \d+/],
  ['wire type 7', { tail: tag(20, 7) }, /invalid wire type 7/],
  ['an end-group with no group', { tail: [...tag(20, END_GROUP)] }, /end-group for field 20 at byte \d+ without a group started/],
  ['a group closed by another field', { tail: [...tag(20, GROUP), ...tag(1, VARINT), 5, ...tag(21, END_GROUP)] }, /group of field 20 closed by the end-group of field 21/],
  ['a group never closed', { tail: [...tag(20, GROUP), ...tag(1, VARINT), 5] }, /index out of range|runs past the end/],
  [`groups nested ${MAX_GROUP_DEPTH + 1} deep`, { tail: Array.from({ length: MAX_GROUP_DEPTH + 1 }, () => tag(20, GROUP)).flat() }, new RegExp(`groups nested deeper than ${MAX_GROUP_DEPTH} levels`)],
  ['a length past the end of the body', { tail: [...tag(20, LEN), ...varint(1000), 1, 2, 3] }, /index out of range: .*runs past the end of the body/],
  ['a string cut by the end of the body', { tail: [...tag(5, LEN), ...varint(50), 0x61, 0x62, 0x63] }, /runs past the end of the body/],
  ['a string value cut by the end of the body', { value: [...tag(1, LEN), ...varint(50), 0x61, 0x62] }, /runs past the end of the body/],
  ['a varint cut by the end of the body', { tail: [...tag(20, VARINT), 0x80, 0x80] }, /varint at byte \d+ is cut off by the end of the body/],
  ['a fixed64 cut by the end of the body', { tail: [...tag(20, FIXED64), 1, 2, 3, 4, 5] }, /index out of range/],
  ['a fixed32 cut by the end of the body', { tail: [...tag(20, FIXED32), 1, 2] }, /index out of range/],
  ['a double cut by the end of the body', { value: [...tag(4, FIXED64), 1, 2, 3] }, /index out of range/],
];

describe('traces: a body breaking the wire format is refused with what is wrong', () => {
  it.each(cases)('%s', (_, { tail, value }, error) => {
    expect(traceError(traceBody(tail, value))).toMatch(new RegExp(`^invalid protobuf: .*${error.source}`));
  });

  it('refuses a string that runs past the end of its span into the next', () => {
    // The span says its name is 10 bytes long, 2 of which are inside the span; the next span follows.
    const first = [...IDS, ...tag(5, LEN), ...varint(10), 0x61, 0x62];
    const body = bytes(len(1, len(2, len(2, first), len(2, IDS, str(5, 'second-span')))));
    expect(traceError(body)).toMatch(/^invalid protobuf: index out of range: a field runs past the end of its message/);
  });

  it('refuses a start time that runs past the end of its span', () => {
    const body = bytes(len(1, len(2, len(2, IDS, tag(7, FIXED64), [1, 2, 3]), len(2, IDS, str(5, 'next')))));
    expect(traceError(body)).toMatch(/^invalid protobuf: index out of range/);
  });

  it('skips an unknown group up to its own end-group, and a known field sent as a group', () => {
    const group = [...tag(20, GROUP), ...tag(1, VARINT), 5, ...str(2, 'x'), ...tag(3, GROUP), ...tag(3, END_GROUP), ...tag(20, END_GROUP)];
    const asGroup = [...tag(9, GROUP), ...tag(9, END_GROUP)];
    const [s] = spansOf(decodeProtobuf(traceBody([...group, ...asGroup, ...str(5, 'after')])));
    expect(s).toMatchObject({ name: 'after', attributes: {} });
  });

  it('leaves out a span whose attribute nests 100,000 levels, without a crash, and says why', () => {
    const attr = lenAround(9, Buffer.concat([bytes(str(1, 'deep')), lenAround(2, deepKvlist(100_000))]));
    const span = lenAround(2, Buffer.concat([bytes(IDS), attr]));
    const r = decodeProtobuf(lenAround(1, lenAround(2, span)));
    expect(r.ok && r.spans).toEqual([]);
    expect(r.ok && r.rejected).toEqual({ spans: 1, message: expect.stringMatching(new RegExp(`nested deeper than ${OTLP_LIMITS.maxDepth} levels$`)) as unknown });
  });
});

describe('metrics: a body breaking the wire format is refused with what is wrong', () => {
  it.each(cases)('%s', (_, { tail, value }, error) => {
    expect(metricsError(metricsBody(tail ? { pointTail: tail } : { value: value! }))).toMatch(new RegExp(`^invalid protobuf metrics request: .*${error.source}`));
    if (tail) expect(metricsError(metricsBody({ metricTail: tail }))).toMatch(new RegExp(`^invalid protobuf metrics request: .*${error.source}`));
  });

  it('refuses a metric name that runs past the end of its Metric', () => {
    const metric = [...tag(1, LEN), ...varint(TOKEN_USAGE_METRIC.length + 5), ...Buffer.from(TOKEN_USAGE_METRIC)];
    const body = bytes(len(1, len(2, len(2, metric), len(2, str(1, 'next-metric')))));
    expect(metricsError(body)).toMatch(/^invalid protobuf metrics request: index out of range/);
  });

  it('skips a known field sent with another wire type, as an unknown field', () => {
    // The name as a varint, then as the string it is: read as the string, not the varint taken for a length.
    const m = decodeMetrics(metricsBody({ metricTail: [...tag(1, VARINT), 5, ...str(1, TOKEN_USAGE_METRIC)] }), 'protobuf');
    expect(m.ok && m.points).toHaveLength(1);
    const n = decodeMetrics(metricsBody({ pointTail: [...tag(4, VARINT), 7, ...tag(5, LEN), 0] }), 'protobuf');
    expect(n.ok && n.points.map((p) => [p.count, p.sum])).toEqual([[1, 100]]);
  });

  it('refuses an attribute nesting 100,000 levels with a 400, without a crash', () => {
    const deep = lenAround(9, Buffer.concat([bytes(str(1, 'deep')), lenAround(2, deepKvlist(100_000))]));
    const point = lenAround(1, Buffer.concat([bytes([...fixed64(4, 1n), ...double(5, 1)]), deep]));
    const metric = lenAround(2, Buffer.concat([bytes(str(1, TOKEN_USAGE_METRIC)), lenAround(9, point)]));
    expect(metricsError(lenAround(1, lenAround(2, metric)))).toMatch(/^invalid protobuf metrics request: messages nested deeper than 100 levels/);
  });

  it('counts no log records in a body breaking the wire format', () => {
    expect(countLogRecords(bytes(len(1, len(2, len(2, [0x00, 0x01])))), 'protobuf')).toBe(-1);
    expect(countLogRecords(bytes(len(1, len(2, len(2, str(5, 'ok')), len(2)))), 'protobuf')).toBe(2);
  });
});
