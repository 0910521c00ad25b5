import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { periodAt, periodKey, validatePeriodSpec, validateTimezone } from '../../core/quota/period.ts';
import type { PeriodSpec } from '../../core/quota/period.ts';

type Unit = 'hour' | 'day' | 'week' | 'month';
const cal = (unit: Unit, timezone: string): PeriodSpec => ({ kind: 'calendar', unit, timezone });
const bill = (anchor: string, timezone = 'UTC'): PeriodSpec => ({ kind: 'billing_cycle', anchor, timezone });
const iso = (t: number): string => new Date(t).toISOString().replace(':00.000Z', 'Z');
const at = (spec: PeriodSpec, now: string) => {
  const w = periodAt(spec, Date.parse(now));
  return { start: iso(w.start), end: iso(w.end), hours: (w.end - w.start) / 3_600_000, key: periodKey(spec, w) };
};

// [zone, unit, now, start, end, hours]: instants in UTC, so a DST bug cannot hide behind the same bug in the test.
const calendarRows: [string, Unit, string, string, string, number][] = [
  // UTC day boundary, to the millisecond
  ['UTC', 'day', '2026-03-15T23:59:59.999Z', '2026-03-15T00:00Z', '2026-03-16T00:00Z', 24],
  ['UTC', 'day', '2026-03-16T00:00:00.000Z', '2026-03-16T00:00Z', '2026-03-17T00:00Z', 24],
  ['UTC', 'hour', '2026-03-16T10:59:59.999Z', '2026-03-16T10:00Z', '2026-03-16T11:00Z', 1],
  ['Etc/UTC', 'month', '2026-03-31T23:59:59.999Z', '2026-03-01T00:00Z', '2026-04-01T00:00Z', 744],
  // Europe/Berlin: spring forward 2026-03-29 02:00 CET → 03:00 CEST, fall back 2026-10-25 03:00 CEST → 02:00 CET
  ['Europe/Berlin', 'day', '2026-03-29T12:00:00Z', '2026-03-28T23:00Z', '2026-03-29T22:00Z', 23],
  ['Europe/Berlin', 'day', '2026-10-25T12:00:00Z', '2026-10-24T22:00Z', '2026-10-25T23:00Z', 25],
  ['Europe/Berlin', 'day', '2026-03-15T22:59:59.999Z', '2026-03-14T23:00Z', '2026-03-15T23:00Z', 24],
  ['Europe/Berlin', 'day', '2026-03-15T23:00:00.000Z', '2026-03-15T23:00Z', '2026-03-16T23:00Z', 24],
  ['Europe/Berlin', 'hour', '2026-03-29T00:59:59.999Z', '2026-03-29T00:00Z', '2026-03-29T01:00Z', 1],
  ['Europe/Berlin', 'hour', '2026-03-29T01:00:00.000Z', '2026-03-29T01:00Z', '2026-03-29T02:00Z', 1],
  ['Europe/Berlin', 'hour', '2026-10-25T00:30:00Z', '2026-10-25T00:00Z', '2026-10-25T01:00Z', 1],
  ['Europe/Berlin', 'hour', '2026-10-25T01:30:00Z', '2026-10-25T01:00Z', '2026-10-25T02:00Z', 1],
  ['Europe/Berlin', 'week', '2026-03-25T12:00:00Z', '2026-03-22T23:00Z', '2026-03-29T22:00Z', 167],
  ['Europe/Berlin', 'week', '2026-10-21T12:00:00Z', '2026-10-18T22:00Z', '2026-10-25T23:00Z', 169],
  ['Europe/Berlin', 'month', '2026-03-15T12:00:00Z', '2026-02-28T23:00Z', '2026-03-31T22:00Z', 743],
  ['Europe/Berlin', 'month', '2026-10-31T22:59:59.999Z', '2026-09-30T22:00Z', '2026-10-31T23:00Z', 745],
  ['Europe/Berlin', 'month', '2026-12-31T23:00:00.000Z', '2026-12-31T23:00Z', '2027-01-31T23:00Z', 744],
  // America/New_York: 2026-03-08 02:00 EST → 03:00 EDT, 2026-11-01 02:00 EDT → 01:00 EST
  ['America/New_York', 'day', '2026-03-08T12:00:00Z', '2026-03-08T05:00Z', '2026-03-09T04:00Z', 23],
  ['America/New_York', 'day', '2026-11-01T12:00:00Z', '2026-11-01T04:00Z', '2026-11-02T05:00Z', 25],
  ['America/New_York', 'hour', '2026-03-08T06:30:00Z', '2026-03-08T06:00Z', '2026-03-08T07:00Z', 1],
  ['America/New_York', 'hour', '2026-03-08T07:00:00Z', '2026-03-08T07:00Z', '2026-03-08T08:00Z', 1],
  ['America/New_York', 'hour', '2026-11-01T05:59:59.999Z', '2026-11-01T05:00Z', '2026-11-01T06:00Z', 1],
  ['America/New_York', 'hour', '2026-11-01T06:00:00.000Z', '2026-11-01T06:00Z', '2026-11-01T07:00Z', 1],
  ['America/New_York', 'week', '2026-11-01T12:00:00Z', '2026-10-26T04:00Z', '2026-11-02T05:00Z', 169],
  ['America/New_York', 'week', '2026-03-09T03:59:59.999Z', '2026-03-02T05:00Z', '2026-03-09T04:00Z', 167],
  ['America/New_York', 'month', '2026-11-15T12:00:00Z', '2026-11-01T04:00Z', '2026-12-01T05:00Z', 721],
  // Australia/Lord_Howe: 30-minute DST. 2026-04-05 02:00 +11 → 01:30 +10:30; 2026-10-04 02:00 +10:30 → 02:30 +11
  ['Australia/Lord_Howe', 'day', '2026-04-05T00:00:00Z', '2026-04-04T13:00Z', '2026-04-05T13:30Z', 24.5],
  ['Australia/Lord_Howe', 'day', '2026-10-04T00:00:00Z', '2026-10-03T13:30Z', '2026-10-04T13:00Z', 23.5],
  ['Australia/Lord_Howe', 'hour', '2026-04-04T14:59:59.999Z', '2026-04-04T14:00Z', '2026-04-04T15:00Z', 1],
  ['Australia/Lord_Howe', 'hour', '2026-04-04T15:00:00.000Z', '2026-04-04T15:00Z', '2026-04-04T15:30Z', 0.5],
  ['Australia/Lord_Howe', 'hour', '2026-04-04T15:30:00.000Z', '2026-04-04T15:30Z', '2026-04-04T16:30Z', 1],
  ['Australia/Lord_Howe', 'hour', '2026-10-03T15:29:59.999Z', '2026-10-03T14:30Z', '2026-10-03T15:30Z', 1],
  ['Australia/Lord_Howe', 'hour', '2026-10-03T15:30:00.000Z', '2026-10-03T15:30Z', '2026-10-03T16:00Z', 0.5],
  ['Australia/Lord_Howe', 'hour', '2026-10-03T16:00:00.000Z', '2026-10-03T16:00Z', '2026-10-03T17:00Z', 1],
  ['Australia/Lord_Howe', 'week', '2026-04-01T00:00:00Z', '2026-03-29T13:00Z', '2026-04-05T13:30Z', 168.5],
  ['Australia/Lord_Howe', 'week', '2026-10-01T00:00:00Z', '2026-09-27T13:30Z', '2026-10-04T13:00Z', 167.5],
  // Nonexistent local midnight: the period starts at the transition (local clock shows 01:00)
  ['America/Santiago', 'day', '2026-09-06T12:00:00Z', '2026-09-06T04:00Z', '2026-09-07T03:00Z', 23],
  ['America/Santiago', 'day', '2026-09-06T03:59:59.999Z', '2026-09-05T04:00Z', '2026-09-06T04:00Z', 24],
  ['America/Santiago', 'day', '2026-04-04T12:00:00Z', '2026-04-04T03:00Z', '2026-04-05T04:00Z', 25],
  ['America/Santiago', 'hour', '2026-09-06T04:00:00Z', '2026-09-06T04:00Z', '2026-09-06T05:00Z', 1],
  ['Asia/Beirut', 'day', '2026-03-29T12:00:00Z', '2026-03-28T22:00Z', '2026-03-29T21:00Z', 23],
  ['Asia/Beirut', 'week', '2026-03-26T12:00:00Z', '2026-03-22T22:00Z', '2026-03-29T21:00Z', 167],
  // Beirut falls back at midnight: 2026-10-25 00:00 EEST → 2026-10-24 23:00 EET; the day before is 25h
  ['Asia/Beirut', 'day', '2026-10-24T21:30:00Z', '2026-10-23T21:00Z', '2026-10-24T22:00Z', 25],
  ['Asia/Beirut', 'day', '2026-10-24T22:00:00Z', '2026-10-24T22:00Z', '2026-10-25T22:00Z', 24],
  ['Asia/Beirut', 'hour', '2026-10-24T20:30:00Z', '2026-10-24T20:00Z', '2026-10-24T21:00Z', 1],
  ['Asia/Beirut', 'hour', '2026-10-24T21:30:00Z', '2026-10-24T21:00Z', '2026-10-24T22:00Z', 1],
  // Pacific/Apia skipped 2011-12-30 entirely: the 29th runs into the 31st, and that week has six days
  ['Pacific/Apia', 'day', '2011-12-30T09:59:59.999Z', '2011-12-29T10:00Z', '2011-12-30T10:00Z', 24],
  ['Pacific/Apia', 'day', '2011-12-30T10:00:00.000Z', '2011-12-30T10:00Z', '2011-12-31T10:00Z', 24],
  ['Pacific/Apia', 'week', '2011-12-30T12:00:00Z', '2011-12-26T10:00Z', '2012-01-01T10:00Z', 144],
  // Fixed-offset zones (Etc/GMT+5 is UTC-5) and a :45 offset
  ['Etc/GMT+5', 'day', '2026-03-15T04:59:59.999Z', '2026-03-14T05:00Z', '2026-03-15T05:00Z', 24],
  ['Etc/GMT+5', 'day', '2026-03-15T05:00:00.000Z', '2026-03-15T05:00Z', '2026-03-16T05:00Z', 24],
  ['Etc/GMT+5', 'month', '2026-12-31T23:00:00Z', '2026-12-01T05:00Z', '2027-01-01T05:00Z', 744],
  ['Etc/GMT-14', 'day', '2026-03-15T09:59:59.999Z', '2026-03-14T10:00Z', '2026-03-15T10:00Z', 24],
  ['Asia/Kathmandu', 'hour', '2026-03-15T12:14:59.999Z', '2026-03-15T11:15Z', '2026-03-15T12:15Z', 1],
  // Month ends, leap years, year boundary
  ['UTC', 'month', '2028-02-29T12:00:00Z', '2028-02-01T00:00Z', '2028-03-01T00:00Z', 696],
  ['UTC', 'month', '2027-02-28T23:59:59.999Z', '2027-02-01T00:00Z', '2027-03-01T00:00Z', 672],
  ['UTC', 'day', '2028-02-29T23:59:59.999Z', '2028-02-29T00:00Z', '2028-03-01T00:00Z', 24],
  ['UTC', 'month', '2026-12-31T23:59:59.999Z', '2026-12-01T00:00Z', '2027-01-01T00:00Z', 744],
  ['UTC', 'day', '2027-01-01T00:00:00.000Z', '2027-01-01T00:00Z', '2027-01-02T00:00Z', 24],
  ['Europe/Berlin', 'day', '2026-12-31T23:00:00.000Z', '2026-12-31T23:00Z', '2027-01-01T23:00Z', 24],
  // ISO weeks start on Monday, also across a year boundary
  ['UTC', 'week', '2026-03-15T23:59:59.999Z', '2026-03-09T00:00Z', '2026-03-16T00:00Z', 168],
  ['UTC', 'week', '2026-03-16T00:00:00.000Z', '2026-03-16T00:00Z', '2026-03-23T00:00Z', 168],
  ['UTC', 'week', '2027-01-01T12:00:00Z', '2026-12-28T00:00Z', '2027-01-04T00:00Z', 168],
  ['UTC', 'week', '2025-12-31T12:00:00Z', '2025-12-29T00:00Z', '2026-01-05T00:00Z', 168],
  ['Asia/Tokyo', 'week', '2026-12-27T15:00:00Z', '2026-12-27T15:00Z', '2027-01-03T15:00Z', 168],
  ['America/New_York', 'week', '2027-01-03T23:00:00Z', '2026-12-28T05:00Z', '2027-01-04T05:00Z', 168],
];

