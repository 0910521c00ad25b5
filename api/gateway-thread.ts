import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { GatewayChild } from './gateway-child.ts';

/**
 * A gateway worker thread's young generation, in MiB: semi-spaces under 1 MiB. Every request allocates ~8 KiB (node:http's own
 * objects ~7 KiB), so the worker scavenges often whatever the size, and almost nothing survives a scavenge (~5 KiB:
 * the requests in flight and the idle connections' keep-alive timers). What the size sets is how each scavenge
 * runs: V8 splits it over one task per MiB of semi-space (plus one), run on the process's shared GC threads, and the
 * worker waits for all of them. On a busy machine one of those threads may wait for a core (the load, the engine,
 * ingest), and every request in flight waits with it. Under 1 MiB the scavenge is one task on the worker's own
 * thread. Measured at 5,000 req/s (bench/lib/gateway-probe.ts, 3 runs each, quiet): 6 MiB (2 MiB semi-spaces, three
 * tasks) paused 0.42–0.53 ms on average with p99 2.6–7.2 ms; 2 MiB paused 0.27–0.44 ms with p99 1.35–7.8 ms, twice as
 * often. On a loaded machine (load 5) the difference was larger: mean pause 2.3–2.6 ms, longest 134–179 ms, against
 * 0.7–1.3 ms and 19–25 ms. Larger young generations (24–64 MiB) made each pause longer still.
 */
const YOUNG_GENERATION_MB = 2;

/** The process's `--max-semi-space-size`, which V8 applies to every isolate, over a worker's own `resourceLimits`. */
function semiSpaceFlag(): string | undefined {
  for (const a of [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]) {
    const m = /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}

/** A worker with its young generation capped: the process-wide flag (`npm start` sets one for ingest) is lifted while its heap is set up. */
function newWorker(code: string): Worker {
  const semi = semiSpaceFlag();
  if (semi === undefined) return new Worker(code, { eval: true, name: 'tollkeeper-gateway', resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
  // 0 = unset: the new isolate takes its resourceLimits. Its heap is configured before it comes online.
  setFlagsFromString('--max-semi-space-size=0');
  let worker: Worker;
  try {
    worker = new Worker(code, { eval: true, name: 'tollkeeper-gateway', resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
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

/** Starts the worker's code in a worker thread of this process (`gateway.listener: thread`). */
export function newGatewayThread(code: string): GatewayChild {
  const worker = newWorker(code);
  let exited = false;
  worker.once('exit', () => (exited = true));
  return {
    send: (m) => worker.postMessage(m),
    onMessage: (f) => void worker.on('message', f),
    onExit: (f) => void worker.once('exit', f),
    onError: (f) => void worker.on('error', f),
    kill: async () => {
      if (!exited) await worker.terminate();
    },
  };
}
