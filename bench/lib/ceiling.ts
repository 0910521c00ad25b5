// The store's own insert rate for the rows the collector really makes: the ceiling for end-to-end ingest.
import { performance } from 'node:perf_hooks';
import type { UsageEvent } from '../../core/usage/types.ts';
import type { ClickHouse } from '../../store/port.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { countEvents, openBenchStore, startBenchApp } from './app.ts';
import { progress } from './harness.ts';
import type { LoadClient } from './load.ts';
import { fmt } from './stats.ts';

export interface Ceiling {
  name: string;
  rows: number;
  /** Median round. */
  rate: number;
  best: number;
}

export const BATCH = 5_000;
export const ROUNDS = 4;

/** Sends `n` spans (protobuf, 1000 per request) to an app whose writer keeps the events instead of storing them. */
async function captureEvents(dataDir: string, client: LoadClient, n: number): Promise<UsageEvent[]> {
  const bench = await startBenchApp(dataDir, 'bench_capture', { startLoop: false });
  const captured: UsageEvent[] = [];
  try {
    const writer = bench.app.writer!;
    writer.submit = async (events) => {
      for (const e of events) captured.push(e);
      return { ok: true };
    };
    await client.prepare('protobuf', 1000);
    const r = await client.load({ url: bench.otlpUrl, format: 'protobuf', spans: 1000, concurrency: 2, spanBudget: n, maxMs: 120_000 });
    if (captured.length !== r.spansOk) throw new Error(`capture: ${captured.length} events from ${r.spansOk} spans`);
    return captured;
  } finally {
    await bench.close();
  }
}

const PATHS = [
  { name: '`usage-repo` insert', db: 'bench_ceiling', dedupe: false },
  { name: '`existingIds` + insert (the batch writer\'s per-batch work)', db: 'bench_ceiling_dedupe', dedupe: true },
];

/**
 * `createUsageRepo(store).insert` in 5000-row batches, one after the other: alone, after the writer's dedupe
 * query. The paths take turns in rounds (this box is shared: interleaving spreads interference evenly).
 */
export async function measureCeiling(dataDir: string, client: LoadClient, n: number): Promise<Ceiling[]> {
  const events = await captureEvents(dataDir, client, n);
  const perRound = Math.ceil(events.length / ROUNDS / BATCH) * BATCH;
  const opened: { store: ClickHouse; repo: ReturnType<typeof createUsageRepo>; rates: number[] }[] = [];
  try {
    for (const p of PATHS) {
      const store = await openBenchStore(dataDir, p.db);
      opened.push({ store, repo: createUsageRepo(store), rates: [] });
    }
    for (let start = 0; start < events.length; start += perRound) {
      const round = events.slice(start, start + perRound);
      for (const [i, p] of PATHS.entries()) {
        const { repo, rates } = opened[i]!;
        const t0 = performance.now();
        for (let b = 0; b < round.length; b += BATCH) {
          const batch = round.slice(b, b + BATCH);
          if (p.dedupe) {
            const times = batch.map((e) => e.time);
            await repo.existingIds(batch.map((e) => e.eventId), Math.min(...times), Math.max(...times));
          }
          await repo.insert(batch);
        }
        rates.push(round.length / ((performance.now() - t0) / 1000));
      }
    }
    const out: Ceiling[] = [];
    for (const [i, p] of PATHS.entries()) {
      const { store, rates } = opened[i]!;
      const stored = await countEvents(store);
      if (stored.rows !== events.length) throw new Error(`ceiling: stored ${stored.rows}, expected ${events.length}`);
      const sorted = [...rates].sort((a, b) => a - b);
      const c = { name: p.name, rows: events.length, rate: sorted[sorted.length >> 1]!, best: sorted[sorted.length - 1]! };
      progress(`ceiling, ${p.name}: median ${fmt(c.rate)} rows/s, best ${fmt(c.best)} (${rates.length} rounds)`);
      out.push(c);
      await store.command(`DROP DATABASE IF EXISTS \`${store.database}\` SYNC`);
    }
    return out;
  } finally {
    for (const o of opened) {
      await o.store.close();
    }
  }
}
