// The metrics and logs requests are read by decode-message.ts (declared types, strict wire reader). On any valid body
// it must give what protobufjs's own decoder and toObject gave before it (the OTLP/JSON shape the walker reads), and
// it must never throw anything but an Error on bytes that are not one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../collector/otlp/decode-message.ts';
import { ExportLogsServiceRequest, ExportMetricsServiceRequest } from '../../collector/otlp/metrics-proto.ts';
import { byteEdit, mutate } from '../helpers/byte-edits.ts';

const RUNS = { numRuns: 200 };

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);

const anyValue: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ value: Record<string, unknown> }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ stringValue: fc.string() }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ intValue: int64 }),
    fc.record({ doubleValue: fc.double() }),
    fc.record({ bytesValue: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('base64')) }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('value'), { maxLength: 3 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string(), value: tie('value') }), { maxLength: 3 }) }) }),
  ),
})).value;

const attributes = fc.array(fc.record({ key: fc.string(), value: anyValue }), { maxLength: 4 });
const point = fc.record({ attributes, startTimeUnixNano: uint64, timeUnixNano: uint64, count: uint64, sum: fc.double(), flags: fc.nat() }, { requiredKeys: [] });
const data = fc.record({ dataPoints: fc.array(point, { maxLength: 3 }), aggregationTemporality: fc.integer({ min: -3, max: 3 }) }, { requiredKeys: [] });
const metric = fc.record({ name: fc.string(), unit: fc.string() }, { requiredKeys: [] }).chain((m) =>
  fc.oneof(fc.constant(m), data.map((histogram) => ({ ...m, histogram })), data.map((exponentialHistogram) => ({ ...m, exponentialHistogram }))),
);
const request = fc.record({
  resourceMetrics: fc.array(
    fc.record({
      resource: fc.record({ attributes, droppedAttributesCount: fc.nat() }, { requiredKeys: [] }),
      scopeMetrics: fc.array(fc.record({ scope: fc.record({ name: fc.string(), version: fc.string(), attributes }, { requiredKeys: [] }), metrics: fc.array(metric, { maxLength: 3 }) }, { requiredKeys: [] }), { maxLength: 2 }),
    }, { requiredKeys: [] }),
    { maxLength: 2 },
  ),
});

/** The body protobufjs encodes for `object`, and what protobufjs decoded it to before decode-message.ts. */
function encoded(object: unknown): { body: Uint8Array; before: unknown } {
  const T = ExportMetricsServiceRequest;
  const body = T.encode(T.fromObject(object as Record<string, unknown>)).finish();
  return { body, before: T.toObject(T.decode(body), { longs: String, enums: Number, bytes: String, defaults: false }) };
}

describe('decodeMessage', () => {
  it('reads a valid metrics request as protobufjs read it', () => {
    fc.assert(
      fc.property(request, (object) => {
        const { body, before } = encoded(object);
        expect(decodeMessage(ExportMetricsServiceRequest, body)).toEqual(before);
      }),
      RUNS,
    );
  });

  it('reads a logs request as protobufjs read it', () => {
    const T = ExportLogsServiceRequest;
    const body = T.encode(T.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords: [{}, {}] }, {}] }, {}] })).finish();
    expect(decodeMessage(T, body)).toEqual(T.toObject(T.decode(body), { defaults: false }));
  });

  it('throws only Errors on mutated bodies', () => {
    fc.assert(
      fc.property(request, fc.array(byteEdit, { maxLength: 8 }), fc.option(fc.nat()), (object, edits, cut) => {
        const body = mutate(encoded(object).body, edits, cut);
        try {
          decodeMessage(ExportMetricsServiceRequest, body);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
      }),
      RUNS,
    );
  });
});
