import type { AttrValue, Attributes, DecodedSpan } from '../../core/usage/types.ts';

/** Spans left out of a decoded request because they broke a per-span bound: how many, and the first reason. */
export interface RejectedSpans {
  spans: number;
  message: string;
}

/** Outcome of decoding one OTLP/HTTP request body; never thrown. `rejected` only when some spans were left out. */
export type DecodeResult = { ok: true; spans: DecodedSpan[]; rejected?: RejectedSpans } | { ok: false; error: string };

/**
 * Bounds on hostile input. A span (or resource) over a per-span bound is left out whole, never cut short (that
 * could lose the very attribute that meters it), and reported through partialSuccess; the spans beside it are
 * kept. The span count bounds the request: past it the whole request is rejected (400).
 */
export const OTLP_LIMITS = {
  /** Nesting of arrayValue/kvlistValue inside one attribute value. */
  maxDepth: 32,
  /** Top-level attributes of one span or resource (scope attributes are not decoded). */
  maxAttributes: 1024,
  /** All values of one span's attributes, each nested array element and kvlist entry included. */
  maxValues: 16_384,
  /**
   * Spans in one request. Real exporters spend >= ~60 bytes per span, so at the default 8 MiB
   * body limit only a hostile body (up to 4M empty spans) gets here. Checked after protobufjs
   * has decoded the message, so it bounds what the walk allocates, not protobufjs itself.
   */
  maxSpans: 200_000,
} as const;

/** Internal: a decoding problem at a path, built up segment by segment while unwinding. */
export class DecodeError extends Error {
  path: string;
  detail: string;

  constructor(path: string, detail: string) {
    super(detail);
    this.path = path;
    this.detail = detail;
  }
}

/** Rethrow `err` with `segment` prepended to its path (other errors pass through). */
/** A per-span bound was exceeded: the span (or the spans of a resource) is left out, not the request. */
export class BoundError extends DecodeError {}

/** Tallies the spans left out of one request. */
export class Rejections {
  spans = 0;
  message = '';

  /** Leaves out `count` spans for `err` (a BoundError), located under `prefix`. */
  add(count: number, prefix: string, err: BoundError): void {
    if (count <= 0) return;
    this.spans += count;
    this.message ||= `${shorten(err.path === '' ? prefix : `${prefix}.${err.path}`)}: ${err.detail}`;
  }

  result(spans: DecodedSpan[]): DecodeResult {
    return this.spans === 0 ? { ok: true, spans } : { ok: true, spans, rejected: { spans: this.spans, message: this.message } };
  }
}

export function within(err: unknown, segment: string): never {
  if (err instanceof DecodeError) err.path = err.path === '' ? segment : `${segment}.${err.path}`;
  throw err;
}

export function fail(path: string, detail: string): never {
  throw new DecodeError(path, detail);
}

/** Turn anything caught at the top of a decoder into the public failure shape. */
export function failure(err: unknown, prefix: string): { ok: false; error: string } {
  if (err instanceof DecodeError) return { ok: false, error: err.path === '' ? err.detail : `${shorten(err.path)}: ${err.detail}` };
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, error: `${prefix}: ${message}` };
}

/** Keep deep paths readable: the head says which span, the tail which value. */
function shorten(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 120)}...${path.slice(-60)}`;
}

/** Per-span budget of attribute values, reset for every span, resource and scope. */
export class ValueBudget {
  remaining: number = OTLP_LIMITS.maxValues;

  reset(): void {
    this.remaining = OTLP_LIMITS.maxValues;
  }

  take(n: number, path: string): void {
    this.remaining -= n;
    if (this.remaining < 0) throw new BoundError(path, `more than ${OTLP_LIMITS.maxValues} attribute values (nested elements count)`);
  }
}

export function checkSpanCount(n: number): void {
  if (n > OTLP_LIMITS.maxSpans) fail('', `more than ${OTLP_LIMITS.maxSpans} spans in one request; send smaller batches`);
}

export function checkDepth(depth: number): void {
  if (depth > OTLP_LIMITS.maxDepth) throw new BoundError('', `nested deeper than ${OTLP_LIMITS.maxDepth} levels`);
}

export function checkAttributeCount(n: number): void {
  if (n > OTLP_LIMITS.maxAttributes) throw new BoundError('attributes', `more than ${OTLP_LIMITS.maxAttributes} attributes`);
}

/** Assign without letting a `__proto__` key swap the object's prototype. */
export function setAttr(target: Attributes, key: string, value: AttrValue): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

const TWO_32 = 4294967296;

/** A signed 64-bit integer from its halves: number when safe, else bigint. */
export function int64(low: number, high: number): number | bigint {
  const n = high * TWO_32 + (low >>> 0);
  if (Number.isSafeInteger(n)) return n;
  return BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0));
}

/** An unsigned 64-bit integer from its halves, as bigint. */
export function uint64(low: number, high: number): bigint {
  return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
}

/** Short rendering of an offending value for error messages. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'bigint' ? value.toString() : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * True when the span's ids can key a usage event. Decoding keeps empty ('') and all-zero ids,
 * which OTLP calls invalid but are well-formed, so the mapper can reject just that span
 * through partialSuccess instead of failing the request.
 */
export function hasValidIds(span: Pick<DecodedSpan, 'traceId' | 'spanId'>): boolean {
  return span.traceId.length === 32 && span.spanId.length === 16 && span.traceId !== ZERO_TRACE && span.spanId !== ZERO_SPAN;
}
