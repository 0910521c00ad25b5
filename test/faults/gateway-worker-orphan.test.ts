// The gateway listener's worker process never outlives tollkeeper: killed with SIGKILL (no shutdown code runs), the
// worker sees its IPC pipe close and exits, and its port is free for the next start. An orphan would keep answering
// gateways from a list nobody updates any more.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startAppProcess, type AppProcess } from '../helpers/app-process.ts';
import { tempDataDir } from '../helpers/app.ts';
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
});
