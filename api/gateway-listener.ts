import type { Logger } from 'pino';
import type { FeedMessage } from '../detector/gateway-mirror.ts';
import { JSON_TYPE, type AuthorizeAnswer, type AuthorizeAnswerer } from './authorize-answer.ts';
import type { GatewayChild, GatewayIsolation } from './gateway-child.ts';
import type { GatewayWorkerData, WorkerCounts, WorkerReport, WorkerStats } from './gateway-messages.ts';
import { spawnGatewayWorker, type RunningWorker } from './gateway-spawn.ts';

export interface GatewayListenerOptions extends GatewayWorkerData {
  /** A process of its own (the default) or a thread of this one. */
  isolation: GatewayIsolation;
  /** Subscribes the worker to the detector's gateway feed; returns the unsubscribing function. */
  subscribe: (send: (m: FeedMessage) => void) => () => void;
  /** The API port's forward-auth answer, for the requests the worker cannot decide alone (admission estimates). */
  authorize: AuthorizeAnswerer;
  /** The worker's answer counts, as they arrive (for /metrics). */
  onCounts?: ((c: WorkerCounts) => void) | undefined;
  /** A worker that ended unexpectedly is being replaced (for /metrics). */
  onRestart?: (() => void) | undefined;
  /** Told each worker's OS process and serving thread once it listens, the first and every replacement (priorities). */
  onWorkerListening?: ((w: { pid: number; tid: number | undefined }) => void) | undefined;
  logger: Logger;
}

export interface GatewayListener {
  url: string;
  port: number;
  /** Long-polls parked on the gateway listener right now. */
  readonly waiting: number;
  /**
   * The worker's counters so far: its young-generation collections (scavenges) and their total pause, and its event
   * loop's idle and active time (benchmarks read the difference over a run). Rejects when no worker runs.
   */
  stats(): Promise<WorkerStats>;
  /** The OS process the worker runs in (this one's when it is a thread). */
  readonly pid: number | undefined;
  /** The OS id of the worker's serving thread (Linux), for its CPU time and priority; undefined elsewhere. */
  readonly osThreadId: number | undefined;
  /** Workers started to replace one that ended unexpectedly. */
  readonly restarts: number;
  /** Ends the worker thread as a crash would (fault drills and tests): the listener replaces it. */
  killWorker(): Promise<void>;
  close(): Promise<void>;
}

/** Backoff between restarts: doubling from the first to the last, back to the first once a worker lived a minute. */
const RESTART_BACKOFF_MS = [100, 10_000] as const;
const STABLE_MS = 60_000;
/** How long a stopping worker may take to answer its parked long polls and close. */
const STOP_WITHIN_MS = 5_000;

/**
 * The gateway listener: `/v1/authorize` and `/v1/revocations` served by a worker (api/gateway-worker.ts: a process
 * of its own, or a thread) on their own port, off the main event loop that ingest, the detector and the API share. Resolves once it listens;
 * rejects with the reason when it cannot (e.g. the port is taken). A worker that ends unexpectedly afterwards
 * (an uncaught error, out of memory) is logged, counted and replaced on the same port with a fresh copy of the
 * state, after a backoff; gateways meanwhile get connection refusals, which their fail mode handles.
 */
export async function startGatewayListener(o: GatewayListenerOptions): Promise<GatewayListener> {
  const { isolation, subscribe, authorize, onCounts, onRestart, onWorkerListening, logger, ...data } = o;
  // Long-polls parked in the worker, as it last told.
  let waiting = 0;
  // Answers to stats() on their way back, by question id.
  const asked = new Map<number, (s: WorkerStats) => void>();
  let nextAsk = 0;
  let current: RunningWorker | undefined;
  /** The current worker is running (false between a crash and its replacement). */
  let live = false;
  let unsubscribe = (): void => undefined;
  let stopped: (() => void) | undefined;
  let closing = false;
  let restarts = 0;
  let backoffMs: number = RESTART_BACKOFF_MS[0];
  let restartTimer: NodeJS.Timeout | undefined;

  const onReport = (m: WorkerReport, child: GatewayChild) => {
    if (m.t === 'error') logger.error({ err: m.message }, 'unexpected error while answering a gateway request');
    else if (m.t === 'counts') onCounts?.(m);
    else if (m.t === 'waiting') waiting = m.n;
    else if (m.t === 'stats') {
      asked.get(m.id)?.(m);
      asked.delete(m.id);
    }
    else if (m.t === 'authorize') {
      let answer: AuthorizeAnswer;
      try {
        answer = authorize(m.headers, m.raw);
      } catch (err) {
        logger.error({ err }, 'unexpected error while answering a gateway request');
        answer = { status: 500, headers: { 'content-type': JSON_TYPE }, body: '{"error":"internal","message":"internal error; see the server log"}' };
      }
      child.send({ t: 'answer', id: m.id, answer });
    } else if (m.t === 'stopped') stopped?.();
  };

  async function start(port: number): Promise<RunningWorker> {
    const w = await spawnGatewayWorker(isolation, { ...data, port }, onReport, (child) => {
      unsubscribe();
      unsubscribe = subscribe((m) => child.send(m));
    }).catch((err: unknown) => {
      unsubscribe();
      throw err;
    });
    const startedAt = Date.now();
    w.child.onError((err) => logger.error({ err }, 'gateway worker failed'));
    w.child.onExit((code) => {
      if (closing || current !== w) return;
      live = false;
      // Its long-polls went with it.
      waiting = 0;
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
          if (closing) return void w.child.kill();
          current = w;
          live = true;
          logger.warn({ port: w.port, restarts }, 'gateway worker restarted');
          onWorkerListening?.(w);
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
  onWorkerListening?.(current);
  const host = o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  const port = current.port;
  return {
    url: `http://${host}:${port}`,
    port,
    get waiting() {
      return waiting;
    },
    stats() {
      const w = current;
      if (!w || !live) return Promise.reject(new Error('no gateway worker is running'));
      const id = nextAsk++;
      return new Promise<WorkerStats>((resolve, reject) => {
        const timer = setTimeout(() => {
          asked.delete(id);
          reject(new Error('the gateway worker did not answer within 5 s'));
        }, 5_000);
        asked.set(id, (s) => {
          clearTimeout(timer);
          resolve(s);
        });
        w.child.send({ t: 'stats', id });
      });
    },
    get pid() {
      return current?.pid;
    },
    get osThreadId() {
      return current?.tid;
    },
    get restarts() {
      return restarts;
    },
    async killWorker() {
      await current?.child.kill();
    },
    async close() {
      closing = true;
      clearTimeout(restartTimer);
      unsubscribe();
      const w = current;
      if (!w || !live) return;
      // It answers its parked long polls, closes its server and says so; one that ends first (killed, or signalled
      // on its own) or takes too long is said in the log, since gateways saw their connections cut.
      const how = await new Promise<'stopped' | 'ended' | 'slow'>((resolve) => {
        stopped = () => resolve('stopped');
        w.child.onExit(() => resolve('ended'));
        setTimeout(() => resolve('slow'), STOP_WITHIN_MS).unref();
        w.child.send({ t: 'stop' });
      });
      if (how === 'ended') logger.warn('gateway worker ended before it stopped: connections parked on it were cut');
      if (how === 'slow') logger.warn({ withinMs: STOP_WITHIN_MS }, 'gateway worker did not stop in time: ending it');
      await w.child.kill();
    },
  };
}

