import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { buildTollkeeper, type Tollkeeper } from '../../app/build.ts';
import { createLogger } from '../../app/logger.ts';
import { loadConfig } from '../../core/config/load.ts';
import { openClickHouse } from '../../store/clickhouse.ts';
import { migrate } from '../../store/migrate.ts';
import type { ClickHouse } from '../../store/port.ts';

export interface BenchApp {
  app: Tollkeeper;
  otlpUrl: string;
  apiUrl: string;
  /** Rows in usage_events and distinct event ids among them. */
  countEvents(): Promise<{ rows: number; distinct: number }>;
  /** Closes the app after dropping its database (frees the engine's background merges for the next cell). */
  close(): Promise<void>;
}

/**
 * The real app as `npm start` builds it (every role, embedded ClickHouse), on 127.0.0.1 random ports.
 * One chdb data directory per process: cells of a benchmark share it and each get their own database.
 */
export async function startBenchApp(dataDir: string, database: string, o: { yaml?: string; startLoop?: boolean; memoryLimiter?: boolean; gatewayPort?: number } = {}): Promise<BenchApp> {
  const yaml = o.yaml ?? process.env.BENCH_YAML;
  const loaded = loadConfig({
    source: 'bench.yaml',
    ...(yaml ? { fileText: yaml } : {}),
    env: {},
    flags: { data: dataDir, otlpPort: 0, apiPort: 0, gatewayPort: o.gatewayPort ?? 0, host: '127.0.0.1' },
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  // A benchmark process also holds its own data and measurements (and some run in-process ceilings first): its
  // resident memory is not the app's, so the memory limiter runs only where a benchmark asks for it (overload).
  if (!o.memoryLimiter && !/memory_limit_mib/.test(yaml ?? '')) loaded.config.ingest.memory_limit_mib = 0;
  const app = await buildTollkeeper(loaded.config, { logger: createLogger('warn'), database, startLoop: o.startLoop ?? true });
  const urls = await app.listen();
  return {
    app,
    otlpUrl: urls.otlpUrl ?? '',
    apiUrl: urls.apiUrl ?? '',
    countEvents: () => countEvents(app.store),
    async close() {
      await app.loop?.stop();
      await app.writer?.flush();
      // Its last counts go in before the database does (closing the app later does not flush them again).
      await app.stats?.close();
      await app.store.command(`DROP DATABASE IF EXISTS \`${database}\` SYNC`);
      await app.close();
    },
  };
}

export async function countEvents(store: ClickHouse): Promise<{ rows: number; distinct: number }> {
  const [r] = await store.query<{ rows: number; distinct: number }>(`SELECT count() AS rows, uniqExact(event_id) AS distinct FROM ${store.table('usage_events')}`);
  return { rows: Number(r?.rows ?? 0), distinct: Number(r?.distinct ?? 0) };
}

/** A bare store on the benchmark's data directory (same engine, own database), migrated. */
export async function openBenchStore(dataDir: string, database: string): Promise<ClickHouse> {
  const store = await openClickHouse({ kind: 'chdb', path: join(dataDir, 'clickhouse'), database });
  await migrate(store);
  return store;
}

/** Samples RSS every `everyMs`; stop() gives the peak seen (bytes). */
export function sampleRss(everyMs = 50): () => number {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage.rss());
  };
}

/** Where memory is at the RSS peak: the JS heap, buffers outside it, and the rest (native: embedded ClickHouse, code). */
export interface MemoryAtPeak {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  /** The part of heapTotal that is the young generation (new space and new large objects), sized by --max-semi-space-size. */
  young: number;
  /** Buffers and other memory V8 knows about outside the heap. */
  external: number;
  /** RSS minus heap and external: embedded ClickHouse's allocations, the code, thread stacks. */
  native: number;
}

/** Samples process.memoryUsage() every `everyMs`; stop() gives the breakdown at the sample with the highest RSS. */
export function sampleMemory(everyMs = 50): () => MemoryAtPeak {
  const take = (): MemoryAtPeak => {
    const m = process.memoryUsage();
    let young = 0;
    for (const sp of getHeapSpaceStatistics()) if (sp.space_name.startsWith('new_')) young += sp.space_size;
    return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, young, external: m.external, native: Math.max(0, m.rss - m.heapTotal - m.external) };
  };
  let peak = take();
  const timer = setInterval(() => {
    const m = take();
    if (m.rss > peak.rss) peak = m;
  }, everyMs);
  return () => {
    clearInterval(timer);
    const m = take();
    return m.rss > peak.rss ? m : peak;
  };
}
