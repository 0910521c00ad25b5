import { fileURLToPath } from 'node:url';
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
  const worker = new Worker(await workerCode(), {
    eval: true,
    workerData: data,
    name: 'tollkeeper-gateway',
  });
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
