import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Session } from 'chdb';
import { createUsageRepo } from '../store/usage-repo.ts';
import type { ClickHouse } from '../store/port.ts';
import { openBenchStore } from './lib/app.ts';
import { usageEvents } from './lib/usage-rows.ts';

const dir = mkdtempSync(join(tmpdir(), 'tk-prof-'));
const store = await openBenchStore(dir, 'p');
const sess = new Session(join(dir, 'clickhouse'));
let captured: object[] = [];
const fake = { table: (n: string) => n, insert: async (_t: string, rows: readonly object[]) => { captured = rows as object[]; } } as unknown as ClickHouse;
const fakeRepo = createUsageRepo(fake);
const repo = createUsageRepo(store);
const time = async (name: string, n: number, fn: () => Promise<unknown> | unknown) => {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  console.log(name.padEnd(50), ((performance.now() - t0) / n).toFixed(1), 'ms');
};
const batch = usageEvents(5000);
await time('toRow (repo.insert w/ fake store)', 10, () => fakeRepo.insert(batch));
await time('JSON.stringify rows joined', 10, () => captured.map((r) => JSON.stringify(r)).join('\n'));
const body = Buffer.from(captured.map((r) => JSON.stringify(r)).join('\n'));
console.log('body bytes', body.length);
await time('store.insert (client path) 5000 fresh rows', 10, () => repo.insert(usageEvents(5000)));
await time('raw session.insert Buffer → usage_events (MV)', 10, () => sess.insert({ table: 'p.usage_events', values: body, format: 'JSONEachRow' }));
await sess.queryAsync('CREATE TABLE p.nomv AS p.usage_events');
await time('raw session.insert Buffer → copy without MV', 10, () => sess.insert({ table: 'p.nomv', values: body, format: 'JSONEachRow' }));
await sess.queryAsync('CREATE TABLE p.plain (event_id String, trace_id String, span_id String, parent_span_id String, time DateTime64(3), start_time DateTime64(3), service String, api_key String, user String, tenant String, agent String, conversation String, attributes Map(String,String), family String, provider String, model String, operation String, span_name String, input_tokens UInt64, output_tokens UInt64, cache_read_tokens UInt64, cache_write_tokens UInt64, reasoning_tokens UInt64, requests UInt32, tool_calls UInt32, tool_name String, compute_seconds Float64, cost_usd Float64, cost_source String, price_version String) ENGINE = MergeTree ORDER BY (api_key, time)');
await time('raw session.insert Buffer → plain MergeTree', 10, () => sess.insert({ table: 'p.plain', values: body, format: 'JSONEachRow' }));
await time('client: INSERT via store.command-like SQL text', 5, () => sess.queryAsync('INSERT INTO p.nomv FORMAT JSONEachRow\n' + body.toString()));
for (const extra of [0, 100_000, 300_000]) {
  for (let i = 0; i < extra; i += 10_000) await repo.insert(usageEvents(10_000));
  const probe = usageEvents(5000);
  await time(`existingIds 5000 ids (table +${extra})`, 5, () => repo.existingIds(probe.map((e) => e.eventId), probe[0]!.time, probe[4999]!.time));
}
sess.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
