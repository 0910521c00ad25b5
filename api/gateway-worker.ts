import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { createForwardAuth } from '../detector/forward-auth.ts';
import { createGatewayMirror, type FeedMessage } from '../detector/gateway-mirror.ts';
import { secretHasher } from '../core/usage/secret-hash.ts';
import { createAuthorizeAnswerer } from './authorize-answer.ts';
import { createGatewayServer } from './gateway-http.ts';
import type { GatewayWorkerData, WorkerReport } from './gateway-listener.ts';
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

const forwardAuth = createForwardAuth({
  enforcement: mirror,
  remaining: mirror,
  currentAt: mirror.currentAt,
  now: Date.now,
  maxStalenessMs: d.maxStalenessMs,
  failMode: d.failMode,
});
const server = createGatewayServer({
  tokens: d.tokens,
  authorize: createAuthorizeAnswerer({ forwardAuth, headers: d.headers, nginxMode: d.nginxMode, hashSecret: secretHasher(d.hashKey) }),
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

port.on('message', (m: FeedMessage | { t: 'stop' }) => {
  if (m.t !== 'stop') return mirror.apply(m);
  server.close(() => report({ t: 'stopped' }));
  server.closeAllConnections();
});
server.once('error', (err: NodeJS.ErrnoException) => report({ t: 'failed', message: err.message, code: err.code }));
server.listen(d.port, d.host, () => {
  const a = server.address();
  report({ t: 'listening', port: typeof a === 'object' && a ? a.port : d.port, tid: osThreadId() });
});
