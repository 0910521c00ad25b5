// No loss, exactly once, and a kill -9 loses nothing acknowledged (docs/operations.md): the batch writer against the
// real embedded ClickHouse and a real on-disk spool, with failures injected between the writer and the store. What
// the writer sets aside or refuses: collector-refusals.test.ts.
import { createHook } from 'node:async_hooks';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { WriteOutcome } from '../../collector/write-outcome.ts';
import type { UsageEvent } from '../../core/usage/types.ts';
import { spooledIds, spoolFileNames } from '../helpers/spool-files.ts';
import { eventTotals } from '../helpers/test-store.ts';
import { waitFor } from '../helpers/wait.ts';
import { OK, useWriterRig } from '../helpers/writer-rig.ts';

const { stores, cleanups, rig, freshKey, batchOf, expectExactlyOnce, drained } = useWriterRig();

describe('no loss through a store outage', () => {
  it('acknowledges a batch only once it is spooled, and drains every event exactly once after recovery', async () => {
    const r = await rig();
    const key = freshKey('outage');
    const sent: UsageEvent[] = [];
    r.faults.down = true;
    for (let wave = 0; wave < 6; wave++) {
      const batches = Array.from({ length: 5 }, () => batchOf(key, 7 + wave));
      sent.push(...batches.flat());
      const outcomes = await Promise.all(batches.map((b) => r.writer.submit(b)));
      expect(outcomes).toEqual(batches.map(() => OK));
      // Acknowledged means durable: each id is in a spool file on disk right now.
      const onDisk = new Set(spooledIds(r.spoolDir));
      expect(sent.filter((e) => !onDisk.has(e.eventId))).toEqual([]);
    }
    expect(r.writer.stats().storeHealthy).toBe(false);
    expect((await eventTotals(stores.ts.store, key)).rows).toBe(0);
    // Clients retry during the outage: the same events sit in the spool twice.
    expect(await r.writer.submit(sent.slice(0, 40))).toEqual(OK);
    expect(await r.writer.submit(sent.slice(20, 60))).toEqual(OK);

    r.faults.down = false;
    await waitFor(drained(r), { what: 'the spool to drain' });
    await expectExactlyOnce(key, sent);
    expect(r.writer.stats().storeHealthy).toBe(true);
  });

  it('counts once when the store flaps and when inserts land but their answers are lost', async () => {
    const r = await rig({ batchSize: 20 });
    const key = freshKey('flap');
    const sent: UsageEvent[] = [];
    r.faults.failEvery = 3;
    r.faults.loseAcks = true;
    const pending: Promise<WriteOutcome>[] = [];
    for (let i = 0; i < 40; i++) {
      const b = batchOf(key, 1 + (i % 9));
      sent.push(...b);
      pending.push(r.writer.submit(b));
      // Drains and flushes asked for while others run: they must serialize, not interleave.
      if (i % 7 === 0) void r.writer.drain();
      if (i % 5 === 0) void r.writer.flush();
      if (i === 25) r.faults.loseAcks = false;
      if (i % 10 === 9) expect(await Promise.all(pending.splice(0))).toEqual(Array.from({ length: 10 }, () => OK));
    }
    r.faults.failEvery = 0;
    await waitFor(drained(r), { what: 'the spool to drain' });
    expect(r.calls.failed).toBeGreaterThan(0);
    await expectExactlyOnce(key, sent);
  });

  it('refuses with 503 only when the store is down and the spool is full, and loses nothing it acknowledged', async () => {
    const r = await rig({ spoolMaxBytes: 24 * 1024, batchSize: 10 });
    const key = freshKey('full');
    r.faults.down = true;
    const acked: UsageEvent[] = [];
    let refused: WriteOutcome | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const b = batchOf(key, 10);
      const out = await r.writer.submit(b);
      if (out.ok) acked.push(...b);
      else refused = out;
    }
    expect(refused).toMatchObject({ ok: false, status: 503, retryAfterSeconds: expect.any(Number) as unknown });
    expect(acked.length).toBeGreaterThan(0);
    r.faults.down = false;
    await waitFor(drained(r), { what: 'the spool to drain' });
    await expectExactlyOnce(key, acked);
  });
});

