import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import type { GatewayWorkerData, WorkerReport } from './gateway-messages.ts';

// The worker's code: its module graph bundled by esbuild once per process, in memory (like the web UI's script),
// so a worker starts (and restarts) in milliseconds without a TypeScript loader of its own.
let bundled: Promise<string> | undefined;
function workerCode(): Promise<string> {
  bundled ??= build({
    entryPoints: [fileURLToPath(new URL('./gateway-worker.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    // A function around it: the worker runs it as a script, whose top-level names would otherwise be globals
    // (a bundled `Function` would replace the global one).
    format: 'iife',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0]!.text);
  return bundled;
}

/**
 * The worker's young generation, in MiB (two 2 MiB semi-spaces). Every request allocates ~8 KiB (node:http's own
 * objects ~7 KiB), so the worker scavenges often whatever the size; what the size sets is how long each scavenge
 * pauses every request in flight. Almost nothing survives a scavenge here (~4 KiB: the requests in flight and the
 * idle connections' keep-alive timers), yet the pause still grows with the size collected (V8 splits a larger young
 * generation over more parallel tasks, which wait for cores the load also wants). Measured at 5,000 req/s: with a
 * 32 MiB semi-space a scavenge every ~560 ms paused ~5 ms (p50), so about 1 % of requests waited milliseconds, which
 * is the p99; with this one, one every ~40 ms pausing a few tenths of a millisecond. Raising it to 24 or 64 MiB
 * (loaded machine, bench/lib/gateway-probe.ts) made the median pause 0.4 → 0.7 → 1.6 ms: fewer, longer pauses.
 */
const YOUNG_GENERATION_MB = 6;

/** The process's `--max-semi-space-size`, which V8 applies to every isolate, over a worker's own `resourceLimits`. */
function semiSpaceFlag(): string | undefined {
  for (const a of [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]) {
    const m = /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}

/** A worker with its young generation capped: the process-wide flag (`npm start` sets one for ingest) is lifted while its heap is set up. */
function newWorker(code: string, data: GatewayWorkerData): Worker {
  const semi = semiSpaceFlag();
  if (semi === undefined) return new Worker(code, { eval: true, workerData: data, name: 'tollkeeper-gateway', resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
  // 0 = unset: the new isolate takes its resourceLimits. Its heap is configured before it comes online.
  setFlagsFromString('--max-semi-space-size=0');
  let worker: Worker;
  try {
    worker = new Worker(code, { eval: true, workerData: data, name: 'tollkeeper-gateway', resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
  } catch (err) {
    setFlagsFromString(`--max-semi-space-size=${semi}`);
    throw err;
  }
  let restored = false;
  const restore = () => {
    if (!restored) setFlagsFromString(`--max-semi-space-size=${semi}`);
    restored = true;
  };
  worker.once('online', restore);
  worker.once('error', restore);
  worker.once('exit', restore);
  return worker;
}

export interface WorkerThread {
  worker: Worker;
  port: number;
  /** The worker's thread id in the OS (Linux), for reading its CPU time. */
  tid: number | undefined;
}

/**
 * Starts one gateway worker and resolves once its server listens; rejects (and ends the worker) when it cannot.
 * `onReport` gets every message after that; `beforeListening` runs once the worker exists (to feed it: messages
 * queue in the worker until its server runs, so none is missed).
 */
export async function spawnGatewayWorker(
  data: GatewayWorkerData,
  onReport: (m: WorkerReport, worker: Worker) => void,
  beforeListening: (worker: Worker) => void,
): Promise<WorkerThread> {
  const worker = newWorker(await workerCode(), data);
  return new Promise<WorkerThread>((resolve, reject) => {
    let listening = false;
    const fail = (message: string, code?: string) => {
      void worker.terminate();
      // With the errno's code, so the CLI says which port to change (EADDRINUSE).
      reject(Object.assign(new Error(`gateway listener: cannot listen on ${data.host}:${data.port}: ${message}`), code ? { code } : {}));
    };
    worker.on('message', (m: WorkerReport) => {
      if (listening) return onReport(m, worker);
      if (m.t === 'listening') {
        listening = true;
        resolve({ worker, port: m.port, tid: m.tid });
      } else if (m.t === 'failed') fail(m.message, m.code);
      else onReport(m, worker);
    });
    worker.once('error', (err) => {
      if (!listening) fail(err.message);
    });
    worker.once('exit', (code) => {
      if (!listening) fail(`the worker exited (code ${code}) before listening`);
    });
    beforeListening(worker);
  });
}
