// The CLI as a newcomer meets it: help for every command, mistyped flags and commands, flags a command would
// ignore, and a ClickHouse server that is not there — each a clear message and an exit code, never a stack trace.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';

const COMMANDS = ['start', 'collector', 'detector', 'migrate', 'check-config', 'replay', 'reprice', 'demo', 'spool'];
const STACK = /\n\s+at /;

/** A 127.0.0.1 port with nothing listening on it: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('CLI help and mistakes', () => {
  it('each command answers --help with its own usage and only the flags it takes', async () => {
    const overview = await cli(['--help']);
    expect(overview.code).toBe(0);
    for (const c of COMMANDS) expect(overview.stdout).toMatch(new RegExp(`\\n  ${c}\\s`));
    const pages = await Promise.all(COMMANDS.map((c) => cli([c, '--help'])));
    pages.forEach((p, i) => {
      const c = COMMANDS[i]!;
      expect(p.code, c).toBe(0);
      expect(p.stdout, c).toMatch(new RegExp(`^Usage: tollkeeper ${c}`));
      expect(p.stdout, c).not.toContain('Commands:');
    });
    const page = (c: string) => pages[COMMANDS.indexOf(c)]!.stdout;
    expect(page('replay')).toContain('--step <duration>');
    expect(page('replay')).not.toContain('--dry-run');
    expect(page('reprice')).toContain('--dry-run');
    expect(page('demo')).toContain('--fast');
    expect(page('start')).toContain('--gateway-port <n>');
    expect(page('migrate')).not.toContain('--api-port');
  });

  it('refuses an unknown flag with a suggestion, an unknown command with a suggestion, and a flag the command ignores', async () => {
    const flag = await cli(['start', '--api-prot', '9000']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('unknown flag --api-prot (did you mean --api-port?)');
    const command = await cli(['strat']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "strat" (did you mean start?)');
    const ignored = await cli(['reprice', '--step', '1m', '--from', '2026-01-01', '--to', '2026-01-02']);
    expect(ignored.code).toBe(2);
    expect(ignored.stderr).toContain('--step: not a flag of reprice');
    const extra = await cli(['check-config', 'tollkeeper.yaml']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('unexpected argument "tollkeeper.yaml" after check-config');
    for (const r of [flag, command, ignored, extra]) expect(r.stderr).not.toMatch(STACK);
    const typo = await cli(['check-config'], { TOLLKEEPER_ADMIN_TOKN: 'a'.repeat(20) });
    expect(typo.code).toBe(0);
    expect(typo.stderr).toContain('tollkeeper: warning: TOLLKEEPER_ADMIN_TOKN is set but tollkeeper does not read it (did you mean TOLLKEEPER_ADMIN_TOKEN?)');
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('Usage: tollkeeper <command>');
  });

  it('collector, detector and migrate against a ClickHouse server that is down: one line naming it, exit 1', async () => {
    const port = await closedPort();
    const url = `http://tk-user:tk-secret@127.0.0.1:${port}`;
    const ports = ['--otlp-port', '0', '--api-port', '0', '--gateway-port', '0'];
    const runs = await Promise.all([
      cli(['collector', '--clickhouse-url', url, ...ports]),
      cli(['detector', '--clickhouse-url', url, ...ports]),
      cli(['migrate', '--clickhouse-url', url]),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`tollkeeper: cannot use the store: ClickHouse server http://127.0.0.1:${port}/: connect ECONNREFUSED`);
      expect(r.stderr).not.toContain('tk-secret');
      expect(r.stderr).not.toMatch(STACK);
      expect(r.stderr).not.toContain('@clickhouse/client'); // the client's own multi-line log of the same failure
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('check-config shows what flags, environment and file resolve to: flags beat the environment, which beats the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tk-prec-'));
    const file = join(dir, 'tk.yaml');
    writeFileSync(file, `store: { chdb: { path: ${dir}/from-file } }\nserver: { api_port: 1111 }\n`);
    const [fromFile, fromEnv, fromFlag] = await Promise.all([
      cli(['check-config', '--config', file]),
      cli(['check-config', '--config', file], { TOLLKEEPER_DATA: `${dir}/from-env` }),
      cli(['check-config', '--config', file, '--data', `${dir}/from-flag`, '--api-port', '2222'], { TOLLKEEPER_DATA: `${dir}/from-env` }),
    ]);
    expect(fromFile.stdout).toContain(`store:   embedded ClickHouse (chdb) in ${dir}/from-file/clickhouse`);
    expect(fromFile.stdout).toContain('API 127.0.0.1:1111');
    expect(fromEnv.stdout).toContain(`store:   embedded ClickHouse (chdb) in ${dir}/from-env/clickhouse`);
    expect(fromFlag.stdout).toContain(`store:   embedded ClickHouse (chdb) in ${dir}/from-flag/clickhouse`);
    expect(fromFlag.stdout).toContain('API 127.0.0.1:2222');
  });

  it('takes the server URL from TOLLKEEPER_CLICKHOUSE_URL, and --clickhouse-url over it', async () => {
    const [envPort, flagPort] = [await closedPort(), await closedPort()];
    const env = { TOLLKEEPER_CLICKHOUSE_URL: `http://127.0.0.1:${envPort}` };
    const viaEnv = await cli(['migrate'], env);
    expect(viaEnv.stderr).toContain(`ClickHouse server http://127.0.0.1:${envPort}/`);
    const viaFlag = await cli(['migrate', '--clickhouse-url', `http://127.0.0.1:${flagPort}`], env);
    expect(viaFlag.stderr).toContain(`ClickHouse server http://127.0.0.1:${flagPort}/`);
  });
});
