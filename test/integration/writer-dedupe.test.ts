import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createBatchWriter } from '../../collector/batch-writer.ts';
import { openSpool } from '../../collector/spool.ts';
import type { UsageRepo } from '../../store/usage-repo.ts';
import { usageEvent } from '../helpers/events.ts';
import { openTestStore, removeTestStores } from '../helpers/test-store.ts';

afterAll(() => removeTestStores());

/** Counts store lookups, to see which events the single-writer shortcut trusts to memory. */
function counting(repo: UsageRepo) {
  const looked: string[] = [];
  return { looked, repo: { ...repo, existingIds: async (ids: readonly string[], lo: number, hi: number) => (looked.push(...ids), repo.existingIds(ids, lo, hi)) } };
}

describe('exactly once with the single-writer shortcut', () => {
  it('skips the lookup only for events no earlier run and no forgotten id can cover', async () => {
    const ts = await openTestStore();
    const start = Date.now();
    const spool = await openSpool(mkdtempSync(join(tmpdir(), 'tk-spool-')), 1 << 20);
    const c = counting(ts.repo);
    const writer = createBatchWriter({ repo: c.repo, spool, logger: pino({ level: 'silent' }), batchSize: 10, flushIntervalMs: 10, maxQueued: 1000, storedUpTo: start, recentIds: 2 });
    const old = usageEvent({ apiKey: 'w', time: start - 60_000 });
    const fresh = [1, 2, 3].map((i) => usageEvent({ apiKey: 'w', time: start + 5 + i }));
    expect(await writer.submit([old, ...fresh])).toEqual({ ok: true });
    // Only the event an earlier run could have written was looked up.
    expect(c.looked).toEqual([old.eventId]);
    // Recent ids hold 2: the oldest were forgotten, so a retry of them is looked up again and still dropped.
    expect(await writer.submit([old, ...fresh])).toEqual({ ok: true });
    await writer.close();
    const rows = await ts.store.query<{ n: number; d: number }>(`SELECT count() AS n, uniqExact(event_id) AS d FROM ${ts.store.table('usage_events')} WHERE api_key = 'w'`);
    expect(rows[0]).toEqual({ n: 4, d: 4 });
    expect(c.looked.length).toBeGreaterThan(1);

    // A restart (new writer, empty memory) starts from what the store holds: the same export again is dropped.
    const again = createBatchWriter({ repo: ts.repo, spool, logger: pino({ level: 'silent' }), batchSize: 10, flushIntervalMs: 10, maxQueued: 1000, storedUpTo: await ts.repo.maxTime() });
    expect(await again.submit([old, ...fresh])).toEqual({ ok: true });
    await again.close();
    const after = await ts.store.query<{ n: number }>(`SELECT count() AS n FROM ${ts.store.table('usage_events')} WHERE api_key = 'w'`);
    expect(after[0]!.n).toBe(4);
    await ts.close();
  });
});
