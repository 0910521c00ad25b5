import { readlinkSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { constants, performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { decisionOutcome } from '../core/enforcement/decide.ts';
import { createForwardAuth } from '../detector/forward-auth.ts';
import { createGatewayMirror, type FeedMessage } from '../detector/gateway-mirror.ts';
import { secretHasher } from '../core/usage/secret-hash.ts';
import { ESTIMATE_HEADER } from './admission.ts';
import { createAuthorizeAnswerer, type AuthorizeAnswer } from './authorize-answer.ts';
import { createGatewayServer } from './gateway-http.ts';
import type { GatewayWorkerData, WorkerCommand, WorkerReport } from './gateway-messages.ts';
import { createRevocationAnswerer } from './revocations-answer.ts';

/**
 * The gateway worker: a copy of the gateway-facing state, fed by the detector in the main process
 * (detector/gateway-feed.ts), and the gateway listener's HTTP server answering from it. It runs as a process of its
 * own (api/gateway-process.ts) or as a worker thread (api/gateway-thread.ts); the same messages cross either way.
 * Nothing here waits for the main thread, so ingest and detector ticks there add no latency to these answers.
 */
type Incoming = FeedMessage | WorkerCommand;
const channel: { send(m: WorkerReport): void; on(f: (m: Incoming) => void): void } = parentPort
  ? { send: (m) => parentPort!.postMessage(m), on: (f) => parentPort!.on('message', f) }
  : { send: (m) => void process.send?.(m), on: (f) => process.on('message', f as (m: unknown) => void) };
const report = (m: WorkerReport): void => channel.send(m);

if (!parentPort) {
  // A process: it ends with its parent (the IPC channel closes when the parent exits, even by SIGKILL), and an
  // uncaught error is told to the parent's log before it exits, as a thread's 'error' event would be.
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C in a terminal (and a supervisor stopping a whole process group) signals every process of the group: the
  // main process stops this one in order (parked long polls answered first), so the signal itself is not for it.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
  process.on('uncaughtException', (err) => {
    process.send?.({ t: 'error', message: err.stack ?? err.message } satisfies WorkerReport, () => process.exit(1));
    setTimeout(() => process.exit(1), 1_000).unref();
  });
}

// Messages before `init` (the feed starts as soon as the worker exists) wait for it.
const early: Incoming[] = [];
let handle: ((m: Incoming) => void) | undefined;
channel.on((m) => {
  if (handle) handle(m);
  else if (m.t === 'init') start(m.data);
  else early.push(m);
});

function start(d: GatewayWorkerData): void {
  const mirror = createGatewayMirror();

  // Long-polls parked here, told to the main thread once per turn when the number changed (tests and benchmarks wait on it).
  let toldWaiting = 0;
  let telling = false;
  const tellWaiting = () => {
    if (telling) return;
    telling = true;
    setImmediate(() => {
      telling = false;
      if (mirror.waiting !== toldWaiting) report({ t: 'waiting', n: (toldWaiting = mirror.waiting) });
    });
  };
  const waitForChange: typeof mirror.waitForChange = (since, timeoutMs, signal) => {
    const p = mirror.waitForChange(since, timeoutMs, signal);
    tellWaiting();
    return p.finally(tellWaiting);
  };

  // Its scavenges (count, total pause): what its collector costs its requests.
  let scavenges = 0;
  let scavengePauseMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      if (e.detail?.kind !== constants.NODE_PERFORMANCE_GC_MINOR) continue;
      scavenges++;
      scavengePauseMs += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });

  // What it answered, sent to the main thread (for /metrics) about once a second while there is anything to send:
  // one message a second whatever the rate, plain increments per request.
  let counts: { authorize: Record<string, number>; polls: Record<string, number> } | undefined;
  const COUNTS_EVERY_MS = 1_000;
  const flushCounts = () => {
    if (!counts) return;
    report({ t: 'counts', ...counts });
    counts = undefined;
  };
  setInterval(flushCounts, COUNTS_EVERY_MS).unref();

  const decider = createForwardAuth({
    enforcement: mirror,
    remaining: mirror,
    currentAt: mirror.currentAt,
    now: Date.now,
    maxStalenessMs: d.maxStalenessMs,
    failMode: d.failMode,
  });
  const forwardAuth: Pick<typeof decider, 'authorize'> = {
    authorize(entities) {
      const a = decider.authorize(entities);
      const outcome = decisionOutcome(a.decision);
      const c = (counts ??= { authorize: {}, polls: {} }).authorize;
      c[outcome] = (c[outcome] ?? 0) + 1;
      return a;
    },
  };
  const answer = createAuthorizeAnswerer({ forwardAuth, headers: d.headers, nginxMode: d.nginxMode, hashSecret: secretHasher(d.hashKey) });

  // A request with an admission estimate reserves budget in the ledger, which lives in the main process: it is asked
  // there (one message each way) and answered exactly as the API port answers it.
  const relayed = new Map<number, (a: AuthorizeAnswer) => void>();
  let nextId = 0;
  const relay = (headers: IncomingHttpHeaders, raw: string[]): Promise<AuthorizeAnswer> => {
    const id = nextId++;
    return new Promise((resolve) => {
      relayed.set(id, resolve);
      report({ t: 'authorize', id, headers, raw });
    });
  };

  const server = createGatewayServer({
    tokens: d.tokens,
    authorize: (req) => (req.headers[ESTIMATE_HEADER] !== undefined ? relay(req.headers, req.rawHeaders) : answer(req.headers, req.rawHeaders)),
    revocations: createRevocationAnswerer({
      get version() {
        return mirror.version;
      },
      get versionAt() {
        return mirror.versionAt;
      },
      snapshot: mirror.snapshot,
      delta: mirror.delta,
      waitForChange,
    }),
    polled: (status) => {
      const c = (counts ??= { authorize: {}, polls: {} }).polls;
      c[status] = (c[status] ?? 0) + 1;
    },
    ready: () => {
      const ms = Math.max(0, Date.now() - mirror.currentAt());
      if (ms <= d.maxStalenessMs) return { ok: true };
      const seconds = Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'ever';
      return { ok: false, reason: `revocation list not confirmed current for ${seconds} (gateway.max_staleness ${(d.maxStalenessMs / 1000).toFixed(1)} s)` };
    },
    onError: (err) => report({ t: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    limits: d.limits,
  });

  handle = (m) => {
    if (m.t === 'answer') {
      relayed.get(m.id)?.(m.answer);
      relayed.delete(m.id);
      return;
    }
    if (m.t === 'stats') {
      const e = performance.eventLoopUtilization();
      return report({ t: 'stats', id: m.id, scavenges, scavengePauseMs, idle: e.idle, active: e.active });
    }
    if (m.t === 'init') return;
    if (m.t !== 'stop') return mirror.apply(m);
    flushCounts();
    // Parked long polls are answered first (the unchanged delta, or 304): gateways see an answer, not a reset. Their
    // answers are built in promise callbacks, which run before the next turn; then the listener closes and cuts what
    // is left.
    mirror.releaseWaiters();
    setImmediate(() => {
      server.close(() => report({ t: 'stopped' }));
      server.closeAllConnections();
    });
  };
  for (const m of early.splice(0)) handle(m);
  server.once('error', (err: NodeJS.ErrnoException) => report({ t: 'failed', message: err.message, code: err.code }));
  server.listen(d.port, d.host, () => {
    const a = server.address();
    report({ t: 'listening', port: typeof a === 'object' && a ? a.port : d.port, pid: process.pid, tid: osThreadId() });
  });
}

/** This thread's id in the OS (Linux: /proc/thread-self is `<pid>/task/<tid>`), so its CPU time and priority can be read. */
function osThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}
