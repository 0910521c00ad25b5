// Quota periods (docs/concepts/quotas.md): calendar hour/day/week/month and billing cycles in an IANA zone, and rolling
// windows. Pure: time is a parameter; luxon only supplies the zone's UTC offset at an instant.
//
// Rules (changing them moves period boundaries, i.e. is a breaking change):
// - A calendar or billing period starts at the first instant whose local wall-clock time is at or after
//   its nominal local start (midnight, Monday 00:00, the 1st 00:00, the anchor's day and time). When that
//   local time does not exist (a DST gap at midnight, e.g. America/Santiago, Asia/Beirut), the period
//   starts at the transition, where the local clock jumps past it (to 01:00). Periods are
//   [start, next start): a day is 23h or 25h across a DST change.
// - Weeks are ISO weeks: Monday 00:00 local.
// - Hour periods also end at every UTC-offset change: the hour repeated by a fall-back transition is two
//   distinct periods; a 30-minute shift (Australia/Lord_Howe) gives 30-minute hour periods.
// - Billing cycles start on the anchor's day of month, clamped to the month's last day (anchor Jan 31 →
//   Feb 28/29 → Mar 31 → Apr 30), at the anchor's local time (00:00 for a bare date), in every month
//   before and after the anchor. An anchor with `Z` or an offset is an instant; its local day and time in
//   the zone are used.
// - Rolling windows are [now - ms, now).
// Assumes a zone changes its UTC offset at most once in any 48 hours (true of tzdata 1900-2100).
import { IANAZone } from 'luxon';
import { formatDuration } from './duration.ts';

export type PeriodSpec =
  | { kind: 'calendar'; unit: 'hour' | 'day' | 'week' | 'month'; timezone: string }
  | { kind: 'billing_cycle'; anchor: string /* YYYY-MM-DD, or full ISO date-time */; timezone: string }
  | { kind: 'rolling'; ms: number };

/** A period as epoch milliseconds, [start, end). */
export interface PeriodWindow { start: number; end: number }

const HOUR = 3_600_000;
const DAY = 86_400_000;
const REACH = 16 * HOUR; // more than any UTC offset ever used, LMT included
const MONDAY = 4 * DAY; // 1970-01-05, a Monday
const ANCHOR = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|([+-])(\d{2}):(\d{2}))?)?$/;

type Offset = (t: number) => number; // UTC offset in ms at an instant
type Segment = { from: number; to: number; offset: number };

/** True when `tz` is a zone of the runtime's tz database (any IANA name, including Etc/* and UTC). */
export function validateTimezone(tz: string): boolean {
  return IANAZone.isValidZone(tz);
}

function offsetFn(tz: string): Offset {
  const zone = IANAZone.create(tz);
  return (t) => Math.round(zone.offset(t) * 60_000);
}

/** Civil date as naive epoch ms (local wall clock written as if it were UTC); months overflow like Date.UTC. */
function civil(y: number, m: number, d: number): number {
  const x = new Date(0);
  x.setUTCFullYear(y, m, d); // unlike Date.UTC, keeps years 0-99 as they are
  return x.getTime();
}

function daysInMonth(y: number, m: number): number {
  return new Date(civil(y, m + 1, 0)).getUTCDate();
}

/** Splits [a, b) into runs of constant UTC offset (at most two: see the 48-hour assumption). */
function segments(off: Offset, a: number, b: number): Segment[] {
  const before = off(a);
  const after = off(b);
  if (before === after) return [{ from: a, to: b, offset: before }];
  let lo = a;
  let hi = b; // bisect to the first millisecond with the new offset
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (off(mid) === before) lo = mid;
    else hi = mid;
  }
  return [{ from: a, to: hi, offset: before }, { from: hi, to: b, offset: after }];
}

/** The first instant whose local wall-clock time is at or after the naive local time `local`. */
function firstAtOrAfter(off: Offset, local: number): number {
  for (const s of segments(off, local - REACH, local + REACH)) {
    const t = Math.max(s.from, local - s.offset);
    if (t < s.to) return t;
  }
  throw new Error('unreachable: UTC offset beyond REACH');
}

