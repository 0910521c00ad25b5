import { isAscii } from 'node:buffer';
import type { AttrValue, Attributes, DecodedSpan } from '../../core/usage/types.ts';
import type { DecodeResult } from './decode-common.ts';
import { BoundError, Rejections, ValueBudget, checkAttributeCount, checkDepth, checkSpanCount, fail, failure, setAttr, show, within } from './decode-common.ts';
import { bytesValue, doubleValue, enumValue, hexId, intValue, list, obj, str, timestamp } from './json-values.ts';
import type { JsonObject } from './json-values.ts';
import { SPAN_KIND, STATUS_CODE } from './proto.ts';

// OTLP/JSON is proto3 JSON with hex ids and integer enums. It is walked by hand rather than
// with a generic proto-JSON parser, which would read hex ids as base64 without complaint.
// Leniences beyond OTLP/JSON, from the proto3 JSON mapping: original snake_case field names
// beside lowerCamelCase (the Collector's pdata does the same) and enum names beside numbers.
// int64 is accepted as a string or a number, as OTLP allows.

/** Decode an OTLP/HTTP `application/json` ExportTraceServiceRequest; never throws. */
export function decodeJson(body: string | Uint8Array): DecodeResult {
  let root: unknown;
  try {
    let text = typeof body === 'string' ? body : bytesToText(body);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') return { ok: false, error: 'invalid JSON: empty body' };
    root = JSON.parse(text);
  } catch (err) {
    return failure(err, 'invalid JSON');
  }
  try {
    const rejections = new Rejections();
    return rejections.result(walkRequest(root, rejections));
  } catch (err) {
    return failure(err, 'invalid OTLP/JSON');
  }
}

// Node 20 decodes UTF-8 at ~100 MB/s but copies ASCII (nearly every OTLP body) 8x faster.
function bytesToText(body: Uint8Array): string {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return isAscii(buf) ? buf.toString('latin1') : buf.toString('utf8');
}

