// What the batch writer sets aside or refuses, and what it never refuses: events the store rejects go to spool/dead
// without their neighbours, an unreadable spool file is set aside, a busy queue answers 429, a large request is
// looked up in bounded pieces. Against the real embedded ClickHouse and a real spool, as collector-no-loss.test.ts.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageEvent } from '../helpers/events.ts';
import { spooledIds, spoolFileNames } from '../helpers/spool-files.ts';
import { eventTotals } from '../helpers/test-store.ts';
import { waitFor } from '../helpers/wait.ts';
import { OK, useWriterRig } from '../helpers/writer-rig.ts';

const { stores, cleanups, rig, freshKey, batchOf, expectExactlyOnce, drained } = useWriterRig();

describe('batches the store refuses', () => {
  it('sets refused events aside in spool/dead without taking their neighbours or blocking later batches', async () => {
    const r = await rig({ batchSize: 1000, flushIntervalMs: 20 });
    const key = freshKey('neighbours');
    const poisonKey = freshKey('poison');
    r.faults.refuse = (e) => e.apiKey === poisonKey;
    // Direct path: one flush merges a refused event with good events of other requests.
    const good = [batchOf(key, 10), batchOf(key, 10)];
    const bad = batchOf(poisonKey, 1);
    expect(await Promise.all([r.writer.submit(good[0]!), r.writer.submit(bad), r.writer.submit(good[1]!)])).toEqual([OK, OK, OK]);
    // Spool path: the same mix is spooled during an outage and refused while draining.
    r.faults.down = true;
    const good2 = [batchOf(key, 10), batchOf(key, 10)];
    const bad2 = batchOf(poisonKey, 2);
    expect(await Promise.all([r.writer.submit(good2[0]!), r.writer.submit(bad2), r.writer.submit(good2[1]!)])).toEqual([OK, OK, OK]);
    r.faults.down = false;
    await waitFor(drained(r), { what: 'the spool to drain' });
    // Later batches flow.
    const later = batchOf(key, 5);
    expect(await r.writer.submit(later)).toEqual(OK);
    await expectExactlyOnce(key, [...good.flat(), ...good2.flat(), ...later]);
    expect(spooledIds(r.spoolDir, 'dead').sort()).toEqual([...bad, ...bad2].map((e) => e.eventId).sort());
    expect((await eventTotals(stores.ts.store, poisonKey)).rows).toBe(0);
  });

  it('stores strings ClickHouse would refuse (lone UTF-16 surrogates from OTLP/JSON) instead of blocking the spool', async () => {
    const r = await rig({ batchSize: 1000, flushIntervalMs: 20 });
    const key = freshKey('surrogate');
    const odd = usageEvent({ apiKey: `${key}\ud800`, user: 'u\udc00x', attributes: { 'plan\udbff': 'free\ud83d' }, inputTokens: 7 });
    const good = batchOf(key, 10);
    expect(await Promise.all([r.writer.submit([odd]), r.writer.submit(good)])).toEqual([OK, OK]);
    await waitFor(drained(r), { what: 'the writer to settle' });
    expect(r.writer.stats().spoolFiles).toBe(0);
    await expectExactlyOnce(key, good);
    const rows = await stores.ts.store.query<{ user: string; attributes: Record<string, string> }>(`SELECT user, attributes FROM ${stores.ts.store.table('usage_events')} WHERE api_key = {k:String}`, {
      k: `${key}\ufffd`,
    });
    expect(rows).toEqual([{ user: 'u\ufffdx', attributes: { 'plan\ufffd': 'free\ufffd' } }]);
  });

  it('sets an unreadable spool file aside, drops unfinished writes, and keeps draining and accepting', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'tollkeeper-spool-'));
    cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }));
    const key = freshKey('corrupt');
    const older = batchOf(key, 4);
    // Left by an earlier run: one damaged file (oldest) and one good one.
    writeFileSync(join(spoolDir, '000000000000001-1-000000000.ndjson'), '{"eventId":"x", truncated\n');
    writeFileSync(join(spoolDir, '000000000000002-1-000000000.ndjson'), older.map((e) => JSON.stringify(e)).join('\n') + '\n');
    // A write cut short by a crash before its fsync and rename: never acknowledged, so dropped at open.
    writeFileSync(join(spoolDir, '000000000000003-1-000000000.ndjson.tmp'), JSON.stringify(batchOf(key, 1)[0]));
    const r = await rig({ spoolDir });
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await r.writer.drain();
    const fresh = batchOf(key, 3);
    expect(await r.writer.submit(fresh)).toEqual(OK);
    await waitFor(drained(r), { what: 'the spool to drain' });
    await expectExactlyOnce(key, [...older, ...fresh]);
    expect(spoolFileNames(spoolDir, 'dead')).toEqual(['000000000000001-1-000000000.ndjson']);
  });
});

describe('admission', () => {
  it('takes a request larger than the queue bound when nothing is queued, and answers 429 behind a busy queue', async () => {
    const r = await rig({ maxQueued: 10, batchSize: 5 });
    const key = freshKey('admit');
    const big = batchOf(key, 25);
    expect(await r.writer.submit(big)).toEqual(OK);
    let release!: () => void;
    r.faults.hold = new Promise<void>((resolve) => (release = resolve));
    const slow = batchOf(key, 6);
    const slowOut = r.writer.submit(slow);
    expect(await r.writer.submit(batchOf(key, 5))).toMatchObject({ ok: false, status: 429, retryAfterSeconds: expect.any(Number) as unknown });
    r.faults.hold = undefined;
    release();
    expect(await slowOut).toEqual(OK);
    await expectExactlyOnce(key, [...big, ...slow]);
  });
});

describe('large requests', () => {
  it('deduplicates a request of 12k events in lookups a server URL can carry, and counts each once on a resend', async () => {
    const r = await rig({ batchSize: 5000 });
    const key = freshKey('large');
    const big = batchOf(key, 12_000);
    expect(await r.writer.submit(big)).toEqual(OK);
    expect(await r.writer.submit(big)).toEqual(OK);
    expect(r.calls.maxIdsPerLookup).toBeLessThanOrEqual(5000);
    await expectExactlyOnce(key, big);
  });
});
