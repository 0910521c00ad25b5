import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { RecentIds } from '../../collector/recent-ids.ts';

describe('RecentIds', () => {
  it('forgets the oldest ids first and never mistakes one id for another', () => {
    const recent = new RecentIds(3);
    const ids = ['a'.repeat(32) + '1'.repeat(16), 'a'.repeat(32) + '2'.repeat(16), 'not-hex-id', 'A'.repeat(32) + '1'.repeat(16), 'b'.repeat(48)];
    for (const id of ids.slice(0, 3)) recent.add(id);
    expect(ids.map((id) => recent.has(id))).toEqual([true, true, true, false, false]);
    recent.add(ids[4]!);
    expect(ids.map((id) => recent.has(id))).toEqual([false, true, true, false, true]);
  });

  it('stays a FIFO of its capacity through many wrap-arounds, and remembers the latest time it forgot', () => {
    const cap = 1000;
    const recent = new RecentIds(cap);
    const id = (i: number) => i.toString(16).padStart(48, '0');
    for (let i = 0; i < 10 * cap + 7; i++) recent.add(id(i), i);
    const last = 10 * cap + 6;
    expect(recent.size).toBe(cap);
    expect(recent.has(id(last))).toBe(true);
    expect(recent.has(id(last - cap + 1))).toBe(true);
    expect(recent.has(id(last - cap))).toBe(false);
    expect(recent.forgottenUpTo).toBe(last - cap);
    // Adding an id it holds changes nothing.
    recent.add(id(last), 1e12);
    expect([recent.size, recent.has(id(last - cap + 1)), recent.forgottenUpTo]).toEqual([cap, true, last - cap]);
  });

  it('keeps 200k event ids in a bounded, small amount of memory', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const n = 200_000;
    // Ids as the decoder builds them: trace id + span id, two hex strings concatenated.
    const bytes = randomBytes(24 * n);
    const id = (i: number) => bytes.toString('hex', 24 * i, 24 * i + 16) + bytes.toString('hex', 24 * i + 16, 24 * i + 24);
    gc();
    const before = process.memoryUsage().heapUsed;
    const recent = new RecentIds(n);
    const first = id(0);
    recent.add(first);
    for (let i = 1; i < n; i++) recent.add(id(i));
    gc();
    const perId = (process.memoryUsage().heapUsed - before) / n;
    expect(recent.has(first)).toBe(true);
    expect(recent.has(first.slice(0, 32) + '0'.repeat(16))).toBe(false);
    // Keeping the concatenations costs ~150 bytes an id (75 MB at the writer's 500k); a compact key about 70.
    expect(perId).toBeLessThan(100);
  });
});