describe('periodAt: calendar periods', () => {
  it.each(calendarRows)('%s %s at %s → [%s, %s) %dh', (zone, unit, now, start, end, hours) => {
    expect(at(cal(unit, zone), now)).toMatchObject({ start, end, hours });
  });
});

// [anchor, zone, now, start, end]
const billingRows: [string, string, string, string, string][] = [
  // Anchor on the 31st clamps to the month end and comes back: Jan 31 → Feb 28 → Mar 31 → Apr 30 → May 31
  ['2026-01-31', 'UTC', '2026-02-15T12:00:00Z', '2026-01-31T00:00Z', '2026-02-28T00:00Z'],
  ['2026-01-31', 'UTC', '2026-02-27T23:59:59.999Z', '2026-01-31T00:00Z', '2026-02-28T00:00Z'],
  ['2026-01-31', 'UTC', '2026-02-28T00:00:00.000Z', '2026-02-28T00:00Z', '2026-03-31T00:00Z'],
  ['2026-01-31', 'UTC', '2026-04-15T12:00:00Z', '2026-03-31T00:00Z', '2026-04-30T00:00Z'],
  ['2026-01-31', 'UTC', '2026-04-30T00:00:00.000Z', '2026-04-30T00:00Z', '2026-05-31T00:00Z'],
  ['2026-01-31', 'UTC', '2028-02-15T12:00:00Z', '2028-01-31T00:00Z', '2028-02-29T00:00Z'],
  ['2026-01-31', 'UTC', '2028-02-29T00:00:00.000Z', '2028-02-29T00:00Z', '2028-03-31T00:00Z'],
  ['2026-01-31', 'UTC', '2026-12-31T12:00:00Z', '2026-12-31T00:00Z', '2027-01-31T00:00Z'],
  // 30th and 29th across February, non-leap (2027) and leap (2028)
  ['2026-01-30', 'UTC', '2027-02-28T12:00:00Z', '2027-02-28T00:00Z', '2027-03-30T00:00Z'],
  ['2026-01-30', 'UTC', '2028-02-28T12:00:00Z', '2028-01-30T00:00Z', '2028-02-29T00:00Z'],
  ['2026-01-30', 'UTC', '2028-03-01T12:00:00Z', '2028-02-29T00:00Z', '2028-03-30T00:00Z'],
  ['2026-01-29', 'UTC', '2027-02-28T12:00:00Z', '2027-02-28T00:00Z', '2027-03-29T00:00Z'],
  ['2026-01-29', 'UTC', '2027-02-27T12:00:00Z', '2027-01-29T00:00Z', '2027-02-28T00:00Z'],
  ['2026-01-29', 'UTC', '2028-02-28T12:00:00Z', '2028-01-29T00:00Z', '2028-02-29T00:00Z'],
  ['2024-02-29', 'UTC', '2026-02-28T12:00:00Z', '2026-02-28T00:00Z', '2026-03-29T00:00Z'],
  ['2028-02-29', 'UTC', '2028-02-29T00:00:00.000Z', '2028-02-29T00:00Z', '2028-03-29T00:00Z'],
  ['2026-01-01', 'UTC', '2026-12-31T23:59:59.999Z', '2026-12-01T00:00Z', '2027-01-01T00:00Z'],
  // Anchor in the future, or long after now: cycles extend backwards
  ['2030-06-15', 'UTC', '2026-03-20T12:00:00Z', '2026-03-15T00:00Z', '2026-04-15T00:00Z'],
  ['2026-01-31', 'UTC', '2020-02-10T12:00:00Z', '2020-01-31T00:00Z', '2020-02-29T00:00Z'],
  // In a zone: local midnight, and month ends that cross DST
  ['2026-01-31', 'Europe/Berlin', '2026-03-15T12:00:00Z', '2026-02-27T23:00Z', '2026-03-30T22:00Z'],
  ['2026-01-15', 'America/New_York', '2026-11-20T12:00:00Z', '2026-11-15T05:00Z', '2026-12-15T05:00Z'],
  // Anchor with a time of day (local, or an instant with Z/offset read in the zone)
  ['2026-01-15T09:30', 'Europe/Berlin', '2026-03-15T08:29:59.999Z', '2026-02-15T08:30Z', '2026-03-15T08:30Z'],
  ['2026-01-15T09:30:00', 'Europe/Berlin', '2026-03-15T08:30:00.000Z', '2026-03-15T08:30Z', '2026-04-15T07:30Z'],
  ['2026-01-31T23:30:00Z', 'Europe/Berlin', '2026-03-15T12:00:00Z', '2026-02-28T23:30Z', '2026-03-31T22:30Z'],
  ['2026-01-15T00:00:00+05:00', 'UTC', '2026-03-20T12:00:00Z', '2026-03-14T19:00Z', '2026-04-14T19:00Z'],
  ['2026-01-15T12:00:00.250Z', 'UTC', '2026-01-15T12:00:00.250Z', '2026-01-15T12:00:00.250Z', '2026-02-15T12:00:00.250Z'],
  // Anchor whose local midnight does not exist: that cycle starts at the transition (local 01:00)
  ['2026-09-06', 'America/Santiago', '2026-09-20T12:00:00Z', '2026-09-06T04:00Z', '2026-10-06T03:00Z'],
  ['2026-09-06', 'America/Santiago', '2026-09-06T03:59:59.999Z', '2026-08-06T04:00Z', '2026-09-06T04:00Z'],
  ['2026-03-29', 'Asia/Beirut', '2026-04-01T12:00:00Z', '2026-03-28T22:00Z', '2026-04-28T21:00Z'],
];

