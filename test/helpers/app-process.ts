// The real `tollkeeper start` (or `collector` / `detector`) as a child process (optionally as PID 1 of a new pid
// namespace), for tests that kill it, restart it on the same data directory and look at what survived.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface AppProcess {
  proc: ChildProcess;
  /** '' for a detector (no OTLP listener). */
  otlpUrl: string;
  /** '' for a collector (no API). */
  apiUrl: string;
  adminToken: string;
  gatewayToken: string;
  /** stdout and stderr so far (pino lines included). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The pid of node itself: the child, or PID 1 of the namespace as the host sees it. */
  nodePid(): number;
  /** SIGKILL to node itself (no flush, no lock release), then waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (graceful: batches flushed, lock released), then waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface AppProcessOptions {
  dataDir: string;
  /** The command: `start` (every role, the default), `collector` or `detector`. */
  role?: 'start' | 'collector' | 'detector';
  /** More arguments, e.g. `['--clickhouse-url', url]`. */
  args?: string[];
  /** Config file text; written beside the data directory. */
  yaml?: string;
  /** Runs node as PID 1 of a new pid namespace (`unshare --fork --pid --mount-proc`), as in a container. */
  namespace?: boolean;
  startTimeoutMs?: number;
}

/** User + system CPU seconds of a process and its children so far (from /proc), or '?' when unreadable. */
function cpuSeconds(pid: number): string {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime, stime, cutime, cstime are fields 14-17 of stat; here 11-14 after the command name.
    return (fields.slice(11, 15).reduce((a, f) => a + Number(f), 0) / 100).toFixed(1);
  } catch {
    return '?';
  }
}

/** The test's environment without settings that would point the app elsewhere (embedded store, given config). */
function appEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TOLLKEEPER_CLICKHOUSE_URL: '' };
  delete env.TOLLKEEPER_CONFIG;
  delete env.TOLLKEEPER_DATA;
  return env;
}

/** Spawns the app and waits for its start-up lines; rejects with its output when it exits first. */
export async function startAppProcess(o: AppProcessOptions): Promise<AppProcess> {
  const role = o.role ?? 'start';
  const args = ['--import', 'tsx', join(ROOT, 'bin/tollkeeper.ts'), role, '--data', o.dataDir, '--otlp-port', '0', '--api-port', '0', '--gateway-port', '0', ...(o.args ?? [])];
  // The line the start-up block prints last for this role (the block is one write, but a pipe may split it).
  const up = role === 'collector' ? /ingest auth:.*\n/ : /revocation list:\s+\S+/;
  if (o.yaml !== undefined) {
    const file = `${o.dataDir}.yaml`;
    writeFileSync(file, o.yaml);
    args.push('--config', file);
  }
  const node = [process.execPath, ...args];
  const [cmd, ...rest] = o.namespace ? ['unshare', '--fork', '--pid', '--mount-proc', '--kill-child', ...node] : node;
  const proc = spawn(cmd!, rest, { cwd: ROOT, env: appEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let exitedState: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('close', (code, signal) => {
      exitedState = { code, signal };
      resolve(exitedState);
    }),
  );

  try {
    await waitFor(() => exitedState !== undefined || up.test(out), { timeoutMs: o.startTimeoutMs ?? 60_000, what: 'tollkeeper to start', intervalMs: 25 });
  } catch (err) {
    // Slow (CPU time keeps growing: a loaded machine) or stuck (it does not): say which.
    const cpu = cpuSeconds(proc.pid!);
    proc.kill('SIGKILL');
    await exited;
    throw new Error(`tollkeeper did not start on ${o.dataDir} (${cpu} s of CPU used; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}): ${(err as Error).message}\n${out}`);
  }
  if (exitedState) throw new AppExitedError(exitedState.code, out);
  const otlpUrl = /OTLP\/HTTP traces:\s+(\S+)\/v1\/traces/.exec(out)?.[1] ?? '';
  const apiUrl = /API:\s+(\S+)\/api\//.exec(out)?.[1] ?? '';
  const tokens = JSON.parse(readFileSync(join(o.dataDir, 'tokens.json'), 'utf8')) as { admin_token: string; gateway_token: string };

  const nodePid = (): number => {
    if (!o.namespace) return proc.pid!;
    // unshare --fork has exactly one child: node, PID 1 inside.
    const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    if (children.length !== 1) throw new Error(`expected one child of unshare (pid ${proc.pid}), found ${JSON.stringify(children)}`);
    return Number(children[0]);
  };

  return {
    proc,
    otlpUrl,
    apiUrl,
    adminToken: tokens.admin_token,
    gatewayToken: tokens.gateway_token,
    output: () => out,
    exited,
    nodePid,
    async kill() {
      if (!exitedState) process.kill(nodePid(), 'SIGKILL');
      await exited;
    },
    async stop() {
      if (!exitedState) process.kill(nodePid(), 'SIGTERM');
      return exited;
    },
  };
}

/** The app exited before it was up (e.g. refused the data directory): its exit code and output. */
export class AppExitedError extends Error {
  constructor(
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`tollkeeper exited with code ${code} before it started:\n${output}`);
  }
}
