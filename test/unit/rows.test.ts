import { describe, expect, it } from 'vitest';
import { rowFromRecord, toRows } from '../../collector/rows.ts';
import { rowIdentity } from '../../store/usage-repo.ts';
import { usageEvent } from '../helpers/events.ts';

describe('writer rows', () => {
  it('encode an event once, and read back its id and time from the line alone', () => {
    const e = usageEvent({ apiKey: 'k', time: Date.parse('2026-02-03T04:05:06.007Z') });
    const { rows, refused } = toRows([e]);
    expect(refused).toEqual([]);
    expect(rows[0]).toMatchObject({ id: e.eventId, time: e.time });
    expect(rows[0]!.line).not.toContain('\n');
    expect(rowFromRecord(rows[0]!.line)).toEqual(rows[0]);
    expect(rowIdentity(rows[0]!.line)).toEqual({ id: e.eventId, time: e.time });
  });

  it('set aside an event holding a non-finite number instead of storing it as 0', () => {
    const bad = usageEvent({ costUsd: Number.POSITIVE_INFINITY });
    const good = usageEvent({});
    const { rows, refused } = toRows([good, bad]);
    expect(rows.map((r) => r.id)).toEqual([good.eventId]);
    expect(refused.map((e) => e.eventId)).toEqual([bad.eventId]);
  });

  it('read spool records of earlier versions (one event object a line) as the same row', () => {
    const e = usageEvent({ apiKey: 'old', user: 'u\ud800' });
    const legacy = rowFromRecord(JSON.stringify(e));
    expect(legacy).toEqual(toRows([e]).rows[0]);
    expect(legacy.line).toContain('"u\ufffd"');
  });

  it('refuse damaged records', () => {
    for (const record of ['{"eventId": 1}', '[1,2,3]', 'not json', '["x"]', '{"eventId":"x", trunc']) expect(() => rowFromRecord(record)).toThrow();
  });
});

describe('linesToBuffer', () => {
  it('is the UTF-8 of the lines joined by newlines, whatever their characters', async () => {
    const { linesToBuffer } = await import('../../store/usage-repo.ts');
    const cases = [[], [''], ['a'], ['["x"]', 'é', '中文字符'.repeat(50), '🚀'.repeat(1000), 'plain'], Array.from({ length: 500 }, (_, i) => `["${'é'.repeat(i % 7)}${i}"]`)];
    for (const lines of cases) expect(linesToBuffer(lines).equals(Buffer.from(lines.map((l) => l + '\n').join('')))).toBe(true);
  });

  it('allocates the batch once, at its exact size', async () => {
    const { linesToBuffer } = await import('../../store/usage-repo.ts');
    const lines = Array.from({ length: 2000 }, (_, i) => `["${i}","${'x'.repeat(400)}","é"]`);
    const buf = linesToBuffer(lines);
    expect(buf.length).toBe(Buffer.byteLength(lines.join('\n') + '\n'));
    expect(buf.buffer.byteLength).toBe(buf.length);
  });
});
