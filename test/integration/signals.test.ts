// SIGHUP (the terminal closed, or a supervisor's hangup) stops tollkeeper gracefully, as SIGTERM does: batches
// flushed, the data-directory lock released, exit code 0. Before, node's default handler ended the process at once.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startApp, tempDataDir } from '../helpers/app.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

describe.skipIf(process.env.TOLLKEEPER_TEST_CLICKHOUSE_URL)('signals', () => {
  it('SIGHUP stops gracefully: data kept, lock released, exit 0', async () => {
    const dataDir = tempDataDir();
    // As npm start and the container image run it: node itself gets the signal (no wrapper process in between).
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/tollkeeper.ts'), 'start', '--data', dataDir, '--otlp-port', '0', '--api-port', '0', '--gateway-port', '0'], {
      cwd: ROOT,
      env: { ...process.env, TOLLKEEPER_CLICKHOUSE_URL: '' },
    });
    let stdout = '';
    let posted: Promise<number> | undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /OTLP\/HTTP traces:\s+(\S+)/.exec(stdout);
      if (!m || posted) return;
      const end = String(BigInt(Date.now()) * 1_000_000n);
      const body = JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ef'.repeat(16), spanId: 'ab'.repeat(8), name: 'chat', startTimeUnixNano: end, endTimeUnixNano: end, attributes: [{ key: 'gen_ai.usage.input_tokens', value: { intValue: 9 } }, { key: 'tollkeeper.api_key.id', value: { stringValue: 'hup-key' } }] }] }] }],
      });
      posted = fetch(m[1]!, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((res) => {
        child.kill('SIGHUP');
        return res.status;
      });
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    clearTimeout(timer);
    expect(await posted).toBe(200);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stdout).toContain('tollkeeper stopped');
    expect(existsSync(join(dataDir, 'tollkeeper.lock'))).toBe(false);
    const reopened = await startApp({ dataDir, startLoop: false });
    try {
      const rows = await reopened.app.store.query<{ n: number }>(`SELECT sum(input_tokens) AS n FROM ${reopened.app.store.table('usage_events')} WHERE api_key = 'hup-key'`);
      expect(rows[0]?.n).toBe(9);
    } finally {
      await reopened.close({ cleanup: true });
    }
  });
});
