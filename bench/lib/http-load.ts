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

/**
 * Runs one load in a fresh child process. `onWaiting` (long-poll mode) is called once every request is sent.
 */
export function httpLoad(spec: HttpLoadSpec, onWaiting?: () => void): Promise<HttpLoadResult> {
  const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (m: { type: 'waiting' } | { type: 'done'; result: HttpLoadResult } | { type: 'failed'; error: string }) => {
      if (m.type === 'waiting') onWaiting?.();
      else {
        child.disconnect();
        if (m.type === 'done') resolve(m.result);
        else reject(new Error(`load generator: ${m.error}`));
      }
    });
    child.on('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    child.send(spec);
  });
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
