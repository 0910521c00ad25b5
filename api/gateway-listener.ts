import type { IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import type { Logger } from 'pino';
import type { FailMode } from '../core/enforcement/decide.ts';
import type { FeedMessage } from '../detector/gateway-mirror.ts';
import type { Tokens } from './auth.ts';
import { JSON_TYPE, type AuthorizeAnswer, type GatewayHeaders } from './authorize-answer.ts';
import type { GatewayHttpLimits } from './gateway-http.ts';

/** What the worker starts with (structured-clone safe). */
export interface GatewayWorkerData {
  host: string;
  port: number;
  tokens: Tokens;
  headers: GatewayHeaders;
  nginxMode: boolean;
  hashKey: string;
  maxStalenessMs: number;
  failMode: FailMode;
  limits: GatewayHttpLimits;
  /** Int32Array over it: [0] = long-polls waiting. */
  stats: SharedArrayBuffer;
}

/** What the worker tells (or asks) the main thread. */
export type WorkerReport =
  | { t: 'listening'; port: number; tid?: number | undefined }
  | { t: 'failed'; message: string; code?: string | undefined }
  | { t: 'error'; message: string }
  | { t: 'authorize'; id: number; headers: IncomingHttpHeaders }
  | { t: 'stopped' };

/** What the main thread tells the worker besides the feed. */
export type WorkerCommand = { t: 'answer'; id: number; answer: AuthorizeAnswer } | { t: 'stop' };

export interface GatewayListenerOptions extends Omit<GatewayWorkerData, 'stats'> {
  /** Subscribes the worker to the detector's gateway feed; returns the unsubscribing function. */
  subscribe: (send: (m: FeedMessage) => void) => () => void;
  /** The API port's forward-auth answer, for the requests the worker cannot decide alone (admission estimates). */
  authorize: (headers: IncomingHttpHeaders) => AuthorizeAnswer;
  logger: Logger;
}

export interface GatewayListener {
  url: string;
  port: number;
  /** Long-polls parked on the gateway listener right now. */
  readonly waiting: number;
  /** The worker's thread id in the OS (Linux), for reading its CPU time; undefined elsewhere. */
  osThreadId: number | undefined;
  /** The worker's event-loop utilization, like `performance.eventLoopUtilization()` (pass an earlier value for a delta). */
  eventLoopUtilization: Worker['performance']['eventLoopUtilization'];
  close(): Promise<void>;
}

// The worker's code: its module graph bundled by esbuild once per process, in memory (like the web UI's script),
// so a worker starts in milliseconds without a TypeScript loader of its own.
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
 * The gateway listener: `/v1/authorize` and `/v1/revocations` served by a worker thread (api/gateway-worker.ts) on
 * their own port, off the main event loop that ingest, the detector and the API share. Resolves once it listens;
 * rejects with the reason when it cannot (e.g. the port is taken).
 */
export async function startGatewayListener(o: GatewayListenerOptions): Promise<GatewayListener> {
  const { subscribe, authorize, logger, ...data } = o;
  const stats = new SharedArrayBuffer(4);
  const waiting = new Int32Array(stats);
  const worker = new Worker(await workerCode(), { eval: true, workerData: { ...data, stats } satisfies GatewayWorkerData, name: 'tollkeeper-gateway' });
  let stopped: (() => void) | undefined;
  let unsubscribe = (): void => undefined;
  let osThreadId: number | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (message: string, code?: string) => {
      unsubscribe();
      void worker.terminate();
      // With the errno's code, so the CLI says which port to change (EADDRINUSE).
      reject(Object.assign(new Error(`gateway listener: cannot listen on ${o.host}:${o.port}: ${message}`), code ? { code } : {}));
    };
    worker.on('message', (m: WorkerReport) => {
      if (m.t === 'listening') {
        osThreadId = m.tid;
        resolve(m.port);
      }
      else if (m.t === 'failed') fail(m.message, m.code);
      else if (m.t === 'error') logger.error({ err: m.message }, 'unexpected error while answering a gateway request');
      else if (m.t === 'authorize') {
        let answer: AuthorizeAnswer;
        try {
          answer = authorize(m.headers);
        } catch (err) {
          logger.error({ err }, 'unexpected error while answering a gateway request');
          answer = { status: 500, headers: { 'content-type': JSON_TYPE }, body: '{"error":"internal","message":"internal error; see the server log"}' };
        }
        worker.postMessage({ t: 'answer', id: m.id, answer } satisfies WorkerCommand);
      }
      else stopped?.();
    });
    worker.on('error', (err) => {
      logger.error({ err }, 'gateway worker failed');
      fail(err.message);
    });
    // Feed messages queue in the worker until its server runs, so none is missed.
    unsubscribe = subscribe((m) => worker.postMessage(m));
  });
  const host = o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return {
    url: `http://${host}:${port}`,
    port,
    get waiting() {
      return Atomics.load(waiting, 0);
    },
    osThreadId,
    eventLoopUtilization: (...a) => worker.performance.eventLoopUtilization(...a),
    async close() {
      unsubscribe();
      const done = new Promise<void>((resolve) => (stopped = resolve));
      worker.postMessage({ t: 'stop' } satisfies WorkerCommand);
      await Promise.race([done, new Promise((r) => setTimeout(r, 5_000).unref())]);
      await worker.terminate();
    },
  };
}
