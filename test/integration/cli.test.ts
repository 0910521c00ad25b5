import { mkdtempSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startApp, tempDataDir } from '../helpers/app.ts';
import { cli } from '../helpers/cli.ts';
import { migrate } from '../../store/migrate.ts';

describe('CLI', () => {
  it('exits 2 naming the path and problem of a bad config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tk-cfg-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'policies:\n  - name: p\n    scope: api_key\n    limits: { cost_usd: "five" }\n');
    const r = await cli(['start', '--config', file, '--data', join(dir, 'data')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: policies[0].limits.cost_usd`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits 2 for a missing config file and for a bad flag', async () => {
    const missing = await cli(['check-config', '--config', '/nonexistent/tk.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('/nonexistent/tk.yaml: cannot read config file (no such file)');
    const badPort = await cli(['start', '--otlp-port', 'abc']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('--otlp-port must be a port number');
  });

  it('check-config accepts a good file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tk-cfg-'));
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'policies:\n  - { name: p, scope: api_key, limits: { cost_usd: 5 } }\n');
    const r = await cli(['check-config', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok (1 policies)');
  });

  it('refuses a second start on the same data directory with a clear message', async () => {
    const running = await startApp();
    try {
      const r = await cli(['start', '--data', running.dataDir, '--otlp-port', '0', '--api-port', '0', '--gateway-port', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`data directory ${running.dataDir} is in use by another tollkeeper process (pid ${process.pid})`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await running.close({ cleanup: true });
    }
  });

  it('start prints the URLs, ingests, and stops gracefully on SIGINT with the data kept', async () => {
    const dataDir = tempDataDir();
    let posted: Promise<number> | undefined;
    const r = await cli(['start', '--data', dataDir, '--otlp-port', '0', '--api-port', '0', '--gateway-port', '0'], {}, (out, child) => {
      const m = /OTLP\/HTTP traces:\s+(\S+)/.exec(out);
      if (!m || posted) return;
      const end = String(BigInt(Date.now()) * 1_000_000n);
      const body = JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'chat', startTimeUnixNano: end, endTimeUnixNano: end, attributes: [{ key: 'gen_ai.usage.input_tokens', value: { intValue: 7 } }, { key: 'tollkeeper.api_key.id', value: { stringValue: 'cli-key' } }] }] }] }],
      });
      posted = fetch(m[1]!, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((res) => {
        child.kill('SIGINT');
        return res.status;
      });
    });
    expect(await posted).toBe(200);
    expect(r.stdout).toMatch(/API:\s+http:\/\/127\.0\.0\.1:\d+\/api\//);
    expect(r.stdout).toContain(`admin + gateway tokens: ${join(dataDir, 'tokens.json')}`);
    expect(r.stdout).toContain('tollkeeper stopped');
    expect(r.code).toBe(0);
    const reopened = await startApp({ dataDir });
    try {
      const rows = await reopened.app.store.query<{ n: number }>(`SELECT sum(input_tokens) AS n FROM ${reopened.app.store.table('usage_events')} WHERE api_key = 'cli-key'`);
      expect(rows[0]?.n).toBe(7);
    } finally {
      await reopened.close({ cleanup: true });
    }
  });

  it('generates tokens with mode 0600 and keeps them across restarts', async () => {
    const dataDir = tempDataDir();
    const a = await startApp({ dataDir });
    const admin = a.adminToken;
    await a.close();
    expect(statSync(join(dataDir, 'tokens.json')).mode & 0o777).toBe(0o600);
    const b = await startApp({ dataDir, database: a.database });
    expect(b.adminToken).toBe(admin);
    // Migrations are recorded and idempotent: a second run applies nothing.
    expect(await migrate(b.app.store)).toEqual([]);
    await b.close({ cleanup: true });
  });
});
