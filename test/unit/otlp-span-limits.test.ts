// A span over a per-span bound (attributes, nesting, values) is rejected alone (partialSuccess), the spans beside
// it are kept: OTLP clients do not retry a 400, so failing the request would lose the good spans with the bad one.
import { describe, expect, it } from 'vitest';
import { OTLP_LIMITS, decodeJson, decodeProtobuf, type DecodeResult } from '../../collector/otlp/index.ts';
import { ExportTraceServiceRequest } from '../../collector/otlp/proto.ts';

const kv = (key: string, value: unknown) => ({ key, value });
const good = (n: number) => ({ traceId: 'ab'.repeat(16), spanId: n.toString(16).padStart(16, '0'), name: 'chat', attributes: [kv('gen_ai.usage.input_tokens', { intValue: 5 })] });

function deep(levels: number): unknown {
  let v: unknown = { stringValue: 'leaf' };
  for (let i = 0; i < levels; i++) v = { arrayValue: { values: [v] } };
  return v;
}

const BAD: Record<string, unknown[]> = {
  'more than 1024 attributes': Array.from({ length: OTLP_LIMITS.maxAttributes + 1 }, (_, i) => kv(`k${i}`, { intValue: i })),
  'nested deeper than 32 levels': [kv('deep', deep(OTLP_LIMITS.maxDepth + 1))],
  'more than 16384 attribute values': [kv('wide', { arrayValue: { values: Array.from({ length: OTLP_LIMITS.maxValues }, () => ({ intValue: 1 })) } })],
};

/** Three spans, the middle one over a bound; as OTLP/JSON text and as protobuf. */
function bodies(badAttributes: unknown[], resource: unknown[] = [kv('service.name', { stringValue: 'svc' })]) {
  const request = { resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ scope: { name: 's' }, spans: [good(1), { ...good(2), attributes: badAttributes }, good(3)] }] }] };
  const hexToBytes = (o: unknown): unknown =>
    JSON.parse(JSON.stringify(o), (k, v: unknown) => ((k === 'traceId' || k === 'spanId') && typeof v === 'string' ? Buffer.from(v, 'hex') : v));
  const pb = ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(hexToBytes(request) as Record<string, unknown>)).finish();
  return { json: JSON.stringify(request), pb };
}

function spanIds(r: DecodeResult): string[] {
  if (!r.ok) throw new Error(r.error);
  return r.spans.map((s) => s.spanId);
}

describe.each([
  ['JSON', (b: ReturnType<typeof bodies>) => decodeJson(b.json)],
  ['protobuf', (b: ReturnType<typeof bodies>) => decodeProtobuf(b.pb)],
])('per-span bounds (%s)', (_format, decode) => {
  it.each(Object.entries(BAD))('a span with %s is rejected alone', (what, attributes) => {
    const r = decode(bodies(attributes));
    expect(spanIds(r)).toEqual(['0000000000000001', '0000000000000003']);
    expect(r.ok && r.rejected?.spans).toBe(1);
    expect(r.ok && r.rejected?.message).toMatch(new RegExp(`^resourceSpans\\[0\\]\\.scopeSpans\\[0\\]\\.spans\\[1\\].*: ${what}`));
  });

  it('a resource over a bound rejects the spans it describes, and only those', () => {
    const r = decode(bodies([kv('x', { intValue: 1 })], BAD['more than 1024 attributes']));
    expect(spanIds(r)).toEqual([]);
    expect(r.ok && r.rejected).toEqual({ spans: 3, message: expect.stringMatching(/^resourceSpans\[0\]\.resource\.attributes.*: more than 1024 attributes/) });
  });

  it('spans within the bounds carry no rejection', () => {
    const r = decode(bodies([kv('deep', deep(OTLP_LIMITS.maxDepth))]));
    expect(spanIds(r)).toHaveLength(3);
    expect(r.ok && r.rejected).toBeUndefined();
  });
});
