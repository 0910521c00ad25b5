// Ingest throughput end to end (SPEC §9): OTLP/HTTP → collector → embedded ClickHouse, and the store's own
// insert ceiling for the same rows. Run alone: `npx tsx bench/ingest.ts` (prints markdown).
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { UsageEvent } from '../core/usage/types.ts';
import { createUsageRepo } from '../store/usage-repo.ts';
import { startCpuProfile } from './lib/cpu-profile.ts';
import { countEvents, openBenchStore, sampleRss, startBenchApp } from './lib/app.ts';
import { progress, runBench, type BenchResult } from './lib/harness.ts';
import { LoadClient } from './lib/load.ts';
import type { Format } from './lib/otlp-requests.ts';
import { fmt, mib } from './lib/stats.ts';
import { timeStore } from './lib/store-timing.ts';

const GOAL = 50_000;

interface Cell {
  format: Format;
  spans: number;
  concurrency: number;
}

// BENCH_CELLS=protobuf/1000/8,json/100/1 runs only those cells (for profiling one of them).
const only = process.env.BENCH_CELLS?.split(',');
const CELLS: Cell[] = (['protobuf', 'json'] as const)
  .flatMap((format) => [100, 1000].flatMap((spans) => [1, 8].map((concurrency) => ({ format, spans, concurrency }))))
  .filter((c) => !only || only.includes(`${c.format}/${c.spans}/${c.concurrency}`));

await runBench(async ({ tmpDir, scale }) => {
  const dataDir = join(tmpDir, 'data');
  const budget = Math.round(200_000 * scale);
  const maxMs = 25_000 * scale;
  const client = new LoadClient('load client');
  const problems: string[] = [];
  const rows: string[][] = [];
  const budgetRows: string[][] = [];
  const rates: number[] = [];
  let ceiling: { name: string; rows: number; rate: number }[] = [];
  try {
    for (const [i, c] of CELLS.entries()) {
      const name = `${c.format} ${c.spans} spans/req × ${c.concurrency}`;
      const bytes = await client.prepare(c.format, c.spans);
      const bench = await startBenchApp(dataDir, `bench_ingest_${i}`);
      try {
        const spec = { url: bench.otlpUrl, format: c.format, spans: c.spans, concurrency: c.concurrency };
        const warm = await client.load({ ...spec, spanBudget: Math.max(2_000, c.spans * c.concurrency * 2), maxMs: 5_000 });
        const before = await bench.countEvents();
        const timing = timeStore(bench.app.store);
        const stopProfile = await startCpuProfile(`ingest ${name}`);
        const stopRss = sampleRss();
        const cpu0 = process.cpuUsage();
        const elu0 = performance.eventLoopUtilization();
        const r = await client.load({ ...spec, spanBudget: budget, maxMs });
        const elu = performance.eventLoopUtilization(elu0).utilization;
        const cpu = process.cpuUsage(cpu0);
        const t = timing.snapshot();
        timing.restore();
        const profile = await stopProfile();
        if (profile) progress(`CPU profile: ${profile}`);
        if (process.env.BENCH_DEBUG) progress(JSON.stringify(t));
        const peak = stopRss();
        const after = await bench.countEvents();
        const stats = bench.app.writer?.stats();
        const accepted = after.rows - before.rows;
        const rate = accepted / (r.elapsedMs / 1000);
        rates.push(rate);
        const bad = [
          accepted !== r.spansSent && `stored ${accepted} rows but sent ${r.spansSent} spans`,
          after.rows !== after.distinct && `${after.rows - after.distinct} duplicate event ids`,
          after.rows !== warm.spansOk + r.spansOk && `table holds ${after.rows} rows, acknowledged ${warm.spansOk + r.spansOk}`,
          r.errors > 0 && `${r.errors} request errors (${r.firstError})`,
          (stats?.spooledBatches ?? 0) > 0 && `${stats?.spooledBatches} batches went to the spool`,
          r.spansOk !== r.spansSent && `non-200 answers: ${JSON.stringify(r.statuses)}`,
        ].filter((x): x is string => typeof x === 'string');
        for (const b of bad) problems.push(`ingest ${name}: ${b}`);
        const serverCpu = (cpu.user + cpu.system) / 1000 / r.elapsedMs;
        rows.push([
          c.format,
          String(c.spans),
          fmt(bytes / 1024),
          String(c.concurrency),
          fmt(r.spansSent),
          fmt(accepted),
          fmt(rate),
          fmt(r.latencyMs.p50, 1),
          fmt(r.latencyMs.p99, 1),
          mib(peak),
          `${fmt(serverCpu * 100)}% / ${fmt((r.cpuMs / r.elapsedMs) * 100)}%`,
        ]);
        const ins = t['store.insert usage_events'] ?? { calls: 0, ms: 0 };
        const dedupe = t['store.query collector.dedupe'] ?? { calls: 0, ms: 0 };
        const engine = t['engine insert'] ?? { calls: 0, ms: 0 };
        const per = (x: { ms: number }) => (ins.calls ? fmt(x.ms / ins.calls) : '–');
        budgetRows.push([
          name,
          `${fmt(elu * 100)}%`,
          fmt(ins.calls),
          ins.calls ? fmt(accepted / ins.calls) : '–',
          per(dedupe),
          per(ins),
          per(engine),
          `${fmt(((ins.ms + dedupe.ms) / r.elapsedMs) * 100)}%`,
        ]);
        progress(`${name}: ${fmt(rate)} spans/s (${fmt(accepted)} stored of ${fmt(r.spansSent)} sent in ${fmt(r.elapsedMs / 1000, 1)} s), p50 ${fmt(r.latencyMs.p50, 1)} ms, p99 ${fmt(r.latencyMs.p99, 1)} ms, peak RSS ${mib(peak)} MiB${bad.length ? '  !! ' + bad.join('; ') : ''}`);
      } finally {
        await bench.close();
      }
    }
    ceiling = process.env.BENCH_CEILING === '0' ? [] : await measureCeiling(dataDir, client, Math.round(200_000 * scale));
  } finally {
    client.close();
  }

  const best = Math.max(...rates);
  const ceil = ceiling[0]?.rate;
  rows.forEach((r, i) => r.splice(7, 0, ceil ? `${fmt((rates[i]! / ceil) * 100)}%` : '–'));
  const table = (caption: string, which: Format) => ({
    caption,
    columns: ['format', 'spans/req', 'KiB/req', 'concurrency', 'spans sent', 'rows stored', 'spans/s', '÷ ceiling', 'p50 ms', 'p99 ms', 'peak RSS MiB', 'CPU server / client'],
    rows: rows.filter((r) => r[0] === which),
  });
  const result: BenchResult = {
    title: 'Ingest: OTLP/HTTP → collector → embedded ClickHouse',
    method: [
      'The real app (`buildTollkeeper`, every role, chdb, log level warn) in the benchmark process; a separate load-generator process posts to 127.0.0.1 with a keep-alive `node:http` agent, `concurrency` requests in flight.',
      'Bodies come from the OTel SDK serializers (`ProtobufTraceSerializer` / `JsonTraceSerializer`) over `sdk-trace-base` chat spans with 16 gen_ai.* / identity attributes (gpt-4o and claude-3-5-sonnet, input/output/cache tokens, 1000 API keys, 50 tenants); every request gets fresh trace/span ids and current timestamps.',
      `Per cell: fresh database, warm-up, then ${fmt(budget)} spans or ${fmt(maxMs / 1000)} s, whichever first. spans/s = rows in \`usage_events\` (counted in ClickHouse) ÷ wall time from first send to last 200. A 200 means the batch is in ClickHouse (the writer acknowledges after the insert).`,
      'CPU = process CPU time ÷ wall time (server includes ClickHouse threads; 200% = both cores).',
      'Time budget: the store port and chdb\'s `Session.queryAsync` are wrapped during the timed part. event-loop busy = `performance.eventLoopUtilization()`; writer busy = (dedupe query + insert time) ÷ wall time; the batch writer runs them one batch at a time, so 100% means the writer is the bottleneck. store.insert − engine = row encoding on the main thread (`toRow`, JSON) and chdb\'s SQL assembly.',
    ],
    tables: [
      table('protobuf', 'protobuf'),
      table('JSON', 'json'),
      {
        caption: 'Where the time goes (same cells; per ClickHouse batch, averaged)',
        columns: ['cell', 'event-loop busy', 'batches', 'rows/batch', 'dedupe query ms', 'store.insert ms', 'of which engine ms', 'writer busy'],
        rows: budgetRows,
      },
      {
        caption: 'Ceiling: the same rows straight into ClickHouse',
        columns: ['path', 'rows', 'batch', 'rows/s', 'best ingest cell ÷ this'],
        rows: ceiling.map((c) => [c.name, fmt(c.rows), '5,000', fmt(c.rate), `${fmt((best / c.rate) * 100)}%`]),
      },
    ],
    notes: [`Goal (issue): ≥ ${fmt(GOAL)} spans/s protobuf, aim 100,000. Best cell here: ${fmt(best)} spans/s.`],
    problems,
  };
  return result;
});

