import type { AttrValue, Attributes, DecodedSpan } from '../../core/usage/types.ts';
import type { DecodeResult } from './decode-common.ts';
import { BoundError, Rejections, ValueBudget, checkDepth, fail, failure, int64, setAttr, uint64, within, OTLP_LIMITS } from './decode-common.ts';
import { FIXED64, LEN, Reader, VARINT, ended, fields, sub } from './wire.ts';

/**
 * Decode an OTLP/HTTP `application/x-protobuf` ExportTraceServiceRequest; never throws.
 *
 * The walk reads the wire format with protobufjs's Reader and builds our `DecodedSpan`s directly, field numbers
 * as in opentelemetry-proto (see proto.ts). It skips what metering never reads (events, links, trace state,
 * scope attributes) and does not build protobufjs's message objects first: on the ingest hot path those
 * intermediate objects cost as much again as the walk (BENCHMARKS.md "Where the time goes"). Unknown fields, and
 * known fields sent with another wire type, are skipped as proto3 parsers skip unknown fields; a body that breaks
 * the wire format (wire.ts) is refused whole.
 */
export function decodeProtobuf(body: Uint8Array): DecodeResult {
  // A real request starts with field 1 (0x0a) or is empty; '{' would be field 15 as a group.
  if (body.length > 0 && body[0] === 0x7b) {
    return { ok: false, error: 'invalid protobuf: body looks like JSON (send it as application/json)' };
  }
  try {
    const rejections = new Rejections();
    return rejections.result(walkRequest(Reader.of(body), rejections));
  } catch (err) {
    return failure(err, 'invalid protobuf');
  }
}

function walkRequest(r: Reader, rejections: Rejections): DecodedSpan[] {
  const spans: DecodedSpan[] = [];
  const budget = new ValueBudget();
  let i = 0;
  fields(r, r.len, (num, wire) => {
    if (num !== 1 || wire !== LEN) return false;
    try {
      resourceSpans(r, sub(r), spans, budget, rejections, `resourceSpans[${i}]`);
    } catch (err) {
      within(err, `resourceSpans[${i}]`);
    }
    i++;
    return true;
  });
  return spans;
}

const NO_ATTRIBUTES: Attributes = Object.freeze({});

/** `where` locates this ResourceSpans in rejection messages. */
function resourceSpans(r: Reader, end: number, out: DecodedSpan[], budget: ValueBudget, rejections: Rejections, where: string): void {
  const first = out.length;
  let resource: Attributes = {};
  let overBound: BoundError | undefined;
  let s = 0;
  fields(r, end, (num, wire) => {
    if (wire !== LEN) return false;
    if (num === 1) {
      const resourceEnd = sub(r);
      try {
        budget.reset();
        resource = resourceMessage(r, resourceEnd, budget);
      } catch (err) {
        if (!(err instanceof BoundError)) within(err, 'resource');
        overBound = err;
        r.pos = resourceEnd;
      }
      return true;
    }
    if (num !== 2) return false;
    try {
      scopeSpans(r, sub(r), out, budget, rejections, `${where}.scopeSpans[${s}]`);
    } catch (err) {
      within(err, `scopeSpans[${s}]`);
    }
    s++;
    return true;
  });
  // Spans described by a resource over a bound are left out with it (the resource may follow its spans).
  if (overBound) rejections.add(out.splice(first).length, `${where}.resource`, overBound);
  // The resource may follow its spans on the wire.
  for (let k = first; k < out.length; k++) out[k]!.resource = resource;
}

function resourceMessage(r: Reader, end: number, budget: ValueBudget): Attributes {
  const attrs: Attributes = {};
  let n = 0;
  fields(r, end, (num, wire) => {
    if (num !== 1 || wire !== LEN) return false;
    keyValue(r, attrs, n++, budget);
    return true;
  });
  return attrs;
}

/** `out` holds every span of the request so far, so its length bounds the request's span count. */
function scopeSpans(r: Reader, end: number, out: DecodedSpan[], budget: ValueBudget, rejections: Rejections, where: string): void {
  const first = out.length;
  let scopeName = '';
  let scopeVersion = '';
  let p = 0;
  fields(r, end, (num, wire) => {
    if (wire !== LEN) return false;
    if (num === 1) {
      fields(r, sub(r), (n, w) => {
        if (w !== LEN || (n !== 1 && n !== 2)) return false;
        if (n === 1) scopeName = r.string();
        else scopeVersion = r.string();
        return true;
      });
      return true;
    }
    if (num !== 2) return false;
    // Not a DecodeError: the limit is the request's, so no path is prepended on the way out.
    if (out.length >= OTLP_LIMITS.maxSpans) throw new Error(`more than ${OTLP_LIMITS.maxSpans} spans in one request; send smaller batches`);
    const spanEnd = sub(r);
    try {
      out.push(span(r, spanEnd, budget));
    } catch (err) {
      if (!(err instanceof BoundError)) within(err, `spans[${p}]`);
      // Left out whole: the walk resumes after it.
      rejections.add(1, `${where}.spans[${p}]`, err);
      r.pos = spanEnd;
    }
    p++;
    return true;
  });
  // The scope may follow its spans on the wire.
  for (let k = first; k < out.length; k++) {
    const s = out[k]!;
    s.scopeName = scopeName;
    s.scopeVersion = scopeVersion;
  }
}