describe('periodAt: billing cycles', () => {
  it.each(billingRows)('anchor %s (%s) at %s → [%s, %s)', (anchor, zone, now, start, end) => {
    expect(at(bill(anchor, zone), now)).toMatchObject({ start, end });
  });
});

describe('periodAt: rolling windows', () => {
  it.each([
    [86_400_000, '2026-03-15T12:00:00Z', '2026-03-14T12:00Z'],
    [500, '2026-03-15T12:00:00.000Z', '2026-03-15T11:59:59.500Z'],
    [30 * 86_400_000, '2026-03-29T01:30:00Z', '2026-02-27T01:30Z'],
  ])('%d ms at %s → [%s, now)', (ms, now, start) => {
    expect(periodAt({ kind: 'rolling', ms }, Date.parse(now))).toEqual({ start: Date.parse(start), end: Date.parse(now) });
  });
});

describe('periodKey', () => {
  it.each([
    [cal('day', 'Europe/Berlin'), '2026-03-29T12:00:00Z', 'day@Europe/Berlin:2026-03-29'],
    [cal('day', 'America/Santiago'), '2026-09-06T12:00:00Z', 'day@America/Santiago:2026-09-06'],
    [cal('day', 'Asia/Beirut'), '2026-10-24T21:30:00Z', 'day@Asia/Beirut:2026-10-24'],
    [cal('hour', 'Europe/Berlin'), '2026-10-25T00:30:00Z', 'hour@Europe/Berlin:2026-10-25T02:00+02:00'],
    [cal('hour', 'Europe/Berlin'), '2026-10-25T01:30:00Z', 'hour@Europe/Berlin:2026-10-25T02:00+01:00'],
    [cal('hour', 'Australia/Lord_Howe'), '2026-04-04T15:10:00Z', 'hour@Australia/Lord_Howe:2026-04-05T01:30+10:30'],
    [cal('hour', 'Etc/GMT+5'), '2026-03-15T12:00:00Z', 'hour@Etc/GMT+5:2026-03-15T07:00-05:00'],
    [cal('week', 'UTC'), '2027-01-01T12:00:00Z', 'week@UTC:2026-W53'],
    [cal('week', 'UTC'), '2025-12-31T12:00:00Z', 'week@UTC:2026-W01'],
    [cal('week', 'UTC'), '2027-01-04T00:00:00Z', 'week@UTC:2027-W01'],
    [cal('week', 'Asia/Beirut'), '2026-03-26T12:00:00Z', 'week@Asia/Beirut:2026-W13'],
    [cal('month', 'Europe/Berlin'), '2026-12-31T23:30:00Z', 'month@Europe/Berlin:2027-01'],
    [bill('2026-01-31'), '2028-02-29T12:00:00Z', 'billing_cycle@UTC:2028-02-29'],
    [bill('2026-03-29', 'Asia/Beirut'), '2026-04-01T12:00:00Z', 'billing_cycle@Asia/Beirut:2026-03-29'],
    [{ kind: 'rolling', ms: 86_400_000 }, '2026-03-15T12:00:00Z', 'rolling@24h:2026-03-15T00:00:00.000Z'],
    [{ kind: 'rolling', ms: 86_400_000 }, '2026-03-15T00:00:00Z', 'rolling@24h:2026-03-14T00:00:00.000Z'],
    [{ kind: 'rolling', ms: 900_000 }, '2026-03-15T12:20:00Z', 'rolling@15m:2026-03-15T12:15:00.000Z'],
  ] as [PeriodSpec, string, string][])('%j at %s → %s', (spec, now, key) => {
    expect(periodKey(spec, periodAt(spec, Date.parse(now)))).toBe(key);
  });
});

