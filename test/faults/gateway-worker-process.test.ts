// The gateway listener's worker process never outlives tollkeeper: killed with SIGKILL (no shutdown code runs), the
// worker sees its IPC pipe close and exits, and its port is free for the next start. An orphan would keep answering
// gateways from a list nobody updates any more. And Ctrl-C, which signals the whole process group, stops tollkeeper
// in order: the worker leaves the signal to the main process, which stops it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startAppProcess, type AppProcess } from '../helpers/app-process.ts';
import { tempDataDir } from '../helpers/app.ts';
import { ROOT } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The gateway worker among a process's children: the one named tollkeeper-gateway (its process title). */
function gatewayChild(pid: number): number | undefined {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return children.find((c) => {
    try {
      return readFileSync(`/proc/${c}/cmdline`, 'utf8').startsWith('tollkeeper-gateway');
    } catch {
      return false;
    }
  });
}

let app: AppProcess | undefined;
afterAll(async () => {
  await app?.kill();
});

describe.runIf(process.platform === 'linux' && !process.env.TOLLKEEPER_TEST_CLICKHOUSE_URL)('gateway worker process', () => {
  it('exits when tollkeeper is killed with SIGKILL, and frees its port', async () => {
    app = await startAppProcess({ dataDir: tempDataDir() });
    const gatewayUrl = /forward-auth:\s+(\S+)\/v1\/authorize/.exec(app.output())![1]!;
    const res = await fetch(`${gatewayUrl}/healthz`);
    expect(res.status).toBe(200);
    const worker = gatewayChild(app.nodePid());
    expect(worker).toBeDefined();
    await app.kill();
    await waitFor(() => !alive(worker!), { timeoutMs: 10_000, what: `the gateway worker (pid ${worker}) to exit` });
    await expect(fetch(`${gatewayUrl}/healthz`)).rejects.toThrow();
  });

  it('Ctrl-C (SIGINT to the whole process group) stops tollkeeper gracefully, the worker with it, nothing logged as a crash', async () => {
    // Its own process group, as a terminal's foreground job; node itself first in it, as `npm start` runs it.
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/tollkeeper.ts'), 'start', '--data', tempDataDir(), '--otlp-port', '0', '--api-port', '0', '--gateway-port', '0'], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, TOLLKEEPER_CLICKHOUSE_URL: '' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const guard = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000);
    try {
      await waitFor(() => /forward-auth:\s+\S+/.test(out), { timeoutMs: 45_000, what: 'tollkeeper to start' });
      const worker = gatewayChild(child.pid!);
      expect(worker).toBeDefined();
      process.kill(-child.pid!, 'SIGINT');
      expect(await closed).toBe(0);
      expect(out).toContain('tollkeeper stopped');
      expect(out).not.toContain('ended unexpectedly');
      // It stopped in order, not by the signal.
      expect(out).not.toContain('gateway worker ended before it stopped');
      await waitFor(() => !alive(worker!), { timeoutMs: 10_000, what: `the gateway worker (pid ${worker}) to exit` });
    } finally {
      clearTimeout(guard);
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });
});
