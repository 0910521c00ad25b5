// What the CLI says about itself: the overview (`tollkeeper --help`), one page per command (`tollkeeper <command>
// --help`), and which flags each command takes, so a flag that a command would silently ignore is refused instead.

export const USAGE = `tollkeeper — quota management and denial-of-wallet defense for AI platforms

Usage: tollkeeper <command> [flags]      (tollkeeper <command> --help: that command's flags)

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
  --from, --to <date>      replay, reprice: range of event times (ISO date or date-time; reprice: --to at least 5 min ago)
  --step <duration>        replay: detector tick to simulate (default 1m)
  --dry-run                reprice: report what would change without writing
  -h, --help               this help

Flags beat TOLLKEEPER_* environment variables, which beat the config file (docs/configuration.md).
`;

const FLAG_HELP: Record<string, string> = {
  config: '--config <file>          config file (default ./tollkeeper.yaml when present; env TOLLKEEPER_CONFIG)',
  data: '--data <dir>             data directory: embedded ClickHouse, tokens, spool (default ./data; env TOLLKEEPER_DATA)',
  'clickhouse-url': '--clickhouse-url <url>   use a ClickHouse server instead of embedded chdb (env TOLLKEEPER_CLICKHOUSE_URL)',
  host: '--host <addr>            bind address (default 127.0.0.1; use 0.0.0.0 in containers)',
  'otlp-port': '--otlp-port <n>          OTLP/HTTP port (default 4318)',
  'api-port': '--api-port <n>           API port (default 8080)',
  'gateway-port': '--gateway-port <n>       gateway listener port: /v1/authorize and /v1/revocations (default 4320)',
  'insecure-ingest': '--insecure-ingest        accept usage without a token on an address other than loopback (docs/threat-model.md)',
  from: '--from <date>            start of the range of event times (ISO date or date-time)',
  to: '--to <date>              end of the range of event times',
  step: '--step <duration>        detector tick to simulate (default 1m)',
  'dry-run': '--dry-run                report what would change without writing',
  fast: '--fast                   the short timeline: the attack after 3 s instead of 10 s',
  url: '--url <api url>          drive a tollkeeper that is already running instead of starting one',
  'otlp-url': '--otlp-url <url>         with --url: its OTLP/HTTP base URL (default: the --url host on port 4318)',
  'admin-token': '--admin-token <token>    with --url: its admin token (env TOLLKEEPER_ADMIN_TOKEN)',
  'gateway-token': '--gateway-token <token>  with --url: its gateway token (env TOLLKEEPER_GATEWAY_TOKEN)',
  'otlp-token': '--otlp-token <token>     with --url: an ingest token, when its ingest auth is on',
};

const SERVE = ['config', 'data', 'clickhouse-url', 'host', 'otlp-port', 'api-port', 'gateway-port', 'insecure-ingest'];
const STORE = ['config', 'data', 'clickhouse-url'];

interface CommandHelp {
  usage: string;
  about: string;
  flags: string[];
}

const COMMANDS: Record<string, CommandHelp> = {
  start: { usage: 'start [flags]', about: 'Runs collector, detector, API and gateway listener in one process (with the gateway listener worker in a child process), on embedded ClickHouse unless --clickhouse-url is given. Ctrl-C, SIGTERM or SIGHUP stop it gracefully.', flags: SERVE },
  collector: { usage: 'collector [flags]', about: 'Runs only the OTLP collector (stateless: run N of them against one ClickHouse server).', flags: SERVE },
  detector: { usage: 'detector [flags]', about: 'Runs only the detector with the API, enforcement, alerts and the gateway listener (one active instance).', flags: SERVE },
  migrate: { usage: 'migrate [flags]', about: 'Applies the database migrations and exits.', flags: STORE },
  'check-config': { usage: 'check-config [flags]', about: 'Validates the configuration (file, environment and flags together) and exits: 0 when valid, 2 with one line per problem otherwise.', flags: SERVE },
  replay: { usage: 'replay --from <date> --to <date> [--step 1m] [flags]', about: 'Runs quotas and detection over stored usage and prints what would have fired, been enforced and lifted; acts on nothing.', flags: [...STORE, 'from', 'to', 'step'] },
  reprice: { usage: 'reprice --from <date> --to <date> [--dry-run] [flags]', about: 'Re-rates stored events with the current prices (--to at least 5 minutes ago). On embedded ClickHouse stop start first, or use POST /api/usage/reprice.', flags: [...STORE, 'from', 'to', 'dry-run'] },
  demo: { usage: 'demo [--fast] [--data <dir>] | demo --url <api url> --admin-token <t> --gateway-token <t> [--otlp-url <url>]', about: 'Starts tollkeeper on a temporary directory, drives a small fleet through the OpenTelemetry SDK, leaks one key, prints the detection, the revocation and the alert, and ends by itself (exit code 0 when the key was revoked).', flags: ['data', 'fast', 'url', 'otlp-url', 'admin-token', 'gateway-token', 'otlp-token'] },
  spool: { usage: 'spool replay-dead [flags]', about: 'Stores again what was set aside in <data>/spool/dead; events already stored are skipped. On embedded ClickHouse stop start first.', flags: STORE },
};

/** Every flag name any command takes (without dashes), for "did you mean" on a mistyped one. */
export const FLAG_NAMES = [...Object.keys(FLAG_HELP), 'help'];

/** Every command name, for "did you mean" on a mistyped one. */
export const COMMAND_NAMES = Object.keys(COMMANDS);

/** One command's help page, or undefined for a command that does not exist. */
export function commandUsage(command: string): string | undefined {
  const c = COMMANDS[command];
  if (!c) return undefined;
  const flags = [...c.flags.map((f) => FLAG_HELP[f]!), '-h, --help               this help'];
  return `Usage: tollkeeper ${c.usage}\n\n${c.about}\n\nFlags:\n${flags.map((l) => `  ${l}`).join('\n')}\n`;
}

/** The flags given that the command does not take (names without dashes); empty for an unknown command. */
export function flagsNotTaken(command: string, given: string[]): string[] {
  const c = COMMANDS[command];
  if (!c) return [];
  return given.filter((f) => f !== 'help' && !c.flags.includes(f));
}
