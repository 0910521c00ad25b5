import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Session } from 'chdb';
import { openBenchStore } from './lib/app.ts';
const dir = mkdtempSync(join(tmpdir(), 'tk-ins-'));
const store = await openBenchStore(dir, 'p');
await store.close();
const s = new Session(join(dir, 'clickhouse'));
const now = Date.now();
const body = async (b: number) => Buffer.from((await s.queryAsync(`SELECT lower(hex(cityHash64(number, 1))) || lower(hex(cityHash64(number, 2))) || lower(hex(cityHash64(number,3))) AS event_id, substring(event_id, 1, 32) AS trace_id, substring(event_id, 33, 16) AS span_id, '' AS parent_span_id,
    toString(fromUnixTimestamp64Milli(toInt64(${now} - 60000 + number * 2))) AS time, toString(fromUnixTimestamp64Milli(toInt64(${now} - 61000 + number * 2))) AS start_time, 'chat-api-1' AS service,
    'key-' || toString(cityHash64(number) % 1000) AS api_key, 'user-' || toString(number % 5000) AS user, 'tenant-' || toString(cityHash64(number) % 50) AS tenant, '' AS agent, 'conv-' || toString(number % 997) AS conversation, map() AS attributes, 'semconv' AS family, 'openai' AS provider, 'gpt-4o-2024-08-06' AS model, 'chat' AS operation, 'chat gpt-4o' AS span_name,
    1500 + number % 300 AS input_tokens, 200 + number % 50 AS output_tokens, 1024 AS cache_read_tokens, 0 AS cache_write_tokens, 0 AS reasoning_tokens, 1 AS requests, 0 AS tool_calls, '' AS tool_name, 0. AS compute_seconds, 0.0123 AS cost_usd, 'price_db' AS cost_source, 'v1' AS price_version
    FROM numbers(${b * 5000}, 5000) FORMAT JSONEachRow`)).bytes());
const bodies: Buffer[] = [];
for (let b = 0; b < 48; b++) bodies.push(await body(b));
console.log('bytes/batch', bodies[0]!.length);
let k = 0;
async function t(name: string, n: number, fn: (b: Buffer) => Promise<unknown>, parallel = 1) {
  const per: number[] = [];
  for (let i = 0; i < n; i += parallel) {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: parallel }, () => fn(bodies[k++ % bodies.length]!)));
    per.push((performance.now() - t0) / parallel);
  }
  per.sort((x, y) => x - y);
  console.log(name.padEnd(60), 'min', per[0]!.toFixed(0).padStart(5), 'median', per[per.length >> 1]!.toFixed(0).padStart(5), 'ms per 5000 rows; best', Math.round(5000 / per[0]! * 1000).toLocaleString().padStart(8), 'rows/s');
}
const raw = (settings?: Record<string, string | number>) => (b: Buffer) => s.insert({ table: 'p.usage_events', values: b, format: 'JSONEachRow', ...(settings ? { settings } : {}) } as never);
const inline = (pre: string) => (b: Buffer) => s.queryAsync(`${pre}INSERT INTO p.usage_events FORMAT JSONEachRow\n${b.toString()}`);
for (let round = 0; round < 3; round++) {
  await t('raw Buffer insert, serial', 8, raw());
  await t('raw Buffer insert, 2 concurrent', 8, raw(), 2);
  await t('raw, input_format_parallel_parsing=0', 8, raw({ input_format_parallel_parsing: 0 }));
  await t('raw, min_chunk_bytes_for_parallel_parsing=512KiB', 8, raw({ min_chunk_bytes_for_parallel_parsing: 524288 }));
  await t('client-style inline SET×3 + INSERT text, serial', 8, inline("SET output_format_json_quote_64bit_integers = 0; SET date_time_input_format = 'best_effort'; SET log_comment = 'collector.insert'; "));
  await t('inline + min_chunk 512KiB', 8, inline("SET min_chunk_bytes_for_parallel_parsing = 524288; SET date_time_input_format = 'best_effort'; "));
}
s.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