/** The period [B(i), B(i+1)) holding `now`, where B(i) is the instant of the i-th nominal local start. */
function locate(off: Offset, now: number, nominal: (i: number) => number, guess: number): PeriodWindow {
  let i = guess;
  let start = firstAtOrAfter(off, nominal(i));
  while (start > now) start = firstAtOrAfter(off, nominal(--i));
  let end = firstAtOrAfter(off, nominal(i + 1));
  while (end <= now) {
    start = end; // periods whose local start was skipped entirely (Pacific/Apia 2011-12-30) are empty
    end = firstAtOrAfter(off, nominal(++i + 1));
  }
  return { start, end };
}

/** Local clock hours, also split at offset changes. */
function hourAt(off: Offset, now: number): PeriodWindow {
  for (const s of segments(off, now - HOUR, now + HOUR)) {
    if (now < s.from || now >= s.to) continue;
    const h = Math.floor((now + s.offset) / HOUR) * HOUR - s.offset;
    return { start: Math.max(h, s.from), end: Math.min(h + HOUR, s.to) };
  }
  throw new Error('unreachable: now outside its own segments');
}

type Anchor = { ok: true; day: number; time: number } | { ok: false; error: string };

function parseAnchor(anchor: string, timezone: string): Anchor {
  const m = ANCHOR.exec(anchor);
  const bad: Anchor = { ok: false, error: `billing_cycle anchor ${JSON.stringify(anchor)}: expected a real date or date-time, YYYY-MM-DD or YYYY-MM-DDTHH:mm[:ss[.SSS]][Z|±HH:mm]` };
  if (m === null) return bad;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, zh = 0, zm = 0] = [1, 2, 3, 4, 5, 6, 10, 11].map((g) => Number(m[g] ?? 0));
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo - 1) || h > 23 || mi > 59 || s > 59 || zh > 23 || zm > 59) return bad;
  let local = civil(y, mo - 1, d) + h * HOUR + mi * 60_000 + s * 1000 + Number((m[7] ?? '').padEnd(3, '0'));
  if (m[8] !== undefined) {
    const instant = local - (m[9] === '-' ? -1 : 1) * (zh * HOUR + zm * 60_000);
    local = instant + offsetFn(timezone)(instant);
  }
  const time = ((local % DAY) + DAY) % DAY;
  return { ok: true, day: new Date(local - time).getUTCDate(), time };
}

/**
 * Shortest rolling window, and its granularity: usage is summed per minute, so a window is a whole number of
 * minutes (a 30 s or 90 s window would silently count whole minutes anyway). Checked where a policy is written.
 */
export const MIN_ROLLING_MS = 60_000;

/** Why a rolling length cannot be written in a policy (under a minute, or not whole minutes); undefined when it can. */
export function rollingLengthProblem(ms: number): string | undefined {
  if (ms < MIN_ROLLING_MS) return 'shorter than the smallest rolling window, 1m: usage is counted per minute';
  if (ms % MIN_ROLLING_MS !== 0) return 'not a whole number of minutes: usage is counted per minute (e.g. 1m, 15m, 1h30m)';
  return undefined;
}

/** Longest rolling window: ten years (longer ones reach back before the stored years and fail every read). */
export const MAX_ROLLING_MS = 3660 * 86_400_000;

/** Checks a spec before use: the zone exists, the anchor parses, a rolling length is a positive whole ms of at most ten years. */
export function validatePeriodSpec(spec: PeriodSpec): { ok: true } | { ok: false; error: string } {
  if (spec.kind === 'rolling') {
    if (!Number.isSafeInteger(spec.ms) || spec.ms <= 0) return { ok: false, error: `rolling period: length must be a positive whole number of ms, got ${spec.ms}` };
    return spec.ms <= MAX_ROLLING_MS ? { ok: true } : { ok: false, error: `rolling period: at most 3660d, ten years (got ${Math.round(spec.ms / 86_400_000)}d)` };
  }
  // IANAZone.create caches the zone and its validity; isValidZone builds a formatter per call (~150 µs).
  if (!IANAZone.create(spec.timezone).isValid) return { ok: false, error: `unknown time zone ${JSON.stringify(spec.timezone)}: expected an IANA name such as UTC, Europe/Berlin or Etc/GMT+5` };
  if (spec.kind === 'calendar') return { ok: true };
  const a = parseAnchor(spec.anchor, spec.timezone);
  return a.ok ? { ok: true } : a;
}

