#!/usr/bin/env -S npx tsx
import { parseArgs } from 'node:util';
import { buildTollkeeper, type Role } from '../app/build.ts';
import { readConfig } from '../app/config-file.ts';
import { createLogger } from '../app/logger.ts';
import type { Flags } from '../core/config/load.ts';
import { DataDirInUseError, lockDataDir } from '../store/data-lock.ts';
import type { ClickHouse } from '../store/port.ts';
import { REPRICE_SETTLE_MS, repriceRange } from '../store/reprice.ts';
import { createPricer } from '../core/pricing/pricer.ts';
import { parseDuration } from '../core/quota/duration.ts';
import { formatReplay, replay } from '../detector/replay.ts';
import { createQuotaRepo } from '../store/quota-repo.ts';
import { createAnomalyRepo } from '../store/anomaly-repo.ts';
import { anomalyConfig } from '../app/anomaly-config.ts';
import { migrate } from '../store/migrate.ts';
import { openClickHouse } from '../store/clickhouse.ts';
import { join } from 'node:path';
import { replayDead } from '../collector/replay-dead.ts';
import { createUsageRepo } from '../store/usage-repo.ts';

const USAGE = `tollkeeper — quota management and denial-of-wallet defense for AI platforms

Usage: tollkeeper <command> [flags]

Commands:
  start          run collector, detector and API in one process (embedded ClickHouse by default)
  collector      run only the OTLP collector (scale out: N replicas against a ClickHouse server)
  detector       run only the detector, API, enforcement and alerts (one active instance)
  migrate        apply database migrations and exit
  check-config   validate the configuration and exit (exit code 2 when invalid)
  replay         run quotas and detection over stored usage: --from <date> --to <date> [--step 1m]; prints what would have fired
  reprice        re-rate stored events with the current prices: --from <date> --to <date> [--dry-run]
  spool replay-dead
                 store again what was set aside in <data>/spool/dead (stop start first on embedded ClickHouse);
                 events already stored are skipped, what the store still cannot parse stays there

Flags:
  --config <file>          config file (default ./tollkeeper.yaml when present; env TOLLKEEPER_CONFIG)
  --data <dir>             data directory: embedded ClickHouse, tokens, spool (default ./data; env TOLLKEEPER_DATA)
  --clickhouse-url <url>   use a ClickHouse server instead of embedded chdb (env TOLLKEEPER_CLICKHOUSE_URL)
  --host <addr>            bind address (default 127.0.0.1; use 0.0.0.0 in containers)
  --otlp-port <n>          OTLP/HTTP port (default 4318)
  --api-port <n>           API port (default 8080)
  --from, --to <date>      reprice: range of event times (ISO date or date-time; --to at least 5 min ago)
  --step <duration>        replay: detector tick to simulate (default 1m)
  --dry-run                reprice: report what would change without writing
  -h, --help               this help
`;

function fail(message: string, code: number): never {
  process.stderr.write(`tollkeeper: ${message}\n`);
  process.exit(code);
}

