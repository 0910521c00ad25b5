// A store that fails for a while, then a full disk: the collector over HTTP acknowledges from the spool while the
// store is away, answers 503 + Retry-After (OTLP UNAVAILABLE) once the spool cannot take more, keeps waiting
// while the store is back but the disk still full (nothing set aside as dead), and catches up once space is freed:
// every acknowledged span counted once. As root the spool and the embedded ClickHouse sit on a small tmpfs that is
// really filled (ENOSPC, NOT_ENOUGH_SPACE from the engine); otherwise a wrapper in front of the spool and the store
// returns those same error codes.
import { ClickHouseError } from '@clickhouse/client';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Spool } from '../../collector/spool.ts';
import { openClickHouse } from '../../store/clickhouse.ts';
import { migrate } from '../../store/migrate.ts';
import type { ClickHouse } from '../../store/port.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { ackedTraffic } from '../helpers/acked-traffic.ts';
import { startCollector, type TestCollector } from '../helpers/collector-app.ts';
import { faultyRepo, systemError } from '../helpers/faulty-repo.ts';
import { fillDisk, mountTmpfs } from '../helpers/privileges.ts';
import { spooledIds } from '../helpers/spool-files.ts';
import { eventTotals, rollupTotals } from '../helpers/test-store.ts';
import { waitFor } from '../helpers/wait.ts';

const mounted = mountTmpfs(128, 'tk-outage-');
const mode = 'dir' in mounted ? 'tmpfs' : 'wrapper';
if ('skip' in mounted) console.warn(`outage then disk full: running with the error-code wrapper (${mounted.skip})`);
const base = 'dir' in mounted ? mounted.dir : mkdtempSync(join(tmpdir(), 'tk-outage-'));
const spoolDir = join(base, 'spool');

let store: ClickHouse | undefined;
let collector: TestCollector | undefined;
afterAll(async () => {
  await collector?.close();
  await store?.close();
  if ('remove' in mounted) mounted.remove();
  else rmSync(base, { recursive: true, force: true });
});

/** The full disk: really filled on tmpfs, else the spool and the store answer as a full disk does. */
function disk(faults: ReturnType<typeof faultyRepo>['faults']) {
  let full = false;
  const filler = join(base, 'filler');
  const notEnoughSpace = () => new ClickHouseError({ message: 'Cannot reserve 1.00 MiB, not enough space.', code: '243', type: 'NOT_ENOUGH_SPACE' });
  return {
    wrapSpool: (s: Spool): Spool =>
      mode === 'tmpfs'
        ? s
        : {
            ...s,
            append: async (records) => (full ? Promise.reject(systemError('ENOSPC')) : s.append(records)),
            bury: async (records) => (full ? Promise.reject(systemError('ENOSPC')) : s.bury(records)),
          },
    fill() {
      full = true;
      if (mode === 'tmpfs') fillDisk(base, filler, 16 * 1024);
    },
    /** The store is back: on a full disk its inserts still fail (for real on tmpfs). */
    storeBack() {
      faults.insertError = mode === 'tmpfs' || !full ? undefined : notEnoughSpace;
    },
    free() {
      full = false;
      if (mode === 'tmpfs') unlinkSync(filler);
      else faults.insertError = undefined;
    },
  };
}

describe.skipIf(process.env.TOLLKEEPER_TEST_CLICKHOUSE_URL)(`store outage, then a full disk (${mode})`, () => {
  it('spools, then answers 503 + Retry-After, then catches up: every acknowledged span counted once', { timeout: 120_000 }, async () => {
    store = await openClickHouse({ kind: 'chdb', path: join(base, 'clickhouse'), database: 'tk_faults' });
    await migrate(store);
    const { repo, faults } = faultyRepo(createUsageRepo(store));
    const d = disk(faults);
    const c = (collector = await startCollector({ repo, spoolDir, spoolMaxBytes: 64 * 1024 * 1024, batchSize: 500, flushIntervalMs: 5, maxQueued: 100_000, wrapSpool: d.wrapSpool }));
    const key = `outage-disk-${process.pid}`;
    const traffic = ackedTraffic(key);

    // 1. The store fails (connections reset): every request is acknowledged from the spool.
    faults.insertError = () => systemError('ECONNRESET');
    for (let i = 0; i < 8; i++) expect(await traffic.sendOne(c.url, 100)).toBe(200);
    expect(spooledIds(spoolDir).sort()).toEqual([...traffic.acked].sort());
    expect(c.writer.stats().storeHealthy).toBe(false);
    expect((await eventTotals(store, key)).rows).toBe(0);

    // 2. The disk fills up: the spool takes no more, so requests are refused with a retry hint (the client
    // retries the same body); nothing acknowledged is touched.
    d.fill();
    const refused = [];
    for (let i = 0; i < 4; i++) refused.push(await traffic.sendOne(c.url, 100));
    expect(refused).toEqual([503, 503, 503, 503]);
    expect(traffic.retryAfters.length).toBe(4);
    expect(traffic.retryAfters.every((s) => s > 0)).toBe(true);
    expect(traffic.unacked()).toBe(1);
    expect(spooledIds(spoolDir).sort()).toEqual([...traffic.acked].sort());

    // 3. The store is back, the disk still full: ClickHouse cannot reserve space either, so the spool waits;
    // nothing is set aside as dead.
    d.storeBack();
    await c.writer.drain();
    expect(spooledIds(spoolDir).length).toBe(traffic.acked.size);
    expect(spooledIds(spoolDir, 'dead')).toEqual([]);
    expect(await traffic.sendOne(c.url, 100)).toBe(503);

    // 4. Space is freed: the spool drains, the client's retries are taken, each span is counted once.
    d.free();
    await waitFor(() => c.writer.stats().spoolFiles === 0, { timeoutMs: 30_000, what: 'the spool to drain' });
    for (let i = 0; traffic.unacked() > 0 && i < 50; i++) await traffic.sendOne(c.url, 0);
    expect(traffic.unacked()).toBe(0);
    const n = traffic.acked.size;
    expect(n).toBe(900);
    expect(await eventTotals(store, key)).toMatchObject({ rows: n, distinctIds: n, inputTokens: 10 * n });
    expect(await rollupTotals(store, key)).toMatchObject({ events: n, requests: n });
    expect(c.writer.stats().deadEvents).toBe(0);
    console.log(`outage then disk full (${mode}): 800 spans acknowledged from the spool, 5 requests refused with 503 + Retry-After, ${n} counted once after the catch-up`);
  });
});
