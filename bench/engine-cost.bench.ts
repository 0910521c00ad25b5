// What one stored usage event costs the embedded engine, by part of the schema: the budget that decides how
// many spans per second two cores can ingest. Run alone: `npx tsx bench/engine-cost.bench.ts`.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { UsageEvent } from '../core/usage/types.ts';
import { openClickHouse } from '../store/clickhouse.ts';
import { migrate } from '../store/migrate.ts';
import type { ClickHouse } from '../store/port.ts';
import { encodeRow, USAGE_COLUMNS } from '../store/usage-repo.ts';
import { usageEvent } from '../test/helpers/events.ts';
import { progress, runBench } from './lib/harness.ts';
import { fmt } from './lib/stats.ts';

const BATCHES = 12; // the first is a warm-up

/** Events shaped like the ingest benchmark's: 1000 keys, 5000 users, 997 conversations, 50 tenants, 4 services. */
function events(n: number, offset: number): UsageEvent[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, k) => {
    const i = offset + k;
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    return usageEvent({
      eventId: traceId + spanId,
      traceId,
      spanId,
      time: now - 1000 + (i % 1000),
      startTime: now - 1800 - (i % 997),
      service: `chat-api-${i % 4}`,
      apiKey: `key-${((i * 7919) % 1000).toString().padStart(4, '0')}`,
      user: `user-${i % 5000}`,
      tenant: `tenant-${i % 50}`,
      conversation: `conv-${i % 997}`,
      provider: i % 2 ? 'openai' : 'anthropic',
      model: i % 2 ? 'gpt-4o' : 'claude-3-5-sonnet',
      inputTokens: 1500 + (i % 300),
      outputTokens: 200 + (i % 50),
      cacheReadTokens: i % 3 === 0 ? 1024 : 0,
      costUsd: 0.0123,
    });
  });
}

const VARIANTS: { name: string; prepare: (store: ClickHouse) => Promise<void> }[] = [
  {
    name: 'parse only (`usage_events` as a Null table)',
    prepare: async (s) => {
      await s.command(`DROP VIEW ${s.table('usage_minute_mv')}`);
      await s.command(`CREATE TABLE ${s.table('usage_events_null')} AS ${s.table('usage_events')} ENGINE = Null`);
      await s.command(`DROP TABLE ${s.table('usage_events')}`);
      await s.command(`RENAME TABLE ${s.table('usage_events_null')} TO ${s.table('usage_events')}`);
    },
  },
  { name: '+ MergeTree write (no rollup view)', prepare: (s) => s.command(`DROP VIEW ${s.table('usage_minute_mv')}`) },
  { name: 'the real schema (+ per-minute rollup of six entity kinds)', prepare: async () => undefined },
];

await runBench(async ({ tmpDir, scale }) => {
  const path = join(tmpDir, 'clickhouse');
  const rows: string[][] = [];
  const sizes = [4000, 16000].map((b) => Math.max(500, Math.round(b * scale)));
  for (const size of sizes) {
    // Encoded once, outside the timing: this measures the engine, not our encoder.
    const bodies = Array.from({ length: BATCHES }, (_, b) => Buffer.from(events(size, b * size).map(encodeRow).join('')));
    for (const [v, variant] of VARIANTS.entries()) {
      const store = await openClickHouse({ kind: 'chdb', path, database: `engine_cost_${size}_${v}` });
      try {
        await migrate(store);
        await variant.prepare(store);
        const insert = (body: Buffer) => store.insertEncoded('usage_events', USAGE_COLUMNS, body, { settings: { optimize_on_insert: 0 } });
        await insert(bodies[0]!);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        for (const body of bodies.slice(1)) await insert(body);
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const n = size * (BATCHES - 1);
        const cpuUs = (cpu.user + cpu.system) / n;
        rows.push([String(size), variant.name, fmt(n / (ms / 1000)), fmt((ms * 1000) / n, 1), fmt(cpuUs, 1), fmt(1e6 / cpuUs)]);
        progress(`${size} rows/insert, ${variant.name}: ${fmt(cpuUs, 1)} µs CPU a row`);
        await store.command(`DROP DATABASE IF EXISTS \`${store.database}\` SYNC`);
      } finally {
        await store.close();
      }
    }
  }
  return {
    title: 'Engine cost of one usage event (embedded ClickHouse)',
    method: [
      `${BATCHES - 1} inserts (after one warm-up) of the collector's own JSONCompactEachRow rows through \`store.insertEncoded\` (chdb raw insert, the collector's settings), one at a time, nothing else running in the process; fresh database per row of the table. Encoding is done before timing.`,
      'Rows shaped like the ingest benchmark: 1000 API keys, 5000 users, 997 conversations, 50 tenants, 4 services, random trace/span ids, one minute.',
      'CPU = process CPU time (all ClickHouse threads) ÷ rows. "events/s per core" = 1 s of one core ÷ CPU per row: what the engine alone could take if it had a whole core.',
    ],
    tables: [{ columns: ['rows/insert', 'schema', 'rows/s (wall)', 'wall µs/row', 'CPU µs/row', 'events/s per core'], rows }],
    notes: [
      'On two cores, ingest must fit engine + collector CPU per span into 2 s of CPU a second: at 50,000 spans/s that is 40 µs a span in all, HTTP, decoding, mapping, pricing and encoding included (see "Where the time goes" under Ingest).',
    ],
  };
});