function port(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`--${name} must be a port number (0-65535), got ${JSON.stringify(v)}`, 2);
  return n;
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        data: { type: 'string' },
        'clickhouse-url': { type: 'string' },
        host: { type: 'string' },
        'otlp-port': { type: 'string' },
        'api-port': { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'dry-run': { type: 'boolean' },
        step: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return;
  }
  const flags: Flags = {
    ...(values.config !== undefined ? { config: values.config } : {}),
    ...(values.data !== undefined ? { data: values.data } : {}),
    ...(values['clickhouse-url'] !== undefined ? { clickhouseUrl: values['clickhouse-url'] } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values['otlp-port'] !== undefined ? { otlpPort: port('otlp-port', values['otlp-port']) } : {}),
    ...(values['api-port'] !== undefined ? { apiPort: port('api-port', values['api-port']) } : {}),
  };
  const loaded = readConfig(flags);
  if (!loaded.ok) fail(`invalid configuration:\n  ${loaded.errors.join('\n  ')}`, 2);
  const config = loaded.config;

  switch (command) {
    case 'check-config':
      process.stdout.write(`${config.source}: ok (${config.policies.length} policies)\n`);
      return;
    case 'migrate': {
      const applied = await withStore(config, (store) => migrate(store));
      process.stdout.write(applied.length ? `applied migrations ${applied.join(', ')}\n` : 'database is up to date\n');
      return;
    }
    case 'replay': {
      const from = Date.parse(values.from ?? '');
      const to = Date.parse(values.to ?? '');
      if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) fail('replay needs --from and --to as ISO dates or date-times, with --from before --to', 2);
      const step = parseDuration(values.step ?? '1m');
      if (!step.ok || step.ms < 1000) fail(`--step: ${step.ok ? 'must be at least 1s' : step.error}`, 2);
      if ((to - from) / step.ms > 100_000) fail('replay would take more than 100000 ticks: use a larger --step or a shorter range', 2);
      const rows = await withStore(config, async (store) => {
        await migrate(store);
        return replay({
          quotaRepo: createQuotaRepo(store),
          anomalyRepo: createAnomalyRepo(store),
          policies: config.policies,
          anomaly: config.anomaly.enabled ? anomalyConfig(config) : null,
          actions: { warning: config.anomaly.actions.warning.type, critical: config.anomaly.actions.critical.type },
          from,
          to,
          stepMs: step.ms,
          progress: (done, total) => {
            if (done % 10 === 0 || done === total) process.stderr.write(`\rreplaying tick ${done}/${total}`);
          },
        });
      });
      process.stderr.write('\n');
      process.stdout.write(rows.length ? formatReplay(rows) : 'nothing would have fired\n');
      process.stdout.write(`${rows.length} findings between ${new Date(from).toISOString()} and ${new Date(to).toISOString()} (nothing was acted on)\n`);
      return;
    }
    case 'reprice': {
      const from = Date.parse(values.from ?? '');
      const to = Date.parse(values.to ?? '');
      if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) fail('reprice needs --from and --to as ISO dates or date-times, with --from before --to', 2);
      if (to > Date.now() - REPRICE_SETTLE_MS) fail('--to must be at least 5 minutes in the past: later minutes may still receive spans', 2);
      const dryRun = values['dry-run'] ?? false;
      const report = await withStore(config, async (store) => {
        await migrate(store);
        return repriceRange(store, createPricer(config.pricing), { from, to }, {
          dryRun,
          progress: (scanned, changed) => process.stderr.write(`\rscanned ${scanned} events, ${changed} to re-rate`),
        });
      }, 'a running server re-rates through POST /api/usage/reprice');
      process.stderr.write('\n');
      const sources = Object.entries(report.bySource).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
      process.stdout.write(
        `${dryRun ? 'would re-rate' : 're-rated'} ${report.changed} of ${report.scanned} events between ${new Date(from).toISOString()} and ${new Date(to).toISOString()}\n` +
          `  cost before: $${report.costBefore.toFixed(4)}  after: $${report.costAfter.toFixed(4)}\n  new cost sources: ${sources}\n`,
      );
      return;
    }
    case 'spool': {
      if (positionals[1] !== 'replay-dead') fail(`unknown spool command ${JSON.stringify(positionals[1] ?? '')}; try: tollkeeper spool replay-dead`, 2);
      const spoolDir = join(config.dataDir, 'spool');
      const report = await withStore(config, async (store) => {
        await migrate(store);
        return replayDead({ spoolDir, repo: createUsageRepo(store) });
      }, 'stop it first: the dead letters are replayed with the data directory to this command alone');
      process.stdout.write(
        `replayed ${report.replayed} events from ${report.files} files in ${join(spoolDir, 'dead')} (${report.alreadyStored} already stored, skipped)\n` +
          (report.kept > 0 ? `kept ${report.kept} records the store still cannot use in ${join(spoolDir, 'dead')}\n` : 'nothing kept: the dead letters are empty\n'),
      );
      return;
    }
    case 'start':
    case 'collector':
    case 'detector':
      await serve(command === 'start' ? 'all' : command, config);
      return;
    default:
      fail(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`, 2);
  }
}

/** Opens the configured store for a one-off command; embedded chdb needs the data directory to itself. */
async function withStore<T>(config: Parameters<typeof buildTollkeeper>[0], fn: (store: ClickHouse) => Promise<T>, busyHint?: string): Promise<T> {
  let release = () => {};
  if (!config.store.clickhouse) {
    try {
      release = await lockDataDir(config.dataDir);
    } catch (err) {
      if (err instanceof DataDirInUseError) fail(`${err.message}${busyHint ? ` (${busyHint})` : ''}`, 1);
      throw err;
    }
  }
  const store = config.store.clickhouse
    ? await openClickHouse({ kind: 'server', ...config.store.clickhouse })
    : await openClickHouse({ kind: 'chdb', path: join(config.dataDir, 'clickhouse'), database: 'tollkeeper' });
  try {
    return await fn(store);
  } finally {
    await store.close();
    release();
  }
}

async function serve(role: Role, config: Parameters<typeof buildTollkeeper>[0]): Promise<void> {
  const logger = createLogger();
  let app;
  try {
    app = await buildTollkeeper(config, { role, logger });
  } catch (err) {
    if (err instanceof DataDirInUseError) fail(err.message, 1);
    throw err;
  }
  let urls;
  try {
    urls = await app.listen();
  } catch (err) {
    await app.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') fail(`cannot listen: address in use (${e.message}); choose another --otlp-port / --api-port`, 1);
    throw err;
  }
  const store = config.store.clickhouse ? `ClickHouse server ${config.store.clickhouse.url}` : `embedded ClickHouse (chdb) in ${join(config.dataDir, 'clickhouse')}`;
  const lines = [`tollkeeper ${role === 'all' ? 'started' : role + ' started'} — store: ${store}; config: ${config.source}`];
  if (urls.otlpUrl) lines.push(`  OTLP/HTTP traces:  ${urls.otlpUrl}/v1/traces`);
  if (urls.apiUrl) {
    lines.push(`  API:               ${urls.apiUrl}/api/`);
    lines.push(`  revocation list:   ${urls.apiUrl}/v1/revocations`);
  }
  lines.push(`  admin + gateway tokens: ${app.tokens.path}`);
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: flushing batches');
    const force = setTimeout(() => fail('shutdown took longer than 30 s; exiting', 1), 30_000);
    force.unref();
    app.close().then(
      () => {
        process.stdout.write('tollkeeper stopped\n');
        process.exit(0);
      },
      (err: unknown) => fail(`error during shutdown: ${String(err)}`, 1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1);
});
