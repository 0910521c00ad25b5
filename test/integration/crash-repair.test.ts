import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { serverUrl, startApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';

const rollupRequests = async (t: Awaited<ReturnType<typeof startApp>>) =>
  Number((await t.app.store.query<{ n: string }>(`SELECT toString(sum(requests)) AS n FROM ${t.app.store.table('usage_minute')} WHERE kind = 'api_key' AND entity = 'k-cut'`))[0]?.n ?? 0);

describe.skipIf(serverUrl)('rollups after a run that did not stop cleanly (embedded engine)', () => {
  it('rebuilds the minutes the killed run wrote, so the rollup agrees with the events again', async () => {
    const t = await startApp({ startLoop: false });
    const started = Date.now();
    const events = Array.from({ length: 30 }, (_, i) => usageEvent({ apiKey: 'k-cut', requests: 1, costUsd: 0.01, time: started - i * 20_000 }));
    await createUsageRepo(t.app.store).insert(events);
    expect(await rollupRequests(t)).toBe(30);
    // What a kill between the events' insert and the materialized view's leaves: events stored, rollup short.
    await t.app.store.command(`ALTER TABLE ${t.app.store.table('usage_minute')} DELETE WHERE entity = 'k-cut'`, {}, { settings: { mutations_sync: 2 } });
    expect(await rollupRequests(t)).toBe(0);
    await t.close();
    expect(existsSync(join(t.dataDir, 'running'))).toBe(false); // a clean stop removes the marker
    writeFileSync(join(t.dataDir, 'running'), String(started - 60_000)); // …a kill leaves it
    const again = await startApp({ dataDir: t.dataDir, database: t.database, startLoop: false });
    try {
      expect(await rollupRequests(again)).toBe(30);
    } finally {
      await again.close({ cleanup: true });
    }
  });
});
