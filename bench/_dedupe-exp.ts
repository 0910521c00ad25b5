import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Session } from 'chdb';
import { openBenchStore } from './lib/app.ts';
const dir = mkdtempSync(join(tmpdir(), 'tk-dd-'));
const store = await openBenchStore(dir, 'p');
await store.close();
const s = new Session(join(dir, 'clickhouse'));
const now = Date.now();
for (let b = 0; b < 40; b++) {
  await s.queryAsync(`INSERT INTO p.usage_events (event_id, trace_id, span_id, time, start_time, api_key, tenant, service, input_tokens, output_tokens, requests)
    SELECT lower(hex(cityHash64(number, 1))) || lower(hex(cityHash64(number, 2))) || lower(hex(cityHash64(number,3))), '', '', fromUnixTimestamp64Milli(toInt64(${now} - 60000 + number * 2)), fromUnixTimestamp64Milli(toInt64(${now} - 61000 + number * 2)),
    'key-' || toString(cityHash64(number) % 1000), 'tenant-' || toString(cityHash64(number) % 50), 'svc', 1500, 200, 1 FROM numbers(${b * 5000}, 5000)`);
}
const parts = (await s.queryAsync("SELECT count() FROM system.parts WHERE database='p' AND table='usage_events' AND active", { format: 'TSV' })).text().trim();
console.log('active parts', parts);
const idsOf = async (from: number, n: number, fresh: boolean) => (await s.queryAsync(`SELECT ${fresh ? "lower(hex(cityHash64(number, 7))) || lower(hex(cityHash64(number, 8))) || lower(hex(cityHash64(number,9)))" : "lower(hex(cityHash64(number, 1))) || lower(hex(cityHash64(number, 2))) || lower(hex(cityHash64(number,3)))"} AS id FROM numbers(${from}, ${n})`, { format: 'JSONEachRow' })).text().trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);
const ids = await idsOf(195000, 3000, true);
const lo = new Date(now - 60000 + 195000 * 2).toISOString().slice(0, 23).replace('T', ' ');
const hi = new Date(now - 60000 + 198000 * 2).toISOString().slice(0, 23).replace('T', ' ');
async function t(name: string, sql: string, params: Record<string, unknown>) {
  await s.queryBindAsync(sql, params, { format: 'JSONEachRow' });
  const t0 = performance.now();
  let r;
  for (let i = 0; i < 5; i++) r = await s.queryBindAsync(sql, params, { format: 'JSONEachRow' });
  console.log(name.padEnd(55), ((performance.now() - t0) / 5).toFixed(1).padStart(7), 'ms  rows read', r!.rowsRead);
}
const q = 'SELECT DISTINCT event_id FROM p.usage_events WHERE time BETWEEN {lo:DateTime64(3)} AND {hi:DateTime64(3)} AND event_id IN {ids:Array(String)}';
await t('as in usage-repo (3000 new ids, batch time window)', q, { lo, hi, ids });
await t('same, use_skip_indexes=0', 'SET use_skip_indexes=0; ' + q, { lo, hi, ids });
await t('same, 100 ids', q, { lo, hi, ids: ids.slice(0, 100) });
await t('same, no time filter', 'SELECT DISTINCT event_id FROM p.usage_events WHERE event_id IN {ids:Array(String)}', { ids });
await s.queryAsync('CREATE TABLE p.ids (event_id String, time DateTime64(3)) ENGINE = ReplacingMergeTree ORDER BY event_id');
await s.queryAsync('INSERT INTO p.ids SELECT event_id, time FROM p.usage_events');
await t('id table ORDER BY event_id, 3000 ids', 'SELECT event_id FROM p.ids WHERE event_id IN {ids:Array(String)}', { ids });
await t('3000 ids: param parsing only (no table)', 'SELECT length({ids:Array(String)})', { ids });
s.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
