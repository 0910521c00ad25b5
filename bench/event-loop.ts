// Event-loop responsiveness while ClickHouse works: a heavy query through the store, and sustained ingest.
// Run alone: `npx tsx bench/event-loop.ts`.
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { startBenchApp } from './lib/app.ts';
import { startCpuProfile } from './lib/cpu-profile.ts';
import { progress, runBench } from './lib/harness.ts';
import { LoadClient } from './lib/load.ts';
import { fmt } from './lib/stats.ts';

const HEAVY_ROWS = 3_000_000_000;
const PROBE_MS = 10;

await runBench(async ({ tmpDir, scale }) => {
  const bench = await startBenchApp(join(tmpDir, 'data'), 'bench_event_loop');
  const probe = new LoadClient('healthz prober');
  const load = new LoadClient('load client');
  const rows: string[][] = [];
  const heavyRows = Math.round(HEAVY_ROWS * Math.min(1, scale * 2));
  const heavySql = `SELECT sum(cityHash64(number)) AS s FROM numbers(${heavyRows})`;
  let queryMs = 0;
  try {
    await load.prepare('protobuf', 1000);
    const eld = monitorEventLoopDelay({ resolution: 1 });
    eld.enable();
    async function phase(name: string, work: () => Promise<string>): Promise<void> {
      await probe.startProbe(bench.apiUrl, PROBE_MS);
      eld.reset();
      const stopProfile = await startCpuProfile(`event-loop ${name}`);
      const t0 = performance.now();
      const what = await work();
      const seconds = (performance.now() - t0) / 1000;
      const profile = await stopProfile();
      if (profile) progress(`CPU profile: ${profile}`);
      const p = await probe.stopProbe();
      const ms = (ns: number) => fmt(ns / 1e6, 1);
      rows.push([
        name,
        fmt(seconds, 1),
        ms(eld.percentile(50)),
        ms(eld.percentile(99)),
        ms(eld.max),
        `${p.ok}/${p.probes}`,
        fmt(p.latencyMs.p50, 1),
        fmt(p.latencyMs.p99, 1),
        fmt(p.latencyMs.max, 1),
        what,
      ]);
      progress(`${name}: event-loop delay p99 ${ms(eld.percentile(99))} ms, max ${ms(eld.max)} ms; healthz ${p.ok}/${p.probes} ok, p99 ${fmt(p.latencyMs.p99, 1)} ms, max ${fmt(p.latencyMs.max, 1)} ms; ${what}`);
    }
    await phase('idle', async () => {
      await new Promise((r) => setTimeout(r, 3_000 * scale));
      return '';
    });
    await phase('heavy query', async () => {
      const t0 = performance.now();
      await bench.app.store.query(heavySql, undefined, { tag: 'bench.heavy' });
      queryMs = performance.now() - t0;
      return `query took ${fmt(queryMs)} ms`;
    });
    await phase('sustained ingest', async () => {
      const r = await load.load({ url: bench.otlpUrl, format: 'protobuf', spans: 1000, concurrency: 4, spanBudget: null, maxMs: 15_000 * scale });
      return `${fmt(r.spansOk / (r.elapsedMs / 1000))} spans/s stored (protobuf, 1000 spans × 4 in flight)`;
    });
    eld.disable();
  } finally {
    probe.close();
    load.close();
    await bench.close();
  }
  return {
    title: 'Event-loop responsiveness while ClickHouse works',
    method: [
      'The real app as `npm start` runs it (every role, detector loop ticking every 2 s). `perf_hooks.monitorEventLoopDelay` (1 ms resolution) in the app process, reset per phase.',
      `A separate process sends GET /healthz to the API port every ${PROBE_MS} ms over real HTTP (never two at once) and times each answer.`,
      `heavy query: \`${heavySql}\` through the store port (\`store.query\`, i.e. @clickhouse/client over chdb), ${fmt(queryMs)} ms here. sustained ingest: a load-generator process posts 1000-span protobuf requests, 4 in flight.`,
    ],
    tables: [{ columns: ['phase', 'seconds', 'loop delay p50 ms', 'p99 ms', 'max ms', 'healthz ok', 'healthz p50 ms', 'p99 ms', 'max ms', ''], rows }],
  };
});
