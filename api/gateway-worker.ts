import { readlinkSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
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
 * The gateway worker thread: a copy of the gateway-facing state, fed by the detector on the main thread
 * (detector/gateway-feed.ts), and the gateway listener's HTTP server answering from it. Nothing here waits for the
 * main thread, so ingest and detector ticks there add no latency to these answers.
 */
const port = parentPort!;
const d = workerData as GatewayWorkerData;
const report = (m: WorkerReport) => port.postMessage(m);
const mirror = createGatewayMirror();
// Long-polls parked here, readable from the main thread without a round trip (benchmarks and tests wait on it).
const stats = new Int32Array(d.stats);
const waitForChange: typeof mirror.waitForChange = (since, timeoutMs, signal) => {
  const p = mirror.waitForChange(since, timeoutMs, signal);
  Atomics.store(stats, 0, mirror.waiting);
  return p.then(() => void Atomics.store(stats, 0, mirror.waiting));
};

// Its scavenges (count, total pause in µs), readable from the main thread: what its collector costs its requests.
new PerformanceObserver((list) => {
  for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
    if (e.detail?.kind !== constants.NODE_PERFORMANCE_GC_MINOR) continue;
    Atomics.add(stats, 1, 1);
    Atomics.add(stats, 2, Math.round(e.duration * 1000));
  }
}).observe({ entryTypes: ['gc'] });

// What it answered, sent to the main thread (for /metrics) about once a second while there is anything to send:
// one message a second whatever the rate, plain increments per request.
let counts: { authorize: Record<string, number>; polls: Record<string, number> } | undefined;
const COUNTS_EVERY_MS = 1_000;
function flushCounts(): void {
  if (!counts) return;
  report({ t: 'counts', ...counts });
  counts = undefined;
}
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

// A request with an admission estimate reserves budget in the ledger, which lives on the main thread: it is asked
// there (one message each way) and answered exactly as the API port answers it.
const relayed = new Map<number, (a: AuthorizeAnswer) => void>();
let nextId = 0;
function relay(headers: IncomingHttpHeaders, raw: string[]): Promise<AuthorizeAnswer> {
  const id = nextId++;
  return new Promise((resolve) => {
    relayed.set(id, resolve);
    report({ t: 'authorize', id, headers, raw });
  });
}

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
  onError: (err) => report({ t: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  limits: d.limits,
});

/** This thread's id in the OS (Linux: /proc/thread-self is `<pid>/task/<tid>`), so its CPU time can be read. */
function osThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

port.on('message', (m: FeedMessage | WorkerCommand) => {
  if (m.t === 'answer') {
    relayed.get(m.id)?.(m.answer);
    relayed.delete(m.id);
    return;
  }
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
});
server.once('error', (err: NodeJS.ErrnoException) => report({ t: 'failed', message: err.message, code: err.code }));
server.listen(d.port, d.host, () => {
  const a = server.address();
  report({ t: 'listening', port: typeof a === 'object' && a ? a.port : d.port, tid: osThreadId() });
});