function span(r: Reader, end: number, budget: ValueBudget): DecodedSpan {
  budget.reset();
  const s: DecodedSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: {},
    resource: NO_ATTRIBUTES, // set once the enclosing ResourceSpans is read
    scopeName: '',
    scopeVersion: '',
    statusCode: 0,
  };
  let attrs = 0;
  // Inline loop, no per-field callback: this runs once per span and per attribute.
  while (r.pos < end) {
    const tag = r.tag();
    const wire = tag & 7;
    const num = tag >>> 3;
    if (wire === LEN && num === 9) keyValue(r, s.attributes, attrs++, budget);
    else if (wire === LEN && num === 1) s.traceId = id(r.bytes(), 16, 'traceId');
    else if (wire === LEN && num === 2) s.spanId = id(r.bytes(), 8, 'spanId');
    else if (wire === LEN && num === 4) s.parentSpanId = id(r.bytes(), 8, 'parentSpanId');
    else if (wire === LEN && num === 5) s.name = r.string();
    else if (wire === VARINT && num === 6) s.kind = r.int32();
    else if (wire === FIXED64 && (num === 7 || num === 8)) {
      const low = r.fixed32();
      const t = uint64(low, r.fixed32());
      if (num === 7) s.startTimeUnixNano = t;
      else s.endTimeUnixNano = t;
    } else if (wire === LEN && num === 15) s.statusCode = statusCode(r, sub(r));
    else r.skipField(tag);
  }
  ended(r, end);
  return s;
}

function statusCode(r: Reader, end: number): number {
  let code = 0;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((3 << 3) | VARINT)) code = r.int32();
    else r.skipField(tag);
  }
  ended(r, end);
  return code;
}

/** Bytes id → lowercase hex; empty stays '' (invalid but well-formed, see hasValidIds). */
function id(bytes: Uint8Array, size: number, field: string): string {
  if (bytes.length === 0) return '';
  if (bytes.length !== size) fail(field, `expected ${size} bytes, got ${bytes.length}`);
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)).toString('hex');
}

/** One top-level attribute (a KeyValue message at the reader) into `target`; `index` counts them for limits. */
function keyValue(r: Reader, target: Attributes, index: number, budget: ValueBudget): void {
  if (index >= OTLP_LIMITS.maxAttributes) throw new BoundError('attributes', `more than ${OTLP_LIMITS.maxAttributes} attributes`);
  budget.take(1, 'attributes');
  try {
    pair(r, sub(r), target, 0, budget);
  } catch (err) {
    within(err, `attributes[${index}].value`);
  }
}

/** A KeyValue message: `key` (1) and `value` (2, an AnyValue; absent means null). */
function pair(r: Reader, end: number, target: Attributes, depth: number, budget: ValueBudget): void {
  let key = '';
  let value: AttrValue = null;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) key = r.string();
    else if (tag === ((2 << 3) | LEN)) value = anyValue(r, sub(r), depth, budget);
    else r.skipField(tag);
  }
  ended(r, end);
  setAttr(target, key, value);
}

/** An AnyValue message; when several members of its oneof are present, the last one wins (proto3). */
function anyValue(r: Reader, end: number, depth: number, budget: ValueBudget): AttrValue {
  let value: AttrValue = null;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN:
        value = r.string();
        break;
      case (2 << 3) | VARINT:
        value = r.bool();
        break;
      case (3 << 3) | VARINT:
        // Arguments are evaluated in order: the low half is read before `high` is (signed, as int64 wants it).
        value = int64(r.varint64(), r.high | 0);
        break;
      case (4 << 3) | FIXED64:
        value = r.double();
        break;
      case (5 << 3) | LEN:
        value = arrayValue(r, sub(r), depth + 1, budget);
        break;
      case (6 << 3) | LEN:
        value = kvlistValue(r, sub(r), depth + 1, budget);
        break;
      case (7 << 3) | LEN:
        // Copied so a small attribute does not keep the whole request body alive.
        value = new Uint8Array(r.bytes());
        break;
      default:
        r.skipField(tag);
    }
  }
  ended(r, end);
  return value;
}

function arrayValue(r: Reader, end: number, depth: number, budget: ValueBudget): AttrValue[] {
  checkDepth(depth);
  const out: AttrValue[] = [];
  fields(r, end, (num, wire) => {
    if (num !== 1 || wire !== LEN) return false;
    budget.take(1, '');
    try {
      out.push(anyValue(r, sub(r), depth, budget));
    } catch (err) {
      within(err, `arrayValue.values[${out.length}]`);
    }
    return true;
  });
  return out;
}

function kvlistValue(r: Reader, end: number, depth: number, budget: ValueBudget): Attributes {
  checkDepth(depth);
  const out: Attributes = {};
  let i = 0;
  fields(r, end, (num, wire) => {
    if (num !== 1 || wire !== LEN) return false;
    budget.take(1, '');
    try {
      pair(r, sub(r), out, depth, budget);
    } catch (err) {
      within(err, `kvlistValue.values[${i}].value`);
    }
    i++;
    return true;
  });
  return out;
}
