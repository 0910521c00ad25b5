import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { emptyCounters } from '../../collector/ingest.ts';
import { createStatsFlusher } from '../../collector/ingest-stats.ts';
import type { StatRow } from '../../store/ingest-stats-repo.ts';


const writer = { stored: 0, duplicates: 0, spooledBatches: 0, drainedBatches: 0, deadEvents: 0, queued: 0, queuedBytes: 0, lagMs: 0, spoolBytes: 0, spoolFiles: 0, storeHealthy: true };

describe('ingest stats flusher', () => {
  it('flushes at close once: a second close (the app closing after an early close) writes nothing', async () => {
    const c = emptyCounters();
    const inserts: (readonly StatRow[])[] = [];
    const f = createStatsFlusher({ counters: c, writerStats: () => writer, insert: async (rows) => void inserts.push(rows), logger: pino({ level: 'silent' }), now: () => 1_796_300_000_000, instance: 'test:1' });
    c.spansReceived = 3;
    await f.close();
    expect(inserts).toHaveLength(1);
    expect(inserts[0]).toContainEqual(expect.objectContaining({ name: 'spans_received', value: 3 }));
    c.spansReceived = 5;
    await f.close();
    expect(inserts).toHaveLength(1);
  });
});
