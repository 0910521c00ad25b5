import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { FeedMessage } from '../detector/gateway-mirror.ts';
import { JSON_TYPE, type AuthorizeAnswer, type AuthorizeAnswerer } from './authorize-answer.ts';
import type { GatewayWorkerData, WorkerCommand, WorkerCounts, WorkerReport } from './gateway-messages.ts';
import { spawnGatewayWorker, type WorkerThread } from './gateway-thread.ts';

export interface GatewayListenerOptions extends Omit<GatewayWorkerData, 'stats'> {
  /** Subscribes the worker to the detector's gateway feed; returns the unsubscribing function. */
  subscribe: (send: (m: FeedMessage) => void) => () => void;
  /** The API port's forward-auth answer, for the requests the worker cannot decide alone (admission estimates). */
  authorize: AuthorizeAnswerer;
  /** The worker's answer counts, as they arrive (for /metrics). */
  onCounts?: ((c: WorkerCounts) => void) | undefined;
  /** A worker that ended unexpectedly is being replaced (for /metrics). */
  onRestart?: (() => void) | undefined;
  /** Told each worker's OS thread id once it listens, the first and every replacement (thread priorities). */
  onWorkerListening?: ((tid: number | undefined) => void) | undefined;
  logger: Logger;
}

export interface GatewayListener {
  url: string;
  port: number;
  /** Long-polls parked on the gateway listener right now. */
  readonly waiting: number;
  /**
   * The worker's young-generation collections (scavenges) so far and their total pause, in ms (benchmarks read the
   * difference over a run: how often the collector stopped the worker's requests, and for how long).
   */
  readonly scavenges: { count: number; pauseMs: number };
  /** The worker's thread id in the OS (Linux), for reading its CPU time; undefined elsewhere. */
  readonly osThreadId: number | undefined;
  /** The worker's event-loop utilization, like `performance.eventLoopUtilization()` (pass an earlier value for a delta). */
  eventLoopUtilization: Worker['performance']['eventLoopUtilization'];
  /** Workers started to replace one that ended unexpectedly. */
  readonly restarts: number;
  /** Ends the worker thread as a crash would (fault drills and tests): the listener replaces it. */
  killWorker(): Promise<void>;
  close(): Promise<void>;
}

/** Backoff between restarts: doubling from the first to the last, back to the first once a worker lived a minute. */
const RESTART_BACKOFF_MS = [100, 10_000] as const;
const STABLE_MS = 60_000;

/**
 * The gateway listener: `/v1/authorize` and `/v1/revocations` served by a worker thread (api/gateway-worker.ts) on
 * their own port, off the main event loop that ingest, the detector and the API share. Resolves once it listens;
 * rejects with the reason when it cannot (e.g. the port is taken). A worker that ends unexpectedly afterwards
 * (an uncaught error, out of memory) is logged, counted and replaced on the same port with a fresh copy of the
 * state, after a backoff; gateways meanwhile get connection refusals, which their fail mode handles.
 */
export async function startGatewayListener(o: GatewayListenerOptions): Promise<GatewayListener> {
  const { subscribe, authorize, onCounts, onRestart, onWorkerListening, logger, ...data } = o;
  // Long-polls parked in the worker, readable here without a round trip; shared by every worker in turn.
  // [0] long-polls waiting, [1] scavenges, [2] their total pause in µs (wrapping after ~35 min of pauses).
  const stats = new SharedArrayBuffer(12);
  const waiting = new Int32Array(stats);
  let current: WorkerThread | undefined;
  /** The current worker is running (false between a crash and its replacement). */
  let live = false;
  let unsubscribe = (): void => undefined;
  let stopped: (() => void) | undefined;
  let closing = false;
  let restarts = 0;
  let backoffMs: number = RESTART_BACKOFF_MS[0];
  let restartTimer: NodeJS.Timeout | undefined;

  const onReport = (m: WorkerReport, worker: Worker) => {
    if (m.t === 'error') logger.error({ err: m.message }, 'unexpected error while answering a gateway request');
    else if (m.t === 'counts') onCounts?.(m);
    else if (m.t === 'authorize') {
      let answer: AuthorizeAnswer;
      try {
        answer = authorize(m.headers, m.raw);
      } catch (err) {
        logger.error({ err }, 'unexpected error while answering a gateway request');
        answer = { status: 500, headers: { 'content-type': JSON_TYPE }, body: '{"error":"internal","message":"internal error; see the server log"}' };
      }
      worker.postMessage({ t: 'answer', id: m.id, answer } satisfies WorkerCommand);
    } else if (m.t === 'stopped') stopped?.();
  };

  async function start(port: number): Promise<WorkerThread> {
    const w = await spawnGatewayWorker({ ...data, port, stats }, onReport, (worker) => {
      unsubscribe();
      unsubscribe = subscribe((m) => worker.postMessage(m));
    }).catch((err: unknown) => {
      unsubscribe();
      throw err;
    });
    const startedAt = Date.now();
    w.worker.on('error', (err) => logger.error({ err }, 'gateway worker failed'));
    w.worker.once('exit', (code) => {
      if (closing || current !== w) return;
      live = false;
      // Its long-polls went with it.
      Atomics.store(waiting, 0, 0);
      unsubscribe();
      if (Date.now() - startedAt >= STABLE_MS) backoffMs = RESTART_BACKOFF_MS[0];
      restarts++;
      onRestart?.();
      logger.error({ code, restartInMs: backoffMs, restarts }, 'gateway worker ended unexpectedly; restarting it');
      restartLater(w.port);
    });
    return w;
  }

  function restartLater(port: number): void {
    const wait = backoffMs;
    backoffMs = Math.min(RESTART_BACKOFF_MS[1], backoffMs * 2);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (closing) return;
      start(port).then(
        (w) => {
          if (closing) return void w.worker.terminate();
          current = w;
          live = true;
          logger.warn({ port: w.port, restarts }, 'gateway worker restarted');
          onWorkerListening?.(w.tid);
        },
        (err: unknown) => {
          logger.error({ err, restartInMs: backoffMs }, 'gateway worker could not be restarted; trying again');
          restartLater(port);
        },
      );
    }, wait);
    restartTimer.unref();
  }

  current = await start(o.port);
  live = true;
  onWorkerListening?.(current.tid);
  const host = o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  const port = current.port;
  return {
    url: `http://${host}:${port}`,
    port,
    get waiting() {
      return Atomics.load(waiting, 0);
    },
    get scavenges() {
      return { count: Atomics.load(waiting, 1), pauseMs: Atomics.load(waiting, 2) / 1000 };
    },
    get osThreadId() {
      return current?.tid;
    },
    eventLoopUtilization: (...a) => current!.worker.performance.eventLoopUtilization(...a),
    get restarts() {
      return restarts;
    },
    async killWorker() {
      await current?.worker.terminate();
    },
    async close() {
      closing = true;
      clearTimeout(restartTimer);
      unsubscribe();
      const w = current;
      if (!w || !live) return;
      const done = new Promise<void>((resolve) => (stopped = resolve));
      w.worker.postMessage({ t: 'stop' } satisfies WorkerCommand);
      await Promise.race([done, new Promise((r) => setTimeout(r, 5_000).unref())]);
      await w.worker.terminate();
    },
  };
}

