import { fail, show } from './decode-common.ts';

// Scalar readers for OTLP/JSON (proto3 JSON mapping with OTLP's deviations). `null` and a
// missing field both mean the proto3 default. Each throws a DecodeError naming `path`.

export type JsonObject = Record<string, unknown>;

const EMPTY: unknown[] = [];

export function obj(v: unknown, path: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object' && !Array.isArray(v)) return v as JsonObject;
  return fail(path, `expected an object, got ${show(v)}`);
}

export function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return EMPTY;
  if (Array.isArray(v)) return v;
  return fail(path, `expected an array, got ${show(v)}`);
}

export function str(v: unknown, path: string): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return fail(path, `expected a string, got ${show(v)}`);
}

const LOWER_HEX: Record<number, RegExp> = { 32: /^[0-9a-f]{32}$/, 16: /^[0-9a-f]{16}$/ };
const ANY_HEX: Record<number, RegExp> = { 32: /^[0-9a-fA-F]{32}$/, 16: /^[0-9a-fA-F]{16}$/ };

/** A hex id (case-insensitive) → lowercase; '' when absent (invalid but well-formed, see hasValidIds). */
export function hexId(v: unknown, chars: 32 | 16, path: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string' && v.length === chars) {
    if (LOWER_HEX[chars]!.test(v)) return v;
    if (ANY_HEX[chars]!.test(v)) return v.toLowerCase();
  }
  // 16 bytes are 24 base64 chars, 8 bytes 12: the proto3 JSON mapping's encoding, not OTLP's.
  const base64 = typeof v === 'string' && v.length === (chars === 32 ? 24 : 12) ? ' (OTLP/JSON ids are hex, not base64)' : '';
  return fail(path, `expected ${chars} hex chars, got ${show(v)}${base64}`);
}

/** An enum as its number (what OTLP/JSON sends) or its proto name. */
export function enumValue(v: unknown, names: Readonly<Record<string, number>>, path: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return v;
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string' && Object.hasOwn(names, v)) return names[v]!;
  return fail(path, `expected an enum number or one of ${Object.keys(names).join(', ')}, got ${show(v)}`);
}

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UNSIGNED = /^\d{1,20}$/;
const SIGNED = /^-?\d{1,19}$/;

/** fixed64 nanoseconds, as a decimal string (what exporters send) or a JSON number. */
export function timestamp(v: unknown, path: string): bigint {
  if (typeof v === 'string' && UNSIGNED.test(v)) {
    const n = BigInt(v);
    if (n <= UINT64_MAX) return n;
  } else if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 2 ** 64) {
    return BigInt(v);
  } else if (v === undefined || v === null) {
    return 0n;
  }
  return fail(path, `expected unsigned nanoseconds as a decimal string or integer, got ${show(v)}`);
}

/** int64 as string or number → number when safe, else bigint. */
export function intValue(v: unknown, path: string): number | bigint {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    if (Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63) return BigInt(v);
  } else if (typeof v === 'string' && SIGNED.test(v)) {
    if (v.length <= 15) return Number(v);
    const n = BigInt(v);
    if (n >= INT64_MIN && n <= INT64_MAX) return Number.isSafeInteger(Number(n)) ? Number(n) : n;
  }
  return fail(path, `expected a 64-bit integer as a decimal string or number, got ${show(v)}`);
}

const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** double as a number, a decimal string, or "NaN" / "Infinity" / "-Infinity". */
export function doubleValue(v: unknown, path: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (DECIMAL.test(v)) return Number(v);
  }
  return fail(path, `expected a number, got ${show(v)}`);
}

const BASE64 = /^(?:[A-Za-z0-9+/]*|[A-Za-z0-9_-]*)={0,2}$/;

/** bytes as standard or URL-safe base64, padding optional → a fresh Uint8Array. */
export function bytesValue(v: unknown, path: string): Uint8Array {
  if (typeof v === 'string' && BASE64.test(v) && v.replace(/=+$/, '').length % 4 !== 1) {
    return new Uint8Array(Buffer.from(v, 'base64'));
  }
  return fail(path, `expected base64 bytes, got ${show(v)}`);
}
