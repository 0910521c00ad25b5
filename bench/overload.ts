// Memory and behaviour under overload: far more than the sustainable ingest rate, while a
// separate process checks GET /healthz. Run alone: `npx tsx bench/overload.ts`.
import { join } from 'node:path';
import { sampleMemory, startBenchApp } from './lib/app.ts';
import { progress, runBench } from './lib/harness.ts';
import { LoadClient } from './lib/load.ts';
import type { ProbeResult } from './lib/load-client.ts';
import { fmt, mib } from './lib/stats.ts';
import type { ClickHouse } from '../store/port.ts';

const PHASES = [
  { concurrency: 64, seconds: 15 },
  { concurrency: 256, seconds: 8 },
  { concurrency: 1024, seconds: 8 },
];
const SPANS = 1000;

/**
 * Peak of the memory the embedded engine counts as its own (its MemoryTracking metric: query, insert and merge
 * buffers, caches), asked every `everyMs`. Tells the engine's part of "native" apart from code and stacks.
 */
function sampleEngineMemory(store: ClickHouse, everyMs = 250): () => Promise<number> {
  let peak = 0;
  let stopped = false;
  const ask = async () => {
    const [r] = await store.query<{ v: number }>(`SELECT value AS v FROM system.metrics WHERE metric = 'MemoryTracking'`);
    peak = Math.max(peak, Number(r?.v ?? 0));
  };
  const loop = (async () => {
    while (!stopped) {
      await ask().catch(() => undefined);
      await new Promise((res) => setTimeout(res, everyMs));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return peak;
  };
}

/** The memory limiter's setting, stated with the figures it shaped. */
function limiterText(c: { memory_limit_mib: number; memory_spike_mib: number }): string {
  if (c.memory_limit_mib === 0) return 'Memory limiter off (`ingest.memory_limit_mib: 0`).';
  return `Memory limiter on (\`ingest.memory_limit_mib: ${c.memory_limit_mib}\`, \`memory_spike_mib: ${c.memory_spike_mib}\`): new requests get 429 with Retry-After from ${c.memory_limit_mib - c.memory_spike_mib} MiB resident on ("of which for memory"); RSS after = resident memory once the writer has drained and 2 s have passed.`;
}

await runBench(async ({ tmpDir, scale }) => {
  const bench = await startBenchApp(join(tmpDir, 'data'), 'bench_overload', { memoryLimiter: true });
  const load = new LoadClient('load client');
  const probe = new LoadClient('healthz prober');
  const rows: string[][] = [];
  const problems: string[] = [];
  let acked = 0;
  try {
    await load.prepare('protobuf', SPANS);
    const rssIdle = process.memoryUsage.rss();
    for (const phase of PHASES) {
      const name = `${phase.concurrency} × ${SPANS} spans`;
      progress(`${name}: ${fmt(phase.seconds * scale)} s of protobuf requests, healthz every 50 ms`);
      await probe.startProbe(bench.otlpUrl, 50);
      const stopRss = sampleMemory(25);
      const stopEngine = sampleEngineMemory(bench.app.store);
      // The writer's queue in bytes, sampled like RSS: the part of memory the collector bounds itself.
      let writerMax = 0;
      const writerTimer = setInterval(() => (writerMax = Math.max(writerMax, bench.app.writer?.stats().queuedBytes ?? 0)), 25);
      const refusedBefore = bench.app.memoryLimiter?.refused ?? 0;
      const r = await load.load({ url: bench.otlpUrl, format: 'protobuf', spans: SPANS, concurrency: phase.concurrency, spanBudget: null, maxMs: phase.seconds * 1000 * scale });
      const during = await probe.stopProbe();
      const peak = stopRss();
      const enginePeak = await stopEngine();
      const peakDuring = peak.rss;
      clearInterval(writerTimer);
      const writerPeak = writerMax;
      acked += r.spansOk;
      // "After": the writer drains what it accepted; healthz must still answer.
      const drained = Date.now();
      while ((bench.app.writer?.stats().queued ?? 0) > 0 && Date.now() - drained < 30_000) await new Promise((res) => setTimeout(res, 100));
      await probe.startProbe(bench.otlpUrl, 50);
      await new Promise((res) => setTimeout(res, 2_000));
      const after = await probe.stopProbe();
      // Where memory settles with nothing in flight: the limiter accepts again only below its soft limit.
      const rssAfter = process.memoryUsage.rss();
      const refusedForMemory = (bench.app.memoryLimiter?.refused ?? 0) - refusedBefore;
      const s = r.statuses;
      const others = Object.entries(s).filter(([k]) => !['200', '429', '503'].includes(k));
      const hz = (p: ProbeResult) => `${p.ok}/${p.probes} ok, p50 ${fmt(p.latencyMs.p50, 1)} / p99 ${fmt(p.latencyMs.p99, 1)} / max ${fmt(p.latencyMs.max)} ms`;
      rows.push([
        name,
        fmt(r.elapsedMs / 1000, 1),
        fmt(r.spansSent / (r.elapsedMs / 1000)),
        fmt(r.spansOk / (r.elapsedMs / 1000)),
        r.spansOk > 0 ? `${fmt(r.spansSent / r.spansOk, 1)}×` : '–',
        fmt(s['200'] ?? 0),
        fmt(s['429'] ?? 0),
        fmt(s['503'] ?? 0),
        fmt(r.withRetryAfter),
        fmt(refusedForMemory),
        others.length || r.errors ? `${others.map(([k, v]) => `${v}× ${k}`).join(', ')}${r.errors ? ` ${r.errors} errors` : ''}` : '0',
        `${fmt(r.latencyMs.p50)} / ${fmt(r.latencyMs.p99)}`,
        mib(peakDuring),
        mib(rssAfter),
        `${mib(peak.heapTotal)} (young ${mib(peak.young)}) / ${mib(peak.external)} / ${mib(peak.native)}`,
        mib(enginePeak),
        mib(writerPeak),
        hz(during),
        hz(after),
      ]);
      if (peakDuring >= 1024 * 1024 * 1024) problems.push(`overload ${name}: peak RSS ${mib(peakDuring)} MiB, over the 1 GiB bound`);
      progress(`${name}: ${JSON.stringify(s)}, ${r.withRetryAfter} with Retry-After, ${r.errors} errors; peak RSS ${mib(peakDuring)} MiB (heap ${mib(peak.heapTotal)} of which young ${mib(peak.young)}, external ${mib(peak.external)}, native ${mib(peak.native)}; engine-tracked peak ${mib(enginePeak)} MiB; writer queue peak ${mib(writerPeak)} MiB); healthz during ${hz(during)}; after ${hz(after)}`);
      const refusedWithoutRetryAfter = (s['429'] ?? 0) + (s['503'] ?? 0) - r.withRetryAfter;
      if (refusedWithoutRetryAfter > 0) problems.push(`overload ${name}: ${refusedWithoutRetryAfter} 429/503 answers without Retry-After`);
      if (others.length || r.errors) problems.push(`overload ${name}: unexpected answers ${JSON.stringify(Object.fromEntries(others))}, ${r.errors} errors (${r.firstError})`);
      if (after.ok === 0 || after.failed > 0) problems.push(`overload ${name}: healthz did not answer after the load (${after.firstError})`);
    }
    const stored = await bench.countEvents();
    if (stored.rows !== acked) problems.push(`overload: ${fmt(acked)} spans acknowledged with 200 but ${fmt(stored.rows)} rows stored`);
    progress(`stored ${fmt(stored.rows)} rows, acknowledged ${fmt(acked)}; RSS idle ${mib(rssIdle)} MiB, max RSS of the process ${mib(process.resourceUsage().maxRSS * 1024)} MiB`);
    return {
      title: 'Overload: memory and answers far above the sustainable rate',
      method: [
        `The real app as \`npm start\` runs it (every role, detector loop on); one load-generator process sends ${SPANS}-span protobuf requests as fast as answers come back, with ${PHASES.map((p) => p.concurrency).join(' then ')} requests in flight (no backoff: Retry-After is counted, not obeyed).`,
        'A second process sends GET /healthz to the OTLP port every 50 ms (one at a time) during each phase and for 2 s after the writer has drained.',
        'offered = spans sent ÷ phase time; accepted = spans answered 200. Peak RSS sampled every 25 ms in the app process (RSS when idle: ' + mib(rssIdle) + ' MiB), with `process.memoryUsage()` at that sample: JS heap (heapTotal; young gen = its new spaces, sized by `--max-semi-space-size`), external (buffers), native = RSS − both (embedded ClickHouse, code, stacks). Engine-tracked: the peak of the embedded engine\'s own MemoryTracking metric (its allocations: inserts, merges, caches), asked every 250 ms. Bound: 1 GiB.',
        limiterText(bench.app.config.ingest),
        `Afterwards the table holds ${fmt(stored.rows)} rows for ${fmt(acked)} spans acknowledged (must be equal: no acknowledged span lost, none stored twice).`,
      ],
      tables: [
        {
          columns: ['in flight', 'seconds', 'offered spans/s', 'accepted spans/s', 'offered ÷ accepted', '200', '429', '503', 'with Retry-After', 'of which for memory', 'other', 'latency p50 / p99 ms', 'peak RSS MiB', 'RSS after MiB', 'at the peak: JS heap (young gen) / external / native MiB', 'engine-tracked peak MiB', 'writer queue peak MiB', 'healthz during', 'healthz after'],
          rows,
        },
      ],
      notes: ['The process stayed up through every phase (it answered /healthz afterwards and the run ended normally).'],
      problems,
    };
  } finally {
    load.close();
    probe.close();
    await bench.close();
  }
});