/** The period of `spec` that contains `nowMs` (epoch ms). Throws on a spec validatePeriodSpec rejects. */
export function periodAt(spec: PeriodSpec, nowMs: number): PeriodWindow {
  const valid = validatePeriodSpec(spec);
  if (!valid.ok) throw new RangeError(valid.error);
  if (!Number.isFinite(nowMs)) throw new RangeError(`periodAt: now is not a finite number: ${nowMs}`);
  if (spec.kind === 'rolling') return { start: nowMs - spec.ms, end: nowMs };
  const off = offsetFn(spec.timezone);
  const local = nowMs + off(nowMs);
  const date = new Date(local);
  const monthIndex = date.getUTCFullYear() * 12 + date.getUTCMonth();
  const month = (i: number) => ({ y: Math.floor(i / 12), m: i - 12 * Math.floor(i / 12) });
  if (spec.kind === 'billing_cycle') {
    const a = parseAnchor(spec.anchor, spec.timezone);
    if (!a.ok) throw new RangeError(a.error);
    const cycle = (i: number) => {
      const { y, m } = month(i);
      return civil(y, m, Math.min(a.day, daysInMonth(y, m))) + a.time;
    };
    return locate(off, nowMs, cycle, monthIndex);
  }
  switch (spec.unit) {
    case 'hour':
      return hourAt(off, nowMs);
    case 'day':
      return locate(off, nowMs, (i) => i * DAY, Math.floor(local / DAY));
    case 'week':
      return locate(off, nowMs, (i) => MONDAY + i * 7 * DAY, Math.floor((local - MONDAY) / (7 * DAY)));
    case 'month':
      return locate(off, nowMs, (i) => civil(month(i).y, month(i).m, 1), monthIndex);
  }
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** ISO 8601 week (`2026-W01`) of a naive local time. */
function isoWeek(local: number): string {
  const day = Math.floor(local / DAY) * DAY;
  const thursday = day - ((new Date(day).getUTCDay() + 6) % 7) * DAY + 3 * DAY;
  const year = new Date(thursday).getUTCFullYear();
  return `${year}-W${pad(Math.floor((thursday - civil(year, 0, 1)) / (7 * DAY)) + 1)}`;
}

/**
 * Stable id of a period from periodAt, e.g. `day@Europe/Berlin:2026-03-29`, `hour@Europe/Berlin:2026-10-25T02:00+01:00`.
 * A rolling window has no period of its own: its key names the epoch-aligned block of the window's length
 * that holds the window's last instant (`rolling@24h:2026-03-29T00:00:00.000Z`), so whatever is keyed
 * on it (a threshold firing) happens at most once per window length.
 */
export function periodKey(spec: PeriodSpec, w: PeriodWindow): string {
  if (spec.kind === 'rolling') {
    const block = Math.floor((w.end - 1) / spec.ms) * spec.ms;
    return `rolling@${formatDuration(spec.ms)}:${new Date(block).toISOString()}`;
  }
  const o = offsetFn(spec.timezone)(w.start);
  const local = new Date(w.start + o).toISOString(); // the local wall clock; its `Z` is meaningless
  const at = `@${spec.timezone}:`;
  if (spec.kind === 'billing_cycle') return `billing_cycle${at}${local.slice(0, 10)}`;
  switch (spec.unit) {
    case 'hour': {
      const minutes = Math.round(Math.abs(o) / 60_000);
      const offset = `${o < 0 ? '-' : '+'}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
      return `hour${at}${local.slice(0, 16)}${offset}`;
    }
    case 'day':
      return `day${at}${local.slice(0, 10)}`;
    case 'week':
      return `week${at}${isoWeek(w.start + o)}`;
    case 'month':
      return `month${at}${local.slice(0, 7)}`;
  }
}
