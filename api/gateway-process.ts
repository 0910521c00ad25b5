import { spawn } from 'node:child_process';
import type { GatewayChild } from './gateway-child.ts';
import type { WorkerReport } from './gateway-messages.ts';

/**
 * V8 flags of the gateway process. Its heap holds the revocation list and little else; what matters is the young
 * generation, which every request fills (~8 KiB each, node:http's own objects) and which is scavenged while every
 * request in flight waits. Its own process means its own GC helper threads, idle unless it collects, instead of the
 * ones ingest and the engine keep busy; and a memory reducer of its own, which is off: after the first quiet spell
 * it would run one full mark-compact (~16 ms with a 10,000-entry list) to shrink a heap that is already small.
 * Its young generation is V8's default (semi-spaces growing to 16 MiB): fewer scavenges, run in parallel on those
 * idle helpers. Measured with bench/lib/gateway-probe.ts at 5,000 req/s, 3 rounds alternating, load average 3–5:
 * this process p99 1.8 / 5.7 / 3.2 ms at 32–36 µs of CPU per request; the same worker in a thread (2 MiB young
 * generation) 3.8 / 9.9 / 12.3 ms at 36–40 µs; this process with semi-spaces capped at 1 MiB 13.1 / 3.9 / 10.3 ms
 * at 41–45 µs.
 */
export const GATEWAY_PROCESS_FLAGS = ['--no-memory-reducer'];

/** The environment of the gateway process: this one's, without NODE_OPTIONS (its code is plain JavaScript: no loader, no flags meant for the app). */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

/** Starts the worker's code in a process of its own (node reading the script from stdin), talking over IPC. */
export function newGatewayProcess(code: string): GatewayChild {
  const child = spawn(process.execPath, [...GATEWAY_PROCESS_FLAGS, '--title=tollkeeper-gateway', '-'], {
    stdio: ['pipe', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
    env: childEnv(),
  });
  child.stdin!.end(code);
  // A write to a process that ended (EPIPE) is its exit, told by 'exit'.
  child.stdin!.on('error', () => undefined);
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  return {
    send(m) {
      if (child.connected) child.send(m, (err) => err && undefined);
    },
    onMessage: (f) => void child.on('message', (m) => f(m as WorkerReport)),
    onExit: (f) => void child.once('exit', (code) => f(code)),
    onError: (f) => void child.on('error', f),
    kill: () =>
      new Promise<void>((resolve) => {
        if (ended()) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
