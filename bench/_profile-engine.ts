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
if (process.env.STOP_MERGES) await sess.queryAsync('SYSTEM STOP MERGES');
let captured: Record<string, unknown>[] = [];
const fake = { table: (n: string) => n, insert: async (_t: string, rows: readonly object[]) => { captured = rows as Record<string, unknown>[]; } } as unknown as ClickHouse;
const rowsOf = async (n: number) => { await createUsageRepo(fake).insert(usageEvents(n)); return captured; };
const N = 8;
const ddl = (await sess.queryAsync("SELECT create_table_query FROM system.tables WHERE database='p' AND name='usage_events'", { format: 'TSVRaw' })).text().trim();
const mvq = (await sess.queryAsync("SELECT as_select FROM system.tables WHERE database='p' AND name='usage_minute_mv'", { format: 'TSVRaw' })).text().trim();
const umddl = (await sess.queryAsync("SELECT create_table_query FROM system.tables WHERE database='p' AND name='usage_minute'", { format: 'TSVRaw' })).text().trim();
let k = 0;
async function table(transform: (s: string) => string, mv: boolean): Promise<string> {
  const name = `t${k++}`;
  await sess.queryAsync(transform(ddl.replace('p.usage_events', `p.${name}`)));
  if (mv) {
    await sess.queryAsync(umddl.replace('p.usage_minute', `p.${name}_um`));
    await sess.queryAsync(`CREATE MATERIALIZED VIEW p.${name}_mv TO p.${name}_um AS ${mvq.replace('p.usage_events', `p.${name}`)}`);
  }
  return `p.${name}`;
}
const cols = Object.keys((await rowsOf(1))[0]!);
const json = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).join('\n');
async function time(name: string, size: number, t: string, fn: (t: string, body: string) => Promise<unknown>, prep: (rows: Record<string, unknown>[]) => string = json) {
  const bodies: string[] = [];
  for (let i = 0; i <= N; i++) bodies.push(prep(await rowsOf(size)));
  await fn(t, bodies[0]!);
  const t0 = performance.now();
  for (let i = 1; i <= N; i++) await fn(t, bodies[i]!);
  const ms = (performance.now() - t0) / N;
  console.log(name.padEnd(64), ms.toFixed(1).padStart(7), 'ms/batch', Math.round(size / ms * 1000).toLocaleString().padStart(9), 'rows/s');
}
const raw = (t: string, b: string) => sess.insert({ table: t, values: Buffer.from(b), format: 'JSONEachRow' });
const inline = (pre: string, fmt = 'JSONEachRow', colList = '') => (t: string, b: string) => sess.queryAsync(`${pre}INSERT INTO ${t}${colList} FORMAT ${fmt}\n${b}`);
const id = (s: string) => s;
const noIdx = (s: string) => s.replace(/,\s*INDEX idx_event_id .*?GRANULARITY 4,\s*INDEX idx_tenant .*?GRANULARITY 4/s, '');
const list = ` (${cols.join(', ')})`;
const compact = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(cols.map((c) => r[c]))).join('\n');
const variants: [string, number, string, (t: string, b: string) => Promise<unknown>, ((rows: Record<string, unknown>[]) => string)?][] = [
  ['[5000] raw JSONEachRow → usage_events schema + MV', 5000, await table(id, true), raw],
  ['[20000] raw JSONEachRow → usage_events schema + MV', 20000, await table(id, true), raw],
  ['[5000] raw JSONEachRow → no MV', 5000, await table(id, false), raw],
  ['[5000] raw JSONEachRow → no MV, no skip indexes', 5000, await table(noIdx, false), raw],
  ['[5000] raw JSONEachRow → MV, no skip indexes', 5000, await table(noIdx, true), raw],
  ['[5000] raw → Null engine (parse only)', 5000, await table((s) => noIdx(s).replace(/ENGINE = [\s\S]*$/, 'ENGINE = Null'), false), raw],
  ['[5000] raw → Null engine + MV (parse + MV)', 5000, await table((s) => noIdx(s).replace(/ENGINE = [\s\S]*$/, 'ENGINE = Null'), true), raw],
  ['[5000] client-style inline: SET×3; INSERT … JSONEachRow → +MV', 5000, await table(id, true), inline("SET output_format_json_quote_64bit_integers = 0; SET date_time_input_format = 'best_effort'; SET log_comment = 'x'; ")],
  ['[5000] inline, no SET → +MV', 5000, await table(id, true), inline('')],
  ['[5000] inline, SET best_effort only → +MV', 5000, await table(id, true), inline("SET date_time_input_format = 'best_effort'; ")],
  ['[5000] inline JSONCompactEachRow → +MV', 5000, await table(id, true), inline('', 'JSONCompactEachRow', list), compact],
  ['[5000] raw Null engine, JSONCompactEachRow inline (parse only)', 5000, await table((s) => noIdx(s).replace(/ENGINE = [\s\S]*$/, 'ENGINE = Null'), false), inline('', 'JSONCompactEachRow', list), compact],
];
const results = new Map<string, number[]>();
for (let round = 0; round < 3; round++) for (const [name, size, t, fn, prep] of variants) {
  const bodies: string[] = [];
  for (let i = 0; i <= N; i++) bodies.push((prep ?? json)(await rowsOf(size)));
  await fn(t, bodies[0]!);
  const t0 = performance.now();
  for (let i = 1; i <= N; i++) await fn(t, bodies[i]!);
  const ms = (performance.now() - t0) / N / size * 5000;
  results.set(name, [...(results.get(name) ?? []), ms]);
}
for (const [name, ms] of results) { const s = [...ms].sort((a, b) => a - b); console.log(name.padEnd(66), 'ms per 5000 rows: min', s[0]!.toFixed(0).padStart(4), 'median', s[1]!.toFixed(0).padStart(4), '→', Math.round(5000 / s[1]! * 1000).toLocaleString().padStart(8), 'rows/s'); }
const ix = (await sess.queryAsync("SELECT name, type_full, granularity FROM system.data_skipping_indices WHERE database='p' AND table='usage_events'", { format: 'TSV' })).text();
console.log(ix);
sess.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