function walkRequest(root: unknown, rejections: Rejections): DecodedSpan[] {
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    fail('', `expected an ExportTraceServiceRequest object, got ${show(root)}`);
  }
  const request = root as JsonObject;
  const resourceSpans = list(request.resourceSpans ?? request.resource_spans, 'resourceSpans');
  checkSpanCount(countSpans(resourceSpans));
  const spans: DecodedSpan[] = [];
  const budget = new ValueBudget();
  let r = 0;
  try {
    for (; r < resourceSpans.length; r++) {
      const rs = obj(resourceSpans[r], '') ?? {};
      const resourceMsg = obj(rs.resource, 'resource');
      let resource: Attributes = {};
      const scopeSpans = list(rs.scopeSpans ?? rs.scope_spans, 'scopeSpans');
      if (resourceMsg !== undefined) {
        budget.reset();
        try {
          resource = attributes(resourceMsg.attributes, budget);
        } catch (err) {
          if (!(err instanceof BoundError)) within(err, 'resource');
          // Spans described by a resource over a bound are left out with it.
          rejections.add(countSpans([rs]), `resourceSpans[${r}].resource`, err);
          continue;
        }
      }
      let s = 0;
      try {
        for (; s < scopeSpans.length; s++) {
          const ss = obj(scopeSpans[s], '') ?? {};
          const scope = obj(ss.scope, 'scope');
          const scopeName = scope === undefined ? '' : str(scope.name, 'scope.name');
          const scopeVersion = scope === undefined ? '' : str(scope.version, 'scope.version');
          const spanList = list(ss.spans, 'spans');
          let p = 0;
          try {
            for (; p < spanList.length; p++) {
              try {
                spans.push(span(obj(spanList[p], '') ?? {}, resource, scopeName, scopeVersion, budget));
              } catch (err) {
                if (!(err instanceof BoundError)) throw err;
                rejections.add(1, `resourceSpans[${r}].scopeSpans[${s}].spans[${p}]`, err);
              }
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

/** Spans in the request, counting only well-shaped lists (the walk reports the others). */
function countSpans(resourceSpans: unknown[]): number {
  let count = 0;
  for (const rs of resourceSpans) {
    const scopeSpans = (rs as JsonObject | null)?.scopeSpans ?? (rs as JsonObject | null)?.scope_spans;
    if (!Array.isArray(scopeSpans)) continue;
    for (const ss of scopeSpans) {
      const spans = (ss as JsonObject | null)?.spans;
      if (Array.isArray(spans)) count += spans.length;
    }
  }
  return count;
}

function span(s: JsonObject, resource: Attributes, scopeName: string, scopeVersion: string, budget: ValueBudget): DecodedSpan {
  budget.reset();
  const status = obj(s.status, 'status');
  return {
    traceId: hexId(s.traceId ?? s.trace_id, 32, 'traceId'),
    spanId: hexId(s.spanId ?? s.span_id, 16, 'spanId'),
    parentSpanId: hexId(s.parentSpanId ?? s.parent_span_id, 16, 'parentSpanId'),
    name: str(s.name, 'name'),
    kind: enumValue(s.kind, SPAN_KIND, 'kind'),
    startTimeUnixNano: timestamp(s.startTimeUnixNano ?? s.start_time_unix_nano, 'startTimeUnixNano'),
    endTimeUnixNano: timestamp(s.endTimeUnixNano ?? s.end_time_unix_nano, 'endTimeUnixNano'),
    attributes: attributes(s.attributes, budget),
    resource,
    scopeName,
    scopeVersion,
    statusCode: status === undefined ? 0 : enumValue(status.code, STATUS_CODE, 'status.code'),
  };
}

function attributes(value: unknown, budget: ValueBudget): Attributes {
  const kvs = list(value, 'attributes');
  checkAttributeCount(kvs.length);
  budget.take(kvs.length, 'attributes');
  return keyValues(kvs, 0, budget, 'attributes');
}

function keyValues(kvs: unknown[], depth: number, budget: ValueBudget, name: string): Attributes {
  const out: Attributes = {};
  let i = 0;
  try {
    for (; i < kvs.length; i++) {
      const kv = obj(kvs[i], '') ?? {};
      const key = str(kv.key, 'key');
      const value = obj(kv.value, 'value');
      setAttr(out, key, value === undefined ? null : valueAt(value, depth, budget));
    }
  } catch (err) {
    within(err, `${name}[${i}]`);
  }
  return out;
}

/** anyValue, with errors located at `.value`. */
function valueAt(v: JsonObject, depth: number, budget: ValueBudget): AttrValue {
  try {
    return anyValue(v, depth, budget);
  } catch (err) {
    within(err, 'value');
  }
}

/** A decimal integer string past int64: too large for any exporter to mean as one (kept as a double, as above). */
function beyondInt64(x: string): boolean {
  const digits = x.startsWith('-') ? x.length - 1 : x.length;
  if (digits < 19 || !/^-?\d+$/.test(x)) return false;
  if (digits > 19) return true;
  const n = BigInt(x);
  return n > 9223372036854775807n || n < -9223372036854775808n;
}

function anyValue(v: JsonObject, depth: number, budget: ValueBudget): AttrValue {
  let x = v.stringValue ?? v.string_value;
  if (x != null) return str(x, 'stringValue');
  x = v.intValue ?? v.int_value;
  if (x != null) {
    // An attribute integer beyond int64 (the OTel JS JSON exporter sends 1e20 as {"intValue":100000000000000000000};
    // JSON's 1e400 parses to Infinity) is kept as a double: the mapper rejects it where it matters (a token count, as
    // that span's) instead of the whole export failing.
    if (typeof x === 'number' && !Number.isSafeInteger(x) && Math.abs(x) >= 2 ** 63) return x;
    // The same integer beyond int64 as a decimal string (an exporter that writes every int64 as a string).
    if (typeof x === 'string' && beyondInt64(x)) return Number(x);
    return intValue(x, 'intValue');
  }
  x = v.doubleValue ?? v.double_value;
  if (x != null) return doubleValue(x, 'doubleValue');
  x = v.boolValue ?? v.bool_value;
  if (x != null) {
    if (typeof x !== 'boolean') fail('boolValue', `expected true or false, got ${show(x)}`);
    return x;
  }
  x = v.arrayValue ?? v.array_value;
  if (x != null) return arrayValue(x, depth + 1, budget);
  x = v.kvlistValue ?? v.kvlist_value;
  if (x != null) {
    checkDepth(depth + 1);
    const kvs = list(obj(x, 'kvlistValue')?.values, 'kvlistValue.values');
    budget.take(kvs.length, '');
    return keyValues(kvs, depth + 1, budget, 'kvlistValue.values');
  }
  x = v.bytesValue ?? v.bytes_value;
  if (x != null) return bytesValue(x, 'bytesValue');
  return null;
}

function arrayValue(x: unknown, depth: number, budget: ValueBudget): AttrValue[] {
  checkDepth(depth);
  const values = list(obj(x, 'arrayValue')?.values, 'arrayValue.values');
  budget.take(values.length, '');
  const out: AttrValue[] = new Array<AttrValue>(values.length);
  let i = 0;
  try {
    for (; i < values.length; i++) {
      const v = obj(values[i], '');
      out[i] = v === undefined ? null : anyValue(v, depth, budget);
    }
  } catch (err) {
    within(err, `arrayValue.values[${i}]`);
  }
  return out;
}
