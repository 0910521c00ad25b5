// A lone UTF-16 surrogate ("\ud800" in a JSON string) has no UTF-8 form: ClickHouse refuses the whole JSON row that
// carries one, and a queue that retries the refused insert stops everything behind it. Every string that comes in
// (API bodies) or goes to the store is made well formed the way any UTF-8 encoder would: U+FFFD for the lone half.
// String.prototype.isWellFormed / toWellFormed are native in Node 20 (ES2024), much cheaper than a regex scan.
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** True when `s` holds no lone surrogate. */
export const isWellFormedText = (s: string): boolean => (s as unknown as WellFormedString).isWellFormed();

/** `s` with each lone surrogate replaced by U+FFFD (`s` itself when it has none). */
export const wellFormedText = (s: string): string => (isWellFormedText(s) ? s : (s as unknown as WellFormedString).toWellFormed());

function hasLoneSurrogate(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return !isWellFormedText(v);
  if (typeof v !== 'object' || v === null || depth > 64) return false;
  if (Array.isArray(v)) return v.some((x) => hasLoneSurrogate(x, depth + 1));
  for (const [k, x] of Object.entries(v)) if (!isWellFormedText(k) || hasLoneSurrogate(x, depth + 1)) return true;
  return false;
}

function fix(v: unknown): unknown {
  if (typeof v === 'string') return wellFormedText(v);
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(fix);
  // Plain JSON-like objects only (rows, parsed bodies): a Date or Buffer is kept as it is.
  if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [wellFormedText(k), fix(x)]));
}

/** A JSON-like value with every string (keys too) well formed; the same value when nothing needed fixing. */
export function wellFormedDeep<T>(v: T): T {
  return hasLoneSurrogate(v, 0) ? (fix(v) as T) : v;
}
