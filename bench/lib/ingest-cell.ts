// One cell of the ingest matrix: a fresh app and database, a warm-up, then a timed, verified load.
import { performance } from 'node:perf_hooks';
import { sampleRss, startBenchApp } from './app.ts';
import { startCpuProfile } from './cpu-profile.ts';
import { progress } from './harness.ts';
import type { LoadClient } from './load.ts';
import type { Format } from './otlp-requests.ts';
import { fmt, mib, type Summary } from './stats.ts';
import { timeStore, type Timed } from './store-timing.ts';

export interface Cell {
  format: Format;
  spans: number;
  concurrency: number;
  /** Run the detector loop too, as `npm start` does. */
  detector?: boolean;
}

export interface CellResult {
  cell: Cell;
  name: string;
  bytesPerRequest: number;
  sent: number;
  stored: number;
  rate: number;
  latencyMs: Summary;
  peakRss: number;
  /** CPU time ÷ wall time of the app process (all threads) and of the load generator. */
  serverCpu: number;
  clientCpu: number;
  /** Event-loop busy share and busy time per span (main thread). */
  elu: number;
  mainUsPerSpan: number;
  cpuUsPerSpan: number;
  timing: Record<string, Timed>;
  elapsedMs: number;
  problems: string[];
}

export const cellName = (c: Cell) => `${c.format} ${c.spans} spans/req × ${c.concurrency}${c.detector ? ', detector on' : ''}`;

export async function runCell(client: LoadClient, dataDir: string, database: string, c: Cell, budget: number, maxMs: number): Promise<CellResult> {
  const name = cellName(c);
  const bytesPerRequest = await client.prepare(c.format, c.spans);
  const bench = await startBenchApp(dataDir, database, { startLoop: c.detector === true });
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
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage(cpu0);
    const peakRss = stopRss();
    timing.restore();
    const profile = await stopProfile();
    if (profile) progress(`CPU profile: ${profile}`);
    const after = await bench.countEvents();
    const stored = after.rows - before.rows;
    const stats = bench.app.writer?.stats();
    const problems = [
      stored !== r.spansSent && `stored ${stored} rows but sent ${r.spansSent} spans`,
      after.rows !== after.distinct && `${after.rows - after.distinct} duplicate event ids`,
      after.rows !== warm.spansOk + r.spansOk && `table holds ${after.rows} rows, acknowledged ${warm.spansOk + r.spansOk}`,
      r.errors > 0 && `${r.errors} request errors (${r.firstError})`,
      (stats?.spooledBatches ?? 0) > 0 && `${stats?.spooledBatches} batches went to the spool`,
      r.spansOk !== r.spansSent && `non-200 answers: ${JSON.stringify(r.statuses)}`,
    ]
      .filter((x): x is string => typeof x === 'string')
      .map((p) => `ingest ${name}: ${p}`);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const out: CellResult = {
      cell: c,
      name,
      bytesPerRequest,
      sent: r.spansSent,
      stored,
      rate: stored / (r.elapsedMs / 1000),
      latencyMs: r.latencyMs,
      peakRss,
      serverCpu: cpuMs / r.elapsedMs,
      clientCpu: r.cpuMs / r.elapsedMs,
      elu: elu.utilization,
      mainUsPerSpan: stored ? (elu.active * 1000) / stored : 0,
      cpuUsPerSpan: stored ? (cpuMs * 1000) / stored : 0,
      timing: timing.snapshot(),
      elapsedMs: r.elapsedMs,
      problems,
    };
    progress(
      `${name}: ${fmt(out.rate)} spans/s (${fmt(stored)} stored of ${fmt(r.spansSent)} sent in ${fmt(r.elapsedMs / 1000, 1)} s), ` +
        `p50 ${fmt(r.latencyMs.p50, 1)} ms, p99 ${fmt(r.latencyMs.p99, 1)} ms, peak RSS ${mib(peakRss)} MiB, CPU ${fmt(out.cpuUsPerSpan)} µs/span` +
        (problems.length ? `  !! ${problems.join('; ')}` : ''),
    );
    if (process.env.BENCH_DEBUG) progress(JSON.stringify(out.timing));
    return out;
  } finally {
    await bench.close();
  }
}
