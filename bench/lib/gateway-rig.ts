// What the gateway benchmark runs beside the app, all started before the app so none inherits its lowered
// priority (`gateway.background_nice` lowers every thread of the app's process but the gateway worker, and a
// process forked by a lowered thread starts lowered): the HTTP load generator, the ingest load client, the bare
// node:http ceiling and NGINX. Also what a cell samples of the thread that answers, and of the machine.
import { randomBytes } from 'node:crypto';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { freePort } from '../../test/helpers/fake-upstream.ts';
import { findNginx, startNginx } from '../../test/helpers/nginx.ts';
import { startHttpLoader, type HttpLoader } from './http-load.ts';
import { startCeilingProcess, type CeilingProcess } from './http-load-ceiling.ts';
import { LoadClient } from './load.ts';
import type { GatewayListener } from '../../api/gateway-listener.ts';
import { machineCpuTicks, niceOf, threadCpuMs } from './thread-cpu.ts';

export interface LoadRig {
  loader: HttpLoader;
  ingest: LoadClient;
  ceiling: CeilingProcess;
  /** NGINX in front of the gateway port, answering as its own upstream; undefined when nginx is not installed. */
  nginx: { port: number; pid: number; stop(): Promise<void> } | undefined;
  /** The port the app's gateway listener must take (NGINX points at it), and the gateway token it must accept. */
  gatewayPort: number;
  gatewayToken: string;
  /** Each load process's nice value now (read it once the app runs). */
  nices(): Record<string, number | undefined>;
  close(): Promise<void>;
}

export async function startLoadRig(): Promise<LoadRig> {
  const loader = startHttpLoader();
  const ingest = new LoadClient('ingest');
  const ceiling = await startCeilingProcess();
  const gatewayPort = await freePort();
  const gatewayToken = `tkg_bench_${randomBytes(12).toString('hex')}`;
  let nginx: LoadRig['nginx'];
  const bin = findNginx();
  if (bin) {
    const upstream = await freePort();
    const listen = await freePort();
    // NGINX is its own upstream here (a static 200), so only the auth_request round trip is measured.
    const gw = await startNginx(bin, { listen, tollkeeper: gatewayPort, upstream, gatewayToken, failMode: 'open' }, { extraServer: `server { listen 127.0.0.1:${upstream}; location / { default_type application/json; return 200 '{"ok":true}'; } }` });
    nginx = { port: listen, pid: gw.pid, stop: () => gw.stop() };
  }
  return {
    loader,
    ingest,
    ceiling,
    nginx,
    gatewayPort,
    gatewayToken,
    nices: () => ({
      'HTTP load generator': niceOf(loader.pid),
      'ingest load client': niceOf(ingest.pid),
      'ceiling (its worker thread)': ceiling.osThreadId === undefined ? undefined : niceOf(ceiling.pid, ceiling.osThreadId),
      ...(nginx ? { NGINX: niceOf(nginx.pid) } : {}),
    }),
    async close() {
      await nginx?.stop();
      await ceiling.close();
      ingest.close();
      loader.close();
    },
  };
}

/** What a cell reads of the serving thread (and the machine) before and after its measured part. */
export interface ThreadSample {
  cpuMs: number | undefined;
  elu: { idle: number; active: number };
  gc: { count: number; pauseMs: number } | undefined;
  machine: ReturnType<typeof machineCpuTicks>;
}

/** Samples a thread of this process: its CPU from /proc and its event loop. */
export function localSampler(tid: number | undefined, elu: () => EventLoopUtilization): () => Promise<ThreadSample> {
  return () => {
    const e = elu();
    return Promise.resolve({ cpuMs: threadCpuMs(tid), elu: { idle: e.idle, active: e.active }, gc: undefined, machine: machineCpuTicks() });
  };
}

/** Samples the gateway worker (in its process, or a thread of this one): its serving thread's CPU, event loop and scavenges. */
export function gatewaySampler(g: Pick<GatewayListener, 'stats' | 'pid' | 'osThreadId'>): () => Promise<ThreadSample> {
  return async () => {
    const s = await g.stats();
    return { cpuMs: threadCpuMs(g.osThreadId, g.pid), elu: { idle: s.idle, active: s.active }, gc: { count: s.scavenges, pauseMs: s.scavengePauseMs }, machine: machineCpuTicks() };
  };
}

/** Samples the ceiling's worker in its own process. */
export function ceilingSampler(c: CeilingProcess): () => Promise<ThreadSample> {
  return async () => {
    const s = await c.stats();
    return { cpuMs: threadCpuMs(c.osThreadId, c.pid), elu: { idle: s.idle, active: s.active }, gc: s.scavenges, machine: machineCpuTicks() };
  };
}

/** Event-loop busy share between two samples, like `eventLoopUtilization(earlier).utilization`. */
export function busyShare(a: ThreadSample, b: ThreadSample): number {
  const active = b.elu.active - a.elu.active;
  const all = active + b.elu.idle - a.elu.idle;
  return all > 0 ? active / all : 0;
}
