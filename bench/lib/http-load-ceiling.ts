// The ceiling for the gateway listener's figures: a bare node:http server in a worker thread of the same process
// that answers every request with a fixed 200 shaped like an allowed /v1/authorize answer (same headers, same
// body), and does nothing else. The same load against it tells what this machine itself allows (load generator +
// HTTP server + the kernel + the scheduler), so the gateway listener's figures can be read against it.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';

// Plain JavaScript, run with `eval`: no loader, no bundle, nothing of tollkeeper's.
const CODE = `
const { createServer } = require('node:http');
const { readlinkSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const { PerformanceObserver, constants } = require('node:perf_hooks');
// Its scavenges (count, total pause in µs), as the gateway worker counts its own.
// (Not named gc: with --expose-gc, as npm start runs, that is a global the script's top level may not redeclare.)
const scavenges = new Int32Array(workerData.stats);
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail && e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) Atomics.add(scavenges, 0, 1), Atomics.add(scavenges, 1, Math.round(e.duration * 1000));
}).observe({ entryTypes: ['gc'] });
const body = Buffer.from('{"decision":"allow","stale":false}');
const head = [
  'content-type', 'application/json; charset=utf-8',
  'x-tollkeeper-remaining-requests', '999999999998',
  'x-tollkeeper-remaining-cost-usd', '999999999.5',
  'content-length', String(body.length),
];
const server = createServer({ requestTimeout: workerData.requestTimeout, headersTimeout: workerData.headersTimeout }, (req, res) => {
  res.writeHead(200, head);
  res.end(body);
});
server.keepAliveTimeout = workerData.keepAliveTimeout;
let tid;
try { tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1)); } catch {}
parentPort.on('message', (m) => { if (m === 'stop') server.close(() => parentPort.postMessage({ t: 'stopped' })), server.closeAllConnections(); });
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ t: 'listening', port: server.address().port, tid }));
`;

export interface CeilingServer {
  port: number;
  /** The worker's OS thread id (Linux), for its CPU time. */
  osThreadId: number | undefined;
  eventLoopUtilization(e?: EventLoopUtilization): EventLoopUtilization;
  /** Its scavenges so far and their total pause (ms). */
  readonly scavenges: { count: number; pauseMs: number };
  close(): Promise<void>;
}

/** Starts the bare server on 127.0.0.1 (a free port) with the gateway listener's keep-alive and request timeouts. */
export async function startCeilingServer(limits = { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 65_000 }): Promise<CeilingServer> {
  const stats = new SharedArrayBuffer(8);
  const gc = new Int32Array(stats);
  const worker = new Worker(CODE, { eval: true, workerData: { ...limits, stats }, name: 'bench-http-ceiling' });
  const { port, tid } = await new Promise<{ port: number; tid: number | undefined }>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { t: string; port: number; tid?: number }) => {
      if (m.t === 'listening') resolve({ port: m.port, tid: Number.isInteger(m.tid) ? m.tid : undefined });
    });
  });
  return {
    port,
    osThreadId: tid,
    get scavenges() {
      return { count: Atomics.load(gc, 0), pauseMs: Atomics.load(gc, 1) / 1000 };
    },
    eventLoopUtilization: (e) => (e ? worker.performance.eventLoopUtilization(e) : worker.performance.eventLoopUtilization()),
    async close() {
      const stopped = new Promise<void>((resolve) => worker.on('message', (m: { t: string }) => m.t === 'stopped' && resolve()));
      worker.postMessage('stop');
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 2_000).unref())]);
      await worker.terminate();
    },
  };
}

/** What the parent asks the ceiling's process (bench/lib/ceiling-process.ts), and what it answers. */
export type CeilingRequest = 'stats' | 'stop';
export type CeilingReply =
  | { t: 'listening'; port: number; tid: number | undefined }
  | { t: 'stats'; idle: number; active: number; scavenges: { count: number; pauseMs: number } }
  | { t: 'stopped' };

/** The ceiling server in its own process (bench/lib/ceiling-process.ts); its counters are read over IPC. */
export interface CeilingProcess {
  port: number;
  pid: number;
  /** The serving worker's OS thread id in that process (Linux). */
  osThreadId: number | undefined;
  /** The worker's event-loop counters (cumulative, like `eventLoopUtilization()`) and its scavenges so far. */
  stats(): Promise<{ idle: number; active: number; scavenges: { count: number; pauseMs: number } }>;
  close(): Promise<void>;
}

/** Forks the ceiling's process and resolves once it listens. Fork it before the app starts (see the process file). */
export async function startCeilingProcess(): Promise<CeilingProcess> {
  const child = fork(fileURLToPath(new URL('./ceiling-process.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T extends CeilingReply['t']>(t: T) =>
    new Promise<Extract<CeilingReply, { t: T }>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`ceiling process exited (${code})`));
      const onMessage = (m: CeilingReply) => {
        if (m.t !== t) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as Extract<CeilingReply, { t: T }>);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const { port, tid } = await next('listening');
  let asking = Promise.resolve();
  return {
    port,
    pid: child.pid ?? 0,
    osThreadId: tid,
    stats() {
      // One question at a time, so each answer goes to its own caller.
      const answer = asking.then(() => {
        const r = next('stats');
        child.send('stats' satisfies CeilingRequest);
        return r;
      });
      asking = answer.then(() => undefined, () => undefined);
      return answer;
    },
    async close() {
      if (child.exitCode !== null) return;
      const stopped = next('stopped').catch(() => undefined);
      child.send('stop' satisfies CeilingRequest);
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 3_000).unref())]);
      if (child.connected) child.disconnect();
    },
  };
}
