#!/usr/bin/env -S npx tsx
import { parseArgs } from 'node:util';
import { buildTollkeeper, type Role } from '../app/build.ts';
import { commandError, describeStore, migrateStore, parseRange, replayDeadLetters, repriceStored } from '../app/commands.ts';
import { readConfig, type Config, type Flags } from '../app/config-file.ts';
import { runDemo } from '../app/demo.ts';
import { createLogger } from '../app/logger.ts';
import { formatReplay, replayStored } from '../app/replay.ts';

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
  demo           see it work in a minute: starts tollkeeper on a temporary directory (or --data to keep it), drives a
                 small fleet through the OpenTelemetry SDK, leaks one key, and prints the detection, the revocation
                 and the alert; ends by itself. --fast: the short timeline. --url <api url> (+ --admin-token,
                 --gateway-token, --otlp-url, --otlp-token) drives a running tollkeeper instead
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
  --insecure-ingest        let the collector accept usage without a token on an address other than loopback
                           (only when something in front of it authenticates senders; docs/threat-model.md)
  --gateway-port <n>       gateway listener port: /v1/authorize and /v1/revocations (default 4320)
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
        'insecure-ingest': { type: 'boolean' },
        'gateway-port': { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'dry-run': { type: 'boolean' },
        step: { type: 'string' },
        fast: { type: 'boolean' },
        url: { type: 'string' },
        'otlp-url': { type: 'string' },
        'admin-token': { type: 'string' },
        'gateway-token': { type: 'string' },
        'otlp-token': { type: 'string' },
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
    ...(values['insecure-ingest'] ? { insecureIngest: true } : {}),
    ...(values['gateway-port'] !== undefined ? { gatewayPort: port('gateway-port', values['gateway-port']) } : {}),
  };
  if (command === 'demo') {
    // The demo brings its own configuration (or uses a running instance): ./tollkeeper.yaml is not read.
    const env = process.env;
    const adminToken = values['admin-token'] ?? env.TOLLKEEPER_ADMIN_TOKEN;
    const gatewayToken = values['gateway-token'] ?? env.TOLLKEEPER_GATEWAY_TOKEN;
    process.exitCode = await runDemo({
      out: (line) => process.stdout.write(line + '\n'),
      fast: values.fast ?? false,
      ...(values.data !== undefined ? { data: values.data } : {}),
      ...(values.url !== undefined ? { url: values.url } : {}),
      ...(values['otlp-url'] !== undefined ? { otlpUrl: values['otlp-url'] } : {}),
      ...(adminToken ? { adminToken } : {}),
      ...(gatewayToken ? { gatewayToken } : {}),
      ...(values['otlp-token'] !== undefined ? { otlpToken: values['otlp-token'] } : {}),
    });
    // Embedded ClickHouse keeps native threads alive after close: the demo is over, leave.
    process.exit(process.exitCode);
  }
  const loaded = readConfig(flags);
  if (!loaded.ok) fail(`invalid configuration:\n  ${loaded.errors.join('\n  ')}`, 2);
  const config = loaded.config;

  switch (command) {
    case 'check-config':
      process.stdout.write(`${config.source}: ok (${config.policies.length} policies)\n`);
      return;
    case 'migrate': {
      const applied = await migrateStore(config);
      process.stdout.write(applied.length ? `applied migrations ${applied.join(', ')}\n` : 'database is up to date\n');
      return;
    }
    case 'replay': {
      const { from, to } = parseRange('replay', values.from, values.to);
      const result = await replayStored(config, {
        from,
        to,
        step: values.step ?? '1m',
        logger: createLogger('silent'),
        now: Date.now(),
        progress: (done, total) => {
          if (done % 10 === 0 || done === total) process.stderr.write(`\rreplaying tick ${done}/${total}`);
        },
      });
      const rows = result.rows;
      process.stderr.write('\n');
      process.stdout.write(rows.length ? formatReplay(rows) : 'nothing would have fired\n');
      process.stdout.write(`${rows.length} findings between ${new Date(from).toISOString()} and ${new Date(to).toISOString()} (nothing was acted on)\n`);
      return;
    }
    case 'reprice': {
      const { from, to } = parseRange('reprice', values.from, values.to);
      const dryRun = values['dry-run'] ?? false;
      const report = await repriceStored(config, {
        from,
        to,
        dryRun,
        now: Date.now(),
        progress: (scanned, changed) => process.stderr.write(`\rscanned ${scanned} events, ${changed} to re-rate`),
      });
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
      const report = await replayDeadLetters(config);
      process.stdout.write(
        `replayed ${report.replayed} events from ${report.files} files in ${report.deadDir} (${report.alreadyStored} already stored, skipped)\n` +
          (report.kept > 0 ? `kept ${report.kept} records the store still cannot use in ${report.deadDir}\n` : 'nothing kept: the dead letters are empty\n'),
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

async function serve(role: Role, config: Config): Promise<void> {
  const logger = createLogger();
  const app = await buildTollkeeper(config, { role, logger });
  let urls;
  try {
    urls = await app.listen();
  } catch (err) {
    await app.close();
    throw err;
  }
  const store = describeStore(config);
  const lines = [`tollkeeper ${role === 'all' ? 'started' : role + ' started'} — store: ${store}; config: ${config.source}`];
  if (urls.otlpUrl) lines.push(`  OTLP/HTTP traces:  ${urls.otlpUrl}/v1/traces`);
  if (urls.apiUrl) {
    lines.push(`  web UI:            ${urls.apiUrl}/   (sign in with the admin token)`);
    lines.push(`  API:               ${urls.apiUrl}/api/`);
    lines.push(`  revocation list:   ${urls.gatewayUrl ?? urls.apiUrl}/v1/revocations`);
  }
  if (urls.gatewayUrl) lines.push(`  forward-auth:      ${urls.gatewayUrl}/v1/authorize   (gateway listener)`);
  lines.push(`  admin + gateway tokens: ${app.tokens.path}`);
  if (urls.otlpUrl) lines.push(`  ingest auth:       ${app.ingestTokens.required() ? 'on (ingest tokens)' : 'off: no ingest token defined (docs/threat-model.md)'}`);
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
  // A hangup (the terminal closed, or a supervisor's stop) is a stop like SIGTERM, never an exit without flushing.
  // The configuration is not reloaded: restart to apply it (policies change live through /api/policies).
  process.on('SIGHUP', () => stop('SIGHUP'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Failures the user can act on are one line; anything else is a bug and shows its stack.
  const known = commandError(err);
  if (known) fail(known.message, known.exitCode);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1);
});
