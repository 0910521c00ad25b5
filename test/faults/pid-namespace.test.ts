// A restart in a pid namespace, as in a container: the real `tollkeeper start` is PID 1 of its own namespace
// (`unshare --fork --pid --mount-proc`), killed with SIGKILL during ingest and started again, PID 1 again, on the
// same data directory. The lock left by the dead PID 1 must not refuse the restart, and a live holder must refuse a
// second process from another namespace and from the host: never two live processes on one data directory.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ackedTraffic } from '../helpers/acked-traffic.ts';
import { AppExitedError, startAppProcess, type AppProcess } from '../helpers/app-process.ts';
import { startApp } from '../helpers/app.ts';
import { canUnshare } from '../helpers/privileges.ts';

const noUnshare = canUnshare();
if (noUnshare) console.warn(`pid namespace restart skipped: ${noUnshare}`);

const root = mkdtempSync(join(tmpdir(), 'tk-pidns-'));
const dataDir = join(root, 'data');
const live: AppProcess[] = [];
afterAll(async () => {
  for (const a of live) await a.kill();
  rmSync(root, { recursive: true, force: true });
});

/** A start that must be refused: the exit code and what it printed. */
async function refusedStart(namespace: boolean): Promise<AppExitedError> {
  const err = await startAppProcess({ dataDir, namespace }).then(
    (app) => {
      live.push(app);
      return new Error(`a second tollkeeper started on ${dataDir} beside the live one`);
    },
    (e: unknown) => e,
  );
  if (!(err instanceof AppExitedError)) throw err;
  return err;
}

const lockFile = () => JSON.parse(readFileSync(join(dataDir, 'tollkeeper.lock'), 'utf8')) as { pid: number; ns: string };

describe.skipIf(noUnshare || process.env.TOLLKEEPER_TEST_CLICKHOUSE_URL)('restart in a pid namespace (node as PID 1)', () => {
  it('a SIGKILLed PID 1 leaves a lock the restart takes over; a live one refuses every other process', { timeout: 180_000 }, async () => {
    const traffic = ackedTraffic(`pidns-${process.pid}`);
    const first = await startAppProcess({ dataDir, namespace: true });
    live.push(first);
    expect(lockFile().pid).toBe(1);
    for (let i = 0; i < 5; i++) expect(await traffic.sendOne(first.otlpUrl, 20)).toBe(200);

    // While it lives: a second PID 1 in another namespace is refused, so is a process on the host.
    const [otherNs, host] = await Promise.all([refusedStart(true), refusedStart(false)]);
    for (const r of [otherNs, host]) {
      expect(r.code, r.output).toBe(1);
      expect(r.output).toContain(`data directory ${dataDir} is in use by another tollkeeper process (pid 1 in another container or pid namespace)`);
    }

    // SIGKILL to PID 1 while bodies are in flight: the namespace dies with it, the lock file stays behind.
    const inflight = Promise.all([0, 1, 2].map(async () => {
      while ((await traffic.sendOne(first.otlpUrl, 20)) === 200);
    }));
    await first.kill();
    await inflight;
    expect(lockFile().pid).toBe(1);

    // The restart, PID 1 again in a new namespace: it takes the lock (not refused), and the resent bodies are
    // counted once.
    const second = await startAppProcess({ dataDir, namespace: true });
    live.push(second);
    expect(lockFile().pid).toBe(1);
    for (let i = 0; traffic.unacked() > 0 && i < 50; i++) await traffic.sendOne(second.otlpUrl, 0);
    expect(traffic.unacked()).toBe(0);
    expect((await second.stop()).code).toBe(0);

    const t = await startApp({ dataDir, startLoop: false });
    try {
      const rows = await t.app.store.query<{ n: number; ids: number }>(`SELECT count() AS n, uniqExact(event_id) AS ids FROM ${t.app.store.table('usage_events')} WHERE api_key = {k:String}`, { k: `pidns-${process.pid}` });
      const stored = { rows: Number(rows[0]?.n), ids: Number(rows[0]?.ids) };
      console.log(`pid namespace restart: ${traffic.acked.size} spans acknowledged across the kill, ${stored.rows} stored`);
      expect(stored).toEqual({ rows: traffic.acked.size, ids: traffic.acked.size });
    } finally {
      await t.close();
    }
  });
});
