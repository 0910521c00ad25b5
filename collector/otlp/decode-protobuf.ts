import type { AttrValue, Attributes, DecodedSpan } from '../../core/usage/types.ts';
import type { DecodeResult } from './decode-common.ts';
import {
  ValueBudget,
  checkAttributeCount,
  checkDepth,
  checkSpanCount,
  fail,
  failure,
  int64,
  setAttr,
  uint64,
  within,
} from './decode-common.ts';
import { ExportTraceServiceRequest } from './proto.ts';
import type { PbAnyValue, PbExportTraceServiceRequest, PbKeyValue, PbLong, PbSpan } from './proto.ts';

const hasOwn = Object.hasOwn;

/** Decode an OTLP/HTTP `application/x-protobuf` ExportTraceServiceRequest; never throws. */
export function decodeProtobuf(body: Uint8Array): DecodeResult {
  // A real request starts with field 1 (0x0a) or is empty; '{' would be field 15 as a group.
  if (body.length > 0 && body[0] === 0x7b) {
    return { ok: false, error: 'invalid protobuf: body looks like JSON (send it as application/json)' };
  }
  let request: PbExportTraceServiceRequest;
  try {
    // A Buffer view (no copy) makes protobufjs use its faster Buffer reader.
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    request = ExportTraceServiceRequest.decode(buf) as unknown as PbExportTraceServiceRequest;
  } catch (err) {
    return failure(err, 'invalid protobuf');
  }
  try {
    return { ok: true, spans: walkRequest(request) };
  } catch (err) {
    return failure(err, 'invalid protobuf');
  }
}

function walkRequest(request: PbExportTraceServiceRequest): DecodedSpan[] {
  let count = 0;
  for (const rs of request.resourceSpans) for (const ss of rs.scopeSpans) count += ss.spans.length;
  checkSpanCount(count);
  const spans: DecodedSpan[] = [];
  const budget = new ValueBudget();
  const resourceSpans = request.resourceSpans;
  let r = 0;
  try {
    for (; r < resourceSpans.length; r++) {
      const rs = resourceSpans[r]!;
      let resource: Attributes = {};
      if (rs.resource !== null && rs.resource.attributes.length > 0) {
        budget.reset();
        try {
          resource = attributes(rs.resource.attributes, budget);
        } catch (err) {
          within(err, 'resource');
        }
      }
      let s = 0;
      try {
        for (; s < rs.scopeSpans.length; s++) {
          const ss = rs.scopeSpans[s]!;
          const scopeName = ss.scope?.name ?? '';
          const scopeVersion = ss.scope?.version ?? '';
          let p = 0;
          try {
            for (; p < ss.spans.length; p++) {
              spans.push(span(ss.spans[p]!, resource, scopeName, scopeVersion, budget));
            }
          } catch (err) {
            within(err, `spans[${p}]`);
          }
        }
      } catch (err) {
        within(err, `scopeSpans[${s}]`);
      }
    }
  } catch (err) {
    within(err, `resourceSpans[${r}]`);
  }
  return spans;
}

function span(s: PbSpan, resource: Attributes, scopeName: string, scopeVersion: string, budget: ValueBudget): DecodedSpan {
  budget.reset();
  const status = s.status;
  return {
    traceId: id(s.traceId, 16, 'traceId'),
    spanId: id(s.spanId, 8, 'spanId'),
    parentSpanId: id(s.parentSpanId, 8, 'parentSpanId'),
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: timestamp(s.startTimeUnixNano),
    endTimeUnixNano: timestamp(s.endTimeUnixNano),
    attributes: s.attributes.length === 0 ? {} : attributes(s.attributes, budget),
    resource,
    scopeName,
    scopeVersion,
    statusCode: status === null ? 0 : status.code,
  };
}

/** Bytes id → lowercase hex; empty stays '' (invalid but well-formed, see hasValidIds). */
function id(bytes: Uint8Array, size: number, field: string): string {
  if (bytes.length === 0) return '';
  if (bytes.length !== size) fail(field, `expected ${size} bytes, got ${bytes.length}`);
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)).toString('hex');
}

function timestamp(v: PbLong | number): bigint {
  return typeof v === 'number' ? BigInt(v) : uint64(v.low, v.high);
}

function attributes(kvs: PbKeyValue[], budget: ValueBudget): Attributes {
  checkAttributeCount(kvs.length);
  budget.take(kvs.length, 'attributes');
  const out: Attributes = {};
  let i = 0;
  try {
    for (; i < kvs.length; i++) {
      const kv = kvs[i]!;
      setAttr(out, kv.key, kv.value === null ? null : anyValue(kv.value, 0, budget));
    }
  } catch (err) {
    within(err, `attributes[${i}].value`);
  }
  return out;
}

function anyValue(v: PbAnyValue, depth: number, budget: ValueBudget): AttrValue {
  if (hasOwn(v, 'stringValue')) return v.stringValue!;
  if (hasOwn(v, 'intValue')) {
    const n = v.intValue!;
    return typeof n === 'number' ? n : int64(n.low, n.high);
  }
  if (hasOwn(v, 'doubleValue')) return v.doubleValue!;
  if (hasOwn(v, 'boolValue')) return v.boolValue!;
  if (hasOwn(v, 'arrayValue')) return arrayValue(v.arrayValue?.values ?? [], depth + 1, budget);
  if (hasOwn(v, 'kvlistValue')) return kvlistValue(v.kvlistValue?.values ?? [], depth + 1, budget);
  // Copied so a small attribute does not keep the whole request body alive.
  if (hasOwn(v, 'bytesValue')) return new Uint8Array(v.bytesValue!);
  return null;
}

function arrayValue(values: PbAnyValue[], depth: number, budget: ValueBudget): AttrValue[] {
  checkDepth(depth);
  budget.take(values.length, '');
  const out: AttrValue[] = new Array<AttrValue>(values.length);
  let i = 0;
  try {
    for (; i < values.length; i++) out[i] = anyValue(values[i]!, depth, budget);
  } catch (err) {
    within(err, `arrayValue.values[${i}]`);
  }
  return out;
}

function kvlistValue(kvs: PbKeyValue[], depth: number, budget: ValueBudget): Attributes {
  checkDepth(depth);
  budget.take(kvs.length, '');
  const out: Attributes = {};
  let i = 0;
  try {
    for (; i < kvs.length; i++) {
      const kv = kvs[i]!;
      setAttr(out, kv.key, kv.value === null ? null : anyValue(kv.value, depth, budget));
    }
  } catch (err) {
    within(err, `kvlistValue.values[${i}].value`);
  }
  return out;
}
