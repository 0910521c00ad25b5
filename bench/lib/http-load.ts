import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HttpLoadResult, HttpLoadSpec } from './http-load-child.ts';
import { percentile } from './stats.ts';

const CHILD = fileURLToPath(new URL('./http-load-child.ts', import.meta.url));

export type { HttpLoadResult, HttpLoadSpec };

/** A raw HTTP/1.1 GET request with the given headers. */
export function rawGet(path: string, headers: Record<string, string>): string {
  return `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

/** One load-generator process that runs loads one after another (bench/lib/http-load-child.ts). */
export interface HttpLoader {
  /** The generator's process id (to check its priority). */
  readonly pid: number;
  /** Runs one load; `onWaiting` (long-poll mode) is called once every request is sent. */
  run(spec: HttpLoadSpec, onWaiting?: () => void): Promise<HttpLoadResult>;
  close(): void;
}

/**
 * Forks the load generator now. A benchmark that runs the app in its own process forks it before the app starts:
 * a process inherits the priority of the thread that forks it, and the app lowers every thread but its gateway
 * listener's (`gateway.background_nice`), so a generator forked later would run at the app's background priority.
 */
export function startHttpLoader(): HttpLoader {
  const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let current: { resolve: (r: HttpLoadResult) => void; reject: (e: Error) => void; onWaiting?: (() => void) | undefined } | undefined;
  let exited: string | undefined;
  child.on('message', (m: { type: 'waiting' } | { type: 'done'; result: HttpLoadResult } | { type: 'failed'; error: string }) => {
    const c = current;
    if (!c) return;
    if (m.type === 'waiting') return c.onWaiting?.();
    current = undefined;
    if (m.type === 'done') c.resolve(m.result);
    else c.reject(new Error(`load generator: ${m.error}`));
  });
  child.on('exit', (code) => {
    exited = `load generator exited (${code})`;
    current?.reject(new Error(exited));
    current = undefined;
  });
  return {
    pid: child.pid ?? 0,
    run(spec, onWaiting) {
      if (exited) return Promise.reject(new Error(exited));
      if (current) return Promise.reject(new Error('load generator: one load at a time'));
      return new Promise((resolve, reject) => {
        current = { resolve, reject, onWaiting };
        child.send(spec);
      });
    },
    close() {
      if (child.connected) child.disconnect();
    },
  };
}

/** Runs one load in a fresh child process. `onWaiting` (long-poll mode) is called once every request is sent. */
export async function httpLoad(spec: HttpLoadSpec, onWaiting?: () => void): Promise<HttpLoadResult> {
  const loader = startHttpLoader();
  try {
    return await loader.run(spec, onWaiting);
  } finally {
    loader.close();
  }
}

export interface Measured {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  statuses: string;
  late: number;
  errors: number;
  clientCpu: number;
  /** Connections the server closed and the generator opened again. */
  reconnects: number;
}

export function measured(r: HttpLoadResult): Measured {
  return {
    rps: r.requests / (r.elapsedMs / 1000),
    p50: percentile(r.latencies, 50),
    p99: percentile(r.latencies, 99),
    max: r.latencies.at(-1) ?? 0,
    statuses: Object.entries(r.statuses).map(([s, n]) => `${s}×${n}`).join(' '),
    late: r.late,
    errors: r.errors,
    clientCpu: r.cpuMs / r.elapsedMs,
    reconnects: r.reconnects,
  };
}
