import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../core/quota/duration.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5 * S],
    ['15m', 15 * M],
    ['24h', 24 * H],
    ['7d', 7 * D],
    ['30d', 30 * D],
    ['2w', 14 * D],
    ['1h30m', H + 30 * M],
    ['1d12h', D + 12 * H],
    ['1m5s250ms', M + 5 * S + 250],
    ['1w2d3h4m5s6ms', 7 * D + 2 * D + 3 * H + 4 * M + 5 * S + 6],
    ['0s', 0],
    ['0ms', 0],
    ['05m', 5 * M],
    ['90m', 90 * M],
    ['1ms', 1],
    [' 15m ', 15 * M],
    ['9007199254740991ms', Number.MAX_SAFE_INTEGER],
  ])('%s → %d ms', (input, ms) => {
    expect(parseDuration(input)).toEqual({ ok: true, ms });
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['-5s', /negative/],
    ['-1h30m', /negative/],
    ['15', /missing unit/],
    ['0', /missing unit/],
    ['1.5h', /whole numbers/],
    ['0,5s', /whole numbers/],
    ['abc', /expected a whole number and a unit/],
    ['m', /expected/],
    ['5x', /expected/],
    ['5sec', /expected/],
    ['5S', /expected/],
    ['5 s', /expected/],
    ['1h 30m', /expected/],
    ['h1', /expected/],
    ['1y', /expected/],
    ['5s!', /expected/],
    ['+5s', /expected/],
    ['1e3ms', /expected/],
    ['30m1h', /largest to smallest/],
    ['1h1h', /largest to smallest/],
    ['1m1m', /largest to smallest/],
    ['9007199254740992ms', /too large/],
    ['99999999999999999999d', /too large/],
    ['1000000000000d', /too large/],
    ['Infinity', /expected/],
    ['NaN', /expected/],
  ])('rejects %j', (input, message) => {
    const r = parseDuration(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(message);
      expect(r.error).toContain(JSON.stringify(input));
    }
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1, '1ms'],
    [500, '500ms'],
    [S, '1s'],
    [1500, '1s500ms'],
    [15 * M, '15m'],
    [H + 30 * M, '1h30m'],
    [24 * H, '24h'],
    [36 * H, '36h'],
    [48 * H, '2d'],
    [7 * D, '7d'],
    [14 * D, '14d'],
    [30 * D + 6 * H, '30d6h'],
    [D + H + M + S + 1, '25h1m1s1ms'],
    [-15 * M, '-15m'],
    [1499.6, '1s500ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([NaN, Infinity, -Infinity])('throws on %d', (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });

  it('round-trips through parseDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toEqual({ ok: true, ms });
      }),
      { numRuns: 2000 },
    );
  });

  it('parses any descending compound it is given', () => {
    const part = fc.nat({ max: 1000 });
    fc.assert(
      fc.property(part, part, part, part, part, (d, h, m, s, ms) => {
        expect(parseDuration(`${d}d${h}h${m}m${s}s${ms}ms`)).toEqual({ ok: true, ms: d * D + h * H + m * M + s * S + ms });
      }),
    );
  });
});
