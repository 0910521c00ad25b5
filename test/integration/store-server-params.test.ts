// Query parameters on a ClickHouse server travel in the URL, which a server caps at 1 MiB (http_max_uri_size):
// the detector's reads over many entities with long ids (a flood of 256-character keys) must still reach it.
// Against the HTTP shim (the real engine behind the server's protocol, URI limit included).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../../store/clickhouse.ts';
import { createAnomalyRepo } from '../../store/anomaly-repo.ts';
import { migrate } from '../../store/migrate.ts';
import type { ClickHouse } from '../../store/port.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { startClickHouseHttp, type ClickHouseHttp } from '../helpers/clickhouse-http.ts';
import { usageEvent } from '../helpers/events.ts';

const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'tk-params-'));
let shim: ClickHouseHttp;
let store: ClickHouse;

beforeAll(async () => {
  shim = await startClickHouseHttp({ path: dir });
  store = await openClickHouse({ kind: 'server', url: shim.url, database: 'params_test', username: 'default', password: '' });
  await migrate(store);
});
afterAll(async () => {
  await store?.close();
  await shim?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `n` distinct ids of 256 characters; `wide` ones in a two-byte script (each is 6 characters once URL-encoded). */
const longIds = (n: number, wide: boolean) => Array.from({ length: n }, (_, i) => `${i}-`.padEnd(256, wide ? 'é' : 'k'));

describe('large query parameters on a ClickHouse server', () => {
  it('tells which of 5,000 new 256-character keys have history (several MB of parameters)', async () => {
    const now = Date.now();
    const ids = longIds(5000, false);
    await createUsageRepo(store).insert([usageEvent({ apiKey: ids[7]!, costUsd: 1, time: now - 10 * HOUR }), usageEvent({ apiKey: ids[4999]!, costUsd: 1, time: now - 20 * HOUR })]);
    const found = await createAnomalyRepo(store).withHistory('api_key', ids, now, 28 * 24, now - 6 * HOUR);
    expect([...found].sort()).toEqual([ids[7], ids[4999]].sort());
  });

  it('reads the minute series of 1,000 keys in a two-byte script', async () => {
    const now = Date.now();
    const ids = longIds(1000, true);
    await createUsageRepo(store).insert([usageEvent({ apiKey: ids[3]!, costUsd: 2, time: now - 60_000 })]);
    const obs = await createAnomalyRepo(store).observationsOf('api_key', ids, now, 60);
    expect(obs.map((o) => o.id)).toEqual([ids[3]]);
  });
});
