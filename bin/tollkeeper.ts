#!/usr/bin/env -S npx tsx
import { parseArgs } from 'node:util';
import type { Role } from '../app/build.ts';
import { didYouMean, readConfig, type Config, type Flags } from '../app/config-file.ts';
import { COMMAND_NAMES, commandUsage, FLAG_NAMES, flagsNotTaken, USAGE } from './usage.ts';

// The rest of the app (fastify, the ClickHouse client, the OpenTelemetry SDK of the demo) is loaded by the command
// that needs it, so --help, a mistyped flag and check-config answer at once.
const commands = () => import('../app/commands.ts');

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
    // node:util names the flag in its message only; the hint and the pointer to --help are ours.
    const flag = /'(--?[^'\s]+)'/.exec((err as Error).message)?.[1];
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
      const hint = didYouMean(flag.replace(/^-+/, '').split('=')[0]!, FLAG_NAMES);
      fail(`unknown flag ${flag}${hint ? ` (did you mean --${hint}?)` : ''}; tollkeeper --help lists the commands and their flags`, 2);
    }
    fail(`${(err as Error).message}; tollkeeper --help lists the commands and their flags`, 2);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (!command) {
    process.stdout.write(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const page = commandUsage(command);
  if (!page) {
    const hint = didYouMean(command, COMMAND_NAMES);
    fail(`unknown command ${JSON.stringify(command)}${hint ? ` (did you mean ${hint}?)` : ''}\n\n${USAGE}`, 2);
  }
  if (values.help) {
    process.stdout.write(page);
    return;
  }
  // A flag the command does not use would be ignored without a word (reprice --step, start --dry-run): refuse it.
  const ignored = flagsNotTaken(command, Object.keys(values));
  if (ignored.length > 0) fail(`${ignored.map((f) => `--${f}`).join(', ')}: not a flag of ${command}\n\n${page}`, 2);
  const extra = positionals.slice(command === 'spool' ? 2 : 1);
  if (extra.length > 0) fail(`unexpected argument ${JSON.stringify(extra[0])} after ${command}\n\n${page}`, 2);
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
    const { runDemo } = await import('../app/demo.ts');
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
  for (const w of loaded.warnings ?? []) process.stderr.write(`tollkeeper: warning: ${w}\n`);

  const { describeStore, migrateStore, parseRange, replayDeadLetters, repriceStored } = await commands();
  switch (command) {
    case 'check-config':
      // What the configuration resolves to after flags, environment and file: where data goes, where it listens.
      process.stdout.write(
        `${config.source}: ok (${config.policies.length} policies)\n  store:   ${describeStore(config)}\n` +
          `  listens: OTLP ${config.server.host}:${config.server.otlp_port}, API ${config.server.host}:${config.server.api_port}, gateway ${config.gateway.host ?? config.server.host}:${config.gateway.port}\n`,
      );
      return;
    case 'migrate': {
      const applied = await migrateStore(config);
      process.stdout.write(applied.length ? `applied migrations ${applied.join(', ')}\n` : 'database is up to date\n');
      return;
    }
    case 'replay': {
      const range = parseRange('replay', values.from, values.to);
      const { formatReplay, replayEnd, replayStored } = await import('../app/replay.ts');
      const { createLogger } = await import('../app/logger.ts');
      const now = Date.now();
      const end = replayEnd(range.from, range.to, now);
      if (!end.ok) fail(`replay: --from ${values.from}: ${end.error}`, 2);
      const { from } = range;
      const to = end.to;
      const result = await replayStored(config, {
        from,
        to,
        step: values.step ?? '1m',
        logger: createLogger('silent'),
        now,
        progress: (done, total) => {
          if (done % 10 === 0 || done === total) process.stderr.write(`\rreplaying tick ${done}/${total}`);
        },
      });
      const rows = result.rows;
      process.stderr.write('\n');
      process.stdout.write(rows.length ? formatReplay(rows) : 'nothing would have fired\n');
      process.stdout.write(`${rows.length} findings between ${new Date(from).toISOString()} and ${new Date(to).toISOString()} (nothing was acted on)\n`);
      if (end.note !== undefined) process.stdout.write(`note: --${end.note}\n`);
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
  const [{ buildTollkeeper }, { createLogger }, { describeStore }] = await Promise.all([import('../app/build.ts'), import('../app/logger.ts'), commands()]);
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

main(process.argv.slice(2)).catch(async (err: unknown) => {
  // Failures the user can act on are one line; anything else is a bug and shows its stack.
  const known = (await commands()).commandError(err);
  if (known) fail(known.message, known.exitCode);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1);
});
