// Number and time formatting shared by the page and the browser test (which checks the page shows the API's
// numbers). Pure: no DOM, no clock.

const usd2 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usd4 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 4, maximumFractionDigits: 4 });
const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });

/** `$1,234.56`; amounts under a cent keep four decimals so they do not read as zero. */
export function formatUsd(n: number): string {
  return n !== 0 && Math.abs(n) < 0.01 ? usd4.format(n) : usd2.format(n);
}

/** `1,234,567` for counts; fractional quantities (compute hours) keep up to four decimals. */
export function formatCount(n: number): string {
  return Number.isInteger(n) ? count.format(n) : decimal.format(n);
}

/** A value of a quota dimension: money for cost_usd, a count otherwise. */
export function formatDimension(dimension: string, n: number): string {
  return dimension === 'cost_usd' ? formatUsd(n) : formatCount(n);
}

/** `42%` (one decimal under 10 %). */
export function formatPercent(ratio: number): string {
  const p = ratio * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p).toString()}%`;
}

/** `2026-12-03 09:15 UTC`: one unambiguous zone for everyone looking at the same incident. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `3.2×` for a ratio of now to usual. */
export function formatRatio(r: number): string {
  return `${r >= 10 ? Math.round(r).toString() : r.toFixed(1)}×`;
}

export const DIMENSION_LABELS: Record<string, string> = {
  cost_usd: 'Spend (USD)',
  tokens: 'Tokens',
  input_tokens: 'Input tokens',
  output_tokens: 'Output tokens',
  cached_tokens: 'Cached tokens',
  reasoning_tokens: 'Reasoning tokens',
  cache_write_tokens: 'Cache-write tokens',
  requests: 'Requests',
  tool_calls: 'Tool calls',
  compute_hours: 'Compute hours',
};

// Bidi controls reorder what follows them (an id "k-\u202Egnp.exe" reads "k-exe.png" and flips the rest of an
// incident's sentence); zero-width characters make two ids look alike. Text on the page shows them as a visible
// code point. ZWJ stays: emoji sequences need it.
const INVISIBLE = /[\u061C\u200B\u200C\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/g;

/** Text as the page shows it: each bidi control and zero-width character written as "[U+XXXX]". */
export function shownText(s: string): string {
  return s.replace(INVISIBLE, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}