/**
 * The rows the collector really makes (captured from the writer of an app fed the same requests), then
 * `createUsageRepo(store).insert` in 5000-row batches: alone, and preceded by the writer's dedupe query.
 */
async function measureCeiling(dataDir: string, client: LoadClient, n: number): Promise<{ name: string; rows: number; rate: number }[]> {
  const events = await captureEvents(dataDir, client, n);
  const out = [];
  for (const [name, dedupe] of [['`usage-repo` insert', false], ['`existingIds` + insert (what the batch writer does per batch)', true]] as const) {
    const store = await openBenchStore(dataDir, dedupe ? 'bench_ceiling_dedupe' : 'bench_ceiling');
    try {
      const repo = createUsageRepo(store);
      const t0 = performance.now();
      for (let i = 0; i < events.length; i += 5_000) {
        const batch = events.slice(i, i + 5_000);
        if (dedupe) await repo.existingIds(batch.map((e) => e.eventId), Math.min(...batch.map((e) => e.time)), Math.max(...batch.map((e) => e.time)));
        await repo.insert(batch);
      }
      const rate = events.length / ((performance.now() - t0) / 1000);
      const stored = await countEvents(store);
      if (stored.rows !== events.length) throw new Error(`ceiling: stored ${stored.rows}, expected ${events.length}`);
      progress(`ceiling ${name}: ${fmt(rate)} rows/s`);
      out.push({ name, rows: events.length, rate });
      await store.command(`DROP DATABASE IF EXISTS \`${store.database}\` SYNC`);
    } finally {
      await store.close();
    }
  }
  return out;
}

/** Sends `n` spans (protobuf, 1000 per request) to an app whose writer keeps the events instead of storing them. */
async function captureEvents(dataDir: string, client: LoadClient, n: number): Promise<UsageEvent[]> {
  const bench = await startBenchApp(dataDir, 'bench_capture');
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
