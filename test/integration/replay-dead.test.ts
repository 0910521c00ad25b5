// `tollkeeper spool replay-dead`: what was set aside in <data>/spool/dead is stored again, exactly once per event
// id; what the store still cannot parse (and lines that are no events) stays there, with a report.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeRow, USAGE_COLUMNS } from '../../store/usage-repo.ts';
import { startApp, tempDataDir } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';
import { spooledIds } from '../helpers/spool-files.ts';
import { eventTotals, rollupTotals } from '../helpers/test-store.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'bin/tollkeeper.ts'), ...args], {
      cwd: mkdtempSync(join(tmpdir(), 'tk-cli-')),
      env: { ...process.env, TOLLKEEPER_CLICKHOUSE_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(process.env.TOLLKEEPER_TEST_CLICKHOUSE_URL)('tollkeeper spool replay-dead', () => {
  it('stores the dead letters once, keeps what is still malformed, and reports both', async () => {
    const dataDir = tempDataDir();
    const dead = join(dataDir, 'spool', 'dead');
    mkdirSync(dead, { recursive: true });
    const key = `replay-dead-${process.pid}`;
    const events = Array.from({ length: 50 }, (_, i) => usageEvent({ apiKey: key, inputTokens: 10 + i, costUsd: 0.125 }));
    const rows = events.map(encodeRow);
    // A row the store cannot parse (a word in a token column), and a line that is no event at all.
    const bad = JSON.parse(encodeRow(usageEvent({ apiKey: key }))) as unknown[];
    bad[USAGE_COLUMNS.indexOf('input_tokens')] = 'many';
    writeFileSync(join(dead, '000000000000001-1-000000001-aaaaaaaa.ndjson'), rows.slice(0, 30).join('\n') + '\n');
    // The same events set aside twice (a client retry while the store was down): stored once.
    writeFileSync(join(dead, '000000000000002-1-000000002-bbbbbbbb.ndjson'), [...rows.slice(20), JSON.stringify(bad), 'not an event'].join('\n') + '\n');

    const first = await cli(['spool', 'replay-dead', '--data', dataDir]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`replayed 50 events from 2 files in ${dead} (10 already stored, skipped)`);
    expect(first.stdout).toContain(`kept 2 records the store still cannot use in ${dead}`);
    expect(readdirSync(dead).filter((f) => f.endsWith('.ndjson'))).toHaveLength(1);
    expect(spooledIds(join(dataDir, 'spool'), 'dead')).toHaveLength(2);

    // Again: nothing new is stored, the two stay.
    const second = await cli(['spool', 'replay-dead', '--data', dataDir]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('replayed 0 events from 1 files');
    expect(second.stdout).toContain('kept 2 records');

    const app = await startApp({ dataDir, startLoop: false });
    try {
      const tokens = events.reduce((a, e) => a + e.inputTokens, 0);
      expect(await eventTotals(app.app.store, key)).toEqual({ rows: 50, distinctIds: 50, inputTokens: tokens, costUsd: 6.25 });
      expect(await rollupTotals(app.app.store, key)).toEqual({ events: 50, requests: 50, inputTokens: tokens, costUsd: 6.25 });
    } finally {
      await app.close({ cleanup: true });
    }
  });

  it('refuses to run beside a running tollkeeper on the same data directory', async () => {
    const running = await startApp({ startLoop: false });
    try {
      const r = await cli(['spool', 'replay-dead', '--data', running.dataDir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`data directory ${running.dataDir} is in use by another tollkeeper process`);
    } finally {
      await running.close({ cleanup: true });
    }
  });
});