describe('validation', () => {
  it.each(['UTC', 'Etc/UTC', 'Etc/GMT+5', 'Etc/GMT-14', 'Europe/Berlin', 'Australia/Lord_Howe', 'America/Argentina/Buenos_Aires', 'Asia/Calcutta'])(
    'accepts zone %s',
    (tz) => expect(validateTimezone(tz)).toBe(true),
  );
  it.each(['', 'Nope/Zone', 'Europe/Berlinn', '+05:00', 'UTC+1', 'local', 'Etc/GMT+15', ' UTC'])('rejects zone %j', (tz) => {
    expect(validateTimezone(tz)).toBe(false);
    expect(validatePeriodSpec(cal('day', tz))).toMatchObject({ ok: false, error: expect.stringContaining('unknown time zone') });
    expect(() => periodAt(cal('day', tz), 0)).toThrow(RangeError);
  });
  it.each(['2026-02-30', '2027-02-29', '2026-13-01', '2026-00-10', '2026-1-5', '2026-01-31T24:00', '2026-01-31T10:60', '2026-01-31T10', '2026-01-31 10:00', 'tomorrow', '', '2026-01-31T10:00+05', '2026-01-31T10:00+05:60', '31.01.2026'])(
    'rejects anchor %j',
    (anchor) => {
      expect(validatePeriodSpec(bill(anchor))).toMatchObject({ ok: false, error: expect.stringContaining('billing_cycle anchor') });
      expect(() => periodAt(bill(anchor), 0)).toThrow(RangeError);
    },
  );
  it.each([0, -1, 1.5, NaN, Infinity])('rejects rolling length %d', (ms) => {
    expect(validatePeriodSpec({ kind: 'rolling', ms })).toMatchObject({ ok: false });
    expect(() => periodAt({ kind: 'rolling', ms }, 0)).toThrow(RangeError);
  });
  it.each([NaN, Infinity])('rejects now = %d', (now) => {
    expect(() => periodAt(cal('day', 'UTC'), now)).toThrow(RangeError);
  });
  it('accepts good specs', () => {
    for (const spec of [cal('week', 'Etc/GMT+5'), bill('2026-01-31T09:30:15.5+01:00', 'Europe/Berlin'), { kind: 'rolling', ms: 1 } as const]) {
      expect(validatePeriodSpec(spec)).toEqual({ ok: true });
    }
  });
});