describe('no loss across a restart', () => {
  it('drains what a closed writer left in the spool, exactly once, also with client retries after the restart', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'tollkeeper-spool-'));
    cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }));
    const key = freshKey('restart');
    const first = await rig({ spoolDir, flushIntervalMs: 10_000 });
    first.faults.down = true;
    const sent = batchOf(key, 60);
    const spooled = [first.writer.submit(sent.slice(0, 30)), first.writer.submit(sent.slice(30))];
    await first.writer.flush();
    expect(await Promise.all(spooled)).toEqual([OK, OK]);
    // Shutdown with the store still down: a batch still queued, and one submitted while closing.
    const queued = batchOf(key, 5);
    const late = batchOf(key, 5);
    const settled: WriteOutcome[] = [];
    const queuedOut = first.writer.submit(queued).then((o) => (settled.push(o), o));
    const closing = first.writer.close();
    const lateOut = first.writer.submit(late).then((o) => (settled.push(o), o));
    await closing;
    // close() settles everything submitted before it returns: nothing is written after the process "exits".
    expect(settled).toHaveLength(2);
    expect(await queuedOut).toEqual(OK);
    const lateAcked = (await lateOut).ok;
    const acked = [...sent, ...queued, ...(lateAcked ? late : [])];
    const onDisk = new Set(spooledIds(spoolDir));
    expect(acked.filter((e) => !onDisk.has(e.eventId))).toEqual([]);
    expect((await eventTotals(stores.ts.store, key)).rows).toBe(0);

    // "Restart": a new writer on the same spool directory, the store healthy again.
    const second = await rig({ spoolDir });
    expect(await second.writer.submit(sent.slice(10, 40))).toEqual(OK);
    await waitFor(drained(second), { what: 'the spool to drain after the restart' });
    await expectExactlyOnce(key, acked);
  });

  it('leaves no timer running once closed', async () => {
    // Only the timers created while this writer lives are watched: counting every live timer in the process made
    // the check depend on what earlier tests' timers were doing at that moment.
    const created = new Set<number>();
    let watching = true;
    const hook = createHook({
      init(id, type) {
        if (watching && type === 'Timeout') created.add(id);
      },
      destroy(id) {
        created.delete(id);
      },
    }).enable();
    cleanups.push(() => {
      hook.disable();
    });
    const r = await rig({ flushIntervalMs: 60_000 });
    r.faults.down = true;
    const key = freshKey('timers');
    const out = r.writer.submit(batchOf(key, 3));
    const closing = r.writer.close();
    const during = r.writer.submit(batchOf(key, 3));
    await closing;
    expect(await out).toEqual(OK);
    // Refused once closing has begun: the client retries against the next process.
    expect(await during).toMatchObject({ ok: false, status: 503 });
    watching = false;
    // Destroy hooks run asynchronously after clearTimeout; a timer still pending keeps its id here until the bound.
    await waitFor(() => created.size === 0, { timeoutMs: 5_000, what: `the writer's ${created.size} timer(s) to be cleared` });
  });

  it('lets the process exit on its own after close, with the store healthy or down', { timeout: 90_000 }, async () => {
    const run = promisify(execFile);
    const child = async (mode: 'healthy' | 'down') => {
      const dir = mkdtempSync(join(tmpdir(), 'tollkeeper-exit-'));
      try {
        const out = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../helpers/writer-exit-child.ts'), dir, mode], { timeout: 60_000, killSignal: 'SIGKILL' });
        const result = JSON.parse(out.stdout.trim().split('\n').pop()!) as { first: WriteOutcome; settled: boolean; queued: WriteOutcome; stats: { queued: number } };
        return { ...result, spoolFiles: spoolFileNames(join(dir, 'spool')).length };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    // execFile rejects when the child is killed at the timeout, i.e. when something kept it alive.
    const [healthy, down] = await Promise.all([child('healthy'), child('down')]);
    for (const r of [healthy, down]) {
      expect(r.first).toEqual(OK);
      expect(r.settled).toBe(true);
      expect(r.queued).toEqual(OK);
      expect(r.stats.queued).toBe(0);
    }
    expect(healthy.spoolFiles).toBe(0);
    expect(down.spoolFiles).toBeGreaterThan(0);
  });
});
