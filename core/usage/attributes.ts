import type { AttrValue, Attributes } from './types.ts';

/** First attribute among `names` present on the span, then on the resource. */
export function lookup(span: Attributes, resource: Attributes, names: readonly string[]): AttrValue | undefined {
  for (const n of names) {
    const v = span[n];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  for (const n of names) {
    const v = resource[n];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

export function asString(v: AttrValue | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return '';
}

/** An attribute value as a message shows it: numbers and bigints exactly, strings quoted, at most 80 characters. */
export function showValue(v: AttrValue | undefined): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  const text = typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' ? String(v) : JSON.stringify(v ?? null, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x instanceof Uint8Array ? `${x.length} bytes` : x));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A numeric attribute: numbers, bigints and numeric strings (some SDKs stringify). NaN when present but not numeric. */
export function asNumber(v: AttrValue | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return Number.NaN;
}

/** First numeric attribute among names on the span (usage is never taken from the resource). */
export function firstNumber(attrs: Attributes, names: readonly string[]): { name: string; value: number } | undefined {
  for (const name of names) {
    const n = asNumber(attrs[name]);
    if (n !== undefined) return { name, value: n };
  }
  return undefined;
}
