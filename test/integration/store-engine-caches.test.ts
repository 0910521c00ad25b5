// The embedded engine opens with bounded caches (store/clickhouse.ts ENGINE_ARGS), not a server's multi-GiB sizes:
// a cache growing with the data would hold memory the collector's memory limiter then refuses ingest for.
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINE_ARGS } from '../../store/clickhouse.ts';
import { serverUrl } from '../helpers/app.ts';
import { openTestStore, removeTestStores, type TestStore } from '../helpers/test-store.ts';

let ts: TestStore | undefined;
afterAll(async () => {
  await ts?.close();
  removeTestStores();
});

describe.skipIf(Boolean(serverUrl))('embedded engine caches', () => {
  it('are the sizes the store opens the engine with', async () => {
    ts = await openTestStore();
    const rows = await ts.store.query<{ name: string; value: string }>(`SELECT name, value FROM system.server_settings WHERE name IN {names:Array(String)}`, {
      names: ENGINE_ARGS.map((a) => a.slice(2, a.indexOf('='))),
    });
    const expected = Object.fromEntries(ENGINE_ARGS.map((a) => [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
    expect(Object.fromEntries(rows.map((r) => [r.name, String(r.value)]))).toEqual(expected);
    expect(Number(expected.mark_cache_size)).toBeLessThanOrEqual(64 * 1024 * 1024);
  });
});