// Every zone the runtime knows, plus fixed-offset ones, from 1950 to 2100.
const zones = [...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/GMT+5', 'Etc/GMT-14', 'Etc/GMT+12', 'Australia/Lord_Howe', 'America/Santiago'];
const zoneArb = fc.constantFrom(...zones);
const nowArb = fc.integer({ min: Date.UTC(1950, 0, 1), max: Date.UTC(2100, 0, 1) });
const anchorArb = fc
  .record({ day: fc.integer({ min: 1, max: 31 }), time: fc.option(fc.integer({ min: 0, max: 86_399 }), { nil: undefined }) })
  .map(({ day, time }) => {
    const date = `2026-${day > 28 ? '01' : '02'}-${String(day).padStart(2, '0')}`;
    return time === undefined ? date : `${date}T${new Date(time * 1000).toISOString().slice(11, 19)}`;
  });
const specArb: fc.Arbitrary<PeriodSpec> = fc.oneof(
  fc.record({ kind: fc.constant('calendar' as const), unit: fc.constantFrom<Unit>('hour', 'day', 'week', 'month'), timezone: zoneArb }),
  fc.record({ kind: fc.constant('billing_cycle' as const), anchor: anchorArb, timezone: zoneArb }),
);
// Longest plausible period per spec; shortest is any positive length (skipped days, 30-minute hours).
const maxHours = (spec: PeriodSpec): number => (spec.kind !== 'calendar' ? 32 * 24 + 3 : { hour: 1, day: 27, week: 171, month: 32 * 24 + 3 }[spec.unit]);

describe('periodAt: properties', () => {
  it('contains now, is the same period seen from its start, and abuts the next period', () => {
    fc.assert(
      fc.property(specArb, nowArb, (spec, now) => {
        const w = periodAt(spec, now);
        expect(w.start).toBeLessThanOrEqual(now);
        expect(w.end).toBeGreaterThan(now);
        expect(w.end - w.start).toBeLessThanOrEqual(maxHours(spec) * 3_600_000);
        expect(periodAt(spec, w.start)).toEqual(w);
        expect(periodAt(spec, w.end - 1)).toEqual(w);
        const next = periodAt(spec, w.end);
        expect(next.start).toBe(w.end);
        expect(periodKey(spec, periodAt(spec, w.start))).toBe(periodKey(spec, w));
        expect(periodKey(spec, next)).not.toBe(periodKey(spec, w));
      }),
      { numRuns: 2000 },
    );
  }, 60_000);

  it('rolling windows end at now and span exactly their length; keys change once per length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 * 86_400_000 }), nowArb, (ms, now) => {
        const w = periodAt({ kind: 'rolling', ms }, now);
        expect(w).toEqual({ start: now - ms, end: now });
        const key = periodKey({ kind: 'rolling', ms }, w);
        const block = Math.floor((now - 1) / ms) * ms;
        expect(periodKey({ kind: 'rolling', ms }, periodAt({ kind: 'rolling', ms }, block + 1))).toBe(key);
        expect(periodKey({ kind: 'rolling', ms }, periodAt({ kind: 'rolling', ms }, block + ms + 1))).not.toBe(key);
      }),
    );
  });
});
