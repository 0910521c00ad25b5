// A quick probe of the gateway listener's hot path, without the app or ClickHouse: the listener's worker fed a
// 10,000-entry list and one api_key policy, and the bare node:http ceiling beside it, each under the same open-loop
// load. Prints, per target: rate, p50/p99, the serving thread's CPU µs per request and, for the worker, its
// scavenges (count, mean pause, bytes allocated and surviving per scavenge) from V8's own GC trace.
//   node --import tsx bench/lib/gateway-probe.ts [rate=5000] [seconds=6] [conns=64] [gateway|ceiling] [process|thread]
// (not a benchmark of record: BENCHMARKS.md comes from `npm run bench -- --only gateway`).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { RevocationList } from '../../core/enforcement/revocation-list.ts';
import { startGatewayListener } from '../../api/gateway-listener.ts';
import { httpLoad, measured, rawGet } from './http-load.ts';
import { startCeilingServer } from './http-load-ceiling.ts';
import { threadCpuMs } from './thread-cpu.ts';
import { scavengeStats } from './gc-trace.ts';

const [rate = 5000, seconds = 6, conns = 64] = process.argv.slice(2, 5).map(Number);
// A fourth argument names the one target to load (`gateway` or `ceiling`).
const only = process.argv[5];
// A fifth, where the gateway worker runs (default: a process of its own, as the app runs it).
const isolation = process.argv[6] === 'thread' ? 'thread' : 'process';

if (!process.execArgv.includes('--trace-gc-nvp')) {
  // Run again with V8's GC trace on (every isolate of the process prints to stdout), and summarize it per target.
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--max-semi-space-size=64', '--trace-gc-nvp', '--import', 'tsx', self, ...process.argv.slice(2)], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = r.stdout.split('\n');
  for (const l of lines) if (l.startsWith('probe ')) process.stdout.write(l + '\n');
  for (const s of scavengeStats(lines)) process.stdout.write(`gc ${s.isolate} ${s.window}: ${s.count} scavenges, pause median ${s.medianPauseMs.toFixed(2)} ms, mean ${s.meanPauseMs.toFixed(2)} ms (max ${s.maxPauseMs.toFixed(1)}), ${Math.round(s.allocatedKiB)} KiB allocated and ${Math.round(s.survivedKiB)} KiB surviving + ${Math.round(s.promotedKiB)} KiB promoted per scavenge; ${(s.allocatedTotal / 2 ** 20).toFixed(0)} MiB allocated in all\n`);
  process.exit(r.status ?? 1);
}

const list = new RevocationList(20_000);
for (let i = 0; i < 10_000; i++) {
  const throttle = i % 10 === 0;
  list.addCause('api_key', `k-${i}`, { action: throttle ? 'throttle' : 'revoke', ...(throttle ? { limit: { requests_per_minute: 60 } } : {}), reason: `key k-${i} over budget`, source: 'quota', ref: 'free-daily-cost', created_at: new Date().toISOString() });
}
const snapshot = [{ scope: 'api_key', matched: false, endsAt: null, used: new Map(), limits: { cost_usd: 1e9, requests: 1e12 }, overrides: new Map() }];
const token = 'tkg_probe-gateway-token-0123456789';
const gateway = await startGatewayListener({
  isolation,
  host: '127.0.0.1',
  port: 0,
  tokens: { admin: 'tka_probe-admin-token-0123456789', gateway: token },
  headers: { api_key: 'x-tollkeeper-api-key', secret: 'authorization', tenant: 'x-tollkeeper-tenant', agent: 'x-tollkeeper-agent', user: 'x-tollkeeper-user' },
  nginxMode: false,
  hashKey: 'probe',
  maxStalenessMs: 30_000,
  failMode: 'open',
  limits: { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 65_000, connectionTimeout: 120_000, connectionsCheckingInterval: 1_000, maxConnections: 10_000 },
  subscribe: (send) => {
    send({ t: 'list', state: list.state(), at: Date.now() });
    send({ t: 'remaining', snapshot });
    const tick = () => send({ t: 'current', at: Date.now() });
    tick();
    const timer = setInterval(tick, 2_000);
    return () => clearInterval(timer);
  },
  authorize: () => ({ status: 500, headers: {}, body: '' }),
  logger: pino({ level: 'warn' }),
});
const ceiling = await startCeilingServer();
const requests = Array.from({ length: 64 }, (_, i) => rawGet('/v1/authorize', { 'x-tollkeeper-gateway-token': token, 'x-tollkeeper-api-key': `live-${i}`, 'x-tollkeeper-tenant': `t-${i % 8}` }));

// Requests each target answered in all (warm-up included), for bytes allocated per request from the GC trace.
for (const [name, port, tid, pid] of [['ceiling', ceiling.port, ceiling.osThreadId, process.pid], ['gateway', gateway.port, gateway.osThreadId, gateway.pid ?? process.pid]] as const) {
  if (only !== undefined && only !== name) continue;
  const w = await httpLoad({ mode: 'closed', port, connections: 16, durationMs: 1_000, requests });
  const cpu0 = threadCpuMs(tid, pid);
  const r = await httpLoad({ mode: 'rate', rate, port, connections: conns, durationMs: seconds * 1000, requests });
  const cpu = ((threadCpuMs(tid, pid)! - cpu0!) * 1000) / r.requests;
  const m = measured(r);
  process.stdout.write(`probe ${name}: ${Math.round(m.rps)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, max ${m.max.toFixed(1)} ms, ${m.statuses}, thread CPU ${cpu.toFixed(1)} µs/req; ${w.requests + r.requests} requests in all\n`);
}
await ceiling.close();
await gateway.close();
