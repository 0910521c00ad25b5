import type { AttrValue, Attributes, DecodedSpan } from '../../core/usage/types.ts';

/** Outcome of decoding one OTLP/HTTP request body; never thrown. */
export type DecodeResult = { ok: true; spans: DecodedSpan[] } | { ok: false; error: string };

/**
 * Bounds on hostile input. Exceeding any of them rejects the whole request (400), because a
 * span cut short could lose the very attribute that meters it.
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
    if (this.remaining < 0) fail(path, `more than ${OTLP_LIMITS.maxValues} attribute values (nested elements count)`);
  }
}

export function checkSpanCount(n: number): void {
  if (n > OTLP_LIMITS.maxSpans) fail('', `more than ${OTLP_LIMITS.maxSpans} spans in one request; send smaller batches`);
}

export function checkDepth(depth: number): void {
  if (depth > OTLP_LIMITS.maxDepth) fail('', `nested deeper than ${OTLP_LIMITS.maxDepth} levels`);
}

export function checkAttributeCount(n: number): void {
  if (n > OTLP_LIMITS.maxAttributes) fail('attributes', `more than ${OTLP_LIMITS.maxAttributes} attributes`);
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
