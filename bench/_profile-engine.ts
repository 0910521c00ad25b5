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
let captured: Record<string, unknown>[] = [];
const fake = { table: (n: string) => n, insert: async (_t: string, rows: readonly object[]) => { captured = rows as Record<string, unknown>[]; } } as unknown as ClickHouse;
const rowsOf = async (n: number) => { await createUsageRepo(fake).insert(usageEvents(n)); return captured; };
const N = 8;
async function time(name: string, size: number, fn: (body: Buffer, rows: Record<string, unknown>[]) => Promise<unknown>, prep: (rows: Record<string, unknown>[]) => Buffer = (rows) => Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n'))) {
  const bodies: [Buffer, Record<string, unknown>[]][] = [];
  for (let i = 0; i <= N; i++) { const r = await rowsOf(size); bodies.push([prep(r), r]); }
  await fn(...bodies[0]!);
  const t0 = performance.now();
  for (let i = 1; i <= N; i++) await fn(...bodies[i]!);
  const ms = (performance.now() - t0) / N;
  console.log(name.padEnd(60), ms.toFixed(1).padStart(7), 'ms/batch', Math.round(size / ms * 1000).toLocaleString().padStart(9), 'rows/s');
}
const ddl = (await sess.queryAsync("SELECT create_table_query FROM system.tables WHERE database='p' AND name='usage_events'", { format: 'TSVRaw' })).text().trim();
const mk = async (name: string, transform: (s: string) => string) => { await sess.queryAsync(transform(ddl.replace('p.usage_events', `p.${name}`))); };
await mk('nomv', (s) => s);
await mk('noidx', (s) => s.replace(/,\s*INDEX idx_event_id[^,]*,\s*INDEX idx_tenant[^)]*GRANULARITY 4/, ''));
await mk('mt', (s) => s.replace(/ReplacingMergeTree\(ingested_at\)/, 'MergeTree'));
const ins = (table: string, format = 'JSONEachRow', settings?: Record<string, string|number>) => (body: Buffer) => sess.insert({ table: `p.${table}`, values: body, format: format as 'JSONEachRow', ...(settings ? { settings } : {}) } as never);
for (const size of [5000, 20000]) {
  await time(`[${size}] raw JSONEachRow → usage_events (with MV)`, size, ins('usage_events'));
  await time(`[${size}] raw JSONEachRow → copy, no MV`, size, ins('nomv'));
}
await time('[5000] raw JSONEachRow → no MV, no skip indexes', 5000, ins('noidx'));
await time('[5000] raw JSONEachRow → no MV, plain MergeTree', 5000, ins('mt'));
await time('[5000] raw JSONEachRow → no MV, optimize_on_insert=0', 5000, ins('nomv', 'JSONEachRow', { optimize_on_insert: 0 }));
const cols = Object.keys((await rowsOf(1))[0]!);
await time('[5000] raw JSONCompactEachRow → no MV', 5000, ins('nomv', 'JSONCompactEachRow'), (rows) => Buffer.from(rows.map((r) => JSON.stringify(cols.map((c) => r[c]))).join('\n')));
const tsv = (v: unknown) => typeof v === 'object' && v !== null ? `{${Object.entries(v).map(([k, x]) => `'${k}':'${String(x)}'`).join(',')}}` : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
await time('[5000] raw TSV → no MV', 5000, ins('nomv', 'TabSeparated'), (rows) => Buffer.from(rows.map((r) => cols.map((c) => tsv(r[c])).join('\t')).join('\n') + '\n'));
await time('[5000] client-style SET;SET;INSERT inline text → with MV', 5000, (b) => sess.queryAsync("SET output_format_json_quote_64bit_integers = 0; SET date_time_input_format = 'best_effort'; SET log_comment = 'x'; INSERT INTO p.usage_events FORMAT JSONEachRow\n" + b.toString()));
await time('[5000] inline text, no SET → with MV', 5000, (b) => sess.queryAsync('INSERT INTO p.usage_events FORMAT JSONEachRow\n' + b.toString()));
await time('[5000] inline text, best_effort only → with MV', 5000, (b) => sess.queryAsync("SET date_time_input_format = 'best_effort'; INSERT INTO p.usage_events FORMAT JSONEachRow\n" + b.toString()));
// MV cost alone: Null table with the same MV
await sess.queryAsync('CREATE TABLE p.nulltab AS p.usage_events ENGINE = Null');
await sess.queryAsync("CREATE TABLE p.um2 AS p.usage_minute");
const mvq = (await sess.queryAsync("SELECT as_select FROM system.tables WHERE database='p' AND name='usage_minute_mv'", { format: 'TSVRaw' })).text().trim();
await sess.queryAsync(`CREATE MATERIALIZED VIEW p.mv2 TO p.um2 AS ${mvq.replace('p.usage_events', 'p.nulltab')}`);
await time('[5000] raw → Null table + the usage_minute MV only', 5000, ins('nulltab'));
await sess.queryAsync('CREATE TABLE p.nulltab2 AS p.usage_events ENGINE = Null');
await time('[5000] raw → Null table (parse only)', 5000, ins('nulltab2'));
sess.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
