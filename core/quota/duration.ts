// Duration strings from config and the API (docs/configuration.md: `500ms`, `5s`, `15m`, `24h`, `7d`).
// Also accepted: `w` (7 days) and compounds from the largest unit down, each unit once (`1h30m`, `1d12h`).
// Whole numbers only: `1.5h` is rejected with a hint to write `1h30m`. Zero is accepted; whether zero
// makes sense is the caller's call. Every unit is a fixed length (a day is 24h), so these are exact spans,
// not calendar arithmetic.

export type DurationResult = { ok: true; ms: number } | { ok: false; error: string };

const UNITS = [
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

// `ms` must come before `m` so `5ms` is not read as 5 minutes followed by garbage.
const PART = /(\d+)(ms|w|d|h|m|s)/y;
const EXPECTED = 'expected a whole number and a unit (ms, s, m, h, d, w), e.g. 500ms, 15m, 24h, 1h30m';

function fail(input: string, why: string): DurationResult {
  return { ok: false, error: `invalid duration ${JSON.stringify(input)}: ${why}` };
}

/** Parses a duration string into milliseconds. */
export function parseDuration(s: string): DurationResult {
  const text = s.trim();
  if (text === '') return fail(s, `empty; ${EXPECTED}`);
  if (text.startsWith('-')) return fail(s, 'must not be negative');
  if (/^\d+$/.test(text)) return fail(s, `missing unit; ${EXPECTED}`);
  if (/\d[.,]\d/.test(text)) return fail(s, 'use whole numbers (write 1h30m, not 1.5h)');
  let total = 0;
  let rank = -1;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (m === null) return fail(s, EXPECTED);
    const digits = m[1] ?? '';
    const unit = m[2] ?? '';
    const r = UNITS.findIndex(([u]) => u === unit);
    if (r <= rank) return fail(s, 'units must go from largest to smallest, each once (e.g. 1h30m)');
    rank = r;
    total += Number(digits) * (UNITS[r]?.[1] ?? 1);
    if (digits.length > 16 || !Number.isSafeInteger(total)) return fail(s, 'too large');
    pos = PART.lastIndex;
  }
  return { ok: true, ms: total };
}

/** Formats milliseconds compactly (`1h30m`, `24h`, `7d`, `1s500ms`, `0ms`); parseDuration reads it back. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`formatDuration: not a finite number: ${ms}`);
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return '0ms';
  let out = ms < 0 ? '-' : '';
  // People say "24h" and "36h" but "7d", never "1w": days start at 48h, weeks are never written.
  for (const [unit, size] of UNITS.slice(rest >= 2 * 86_400_000 ? 1 : 2)) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
