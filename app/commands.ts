import { join } from 'node:path';
import { replayDead, type ReplayReport } from '../collector/replay-dead.ts';
import type { Config } from '../core/config/load.ts';
import { InsecureIngestError } from './ingest-guard.ts';
import { UnsharedHashKeyError } from './tokens.ts';
import { createPricer } from '../core/pricing/pricer.ts';
import { openClickHouse, printableUrl } from '../store/clickhouse.ts';
import { DataDirInUseError, lockDataDir } from '../store/data-lock.ts';
import { migrate } from '../store/migrate.ts';
import { StoreError, type ClickHouse } from '../store/port.ts';
import { REPRICE_SETTLE_MS, repriceRange, type RepriceReport } from '../store/reprice.ts';
import { createUsageRepo } from '../store/usage-repo.ts';

// The one-off commands of the CLI (migrate, reprice, replay, spool replay-dead), composed here so bin/ only parses flags and prints.

/** A failure to show the user as one line, with the exit code to leave with (2: bad input, 1: cannot run). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

// UNKNOWN_DATABASE, UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, DATABASE_ACCESS_DENIED, ACCESS_DENIED, AUTHENTICATION_FAILED.
const STORE_ACCESS_CODES = new Set([81, 192, 193, 194, 291, 497, 516]);

/** The failures a user can fix (data directory in use, port taken) as a CommandError; anything else is a bug. */
export function commandError(err: unknown): CommandError | undefined {
  if (err instanceof CommandError) return err;
  if (err instanceof DataDirInUseError) return new CommandError(err.message, 1);
  if (err instanceof InsecureIngestError || err instanceof UnsharedHashKeyError) return new CommandError(err.message, 2);
  const e = err as NodeJS.ErrnoException;
  // A store that cannot be reached or refuses our credentials is the user's to fix; a statement it refuses is a bug.
  if (err instanceof StoreError && (err.kind === 'unavailable' || (err.code !== undefined && STORE_ACCESS_CODES.has(err.code)))) {
    return new CommandError(`cannot use the store: ${err.message} (is the server up, and are --clickhouse-url / TOLLKEEPER_CLICKHOUSE_URL and store.clickhouse right?)`, 1);
  }
  if (e?.code === 'EADDRINUSE') return new CommandError(`cannot listen: address in use (${e.message}); choose another --otlp-port / --api-port / --gateway-port`, 1);
  return undefined;
}

/** The configured store described for the start-up line (never with the credentials a URL may hold). */
export function describeStore(config: Config): string {
  return config.store.clickhouse ? `ClickHouse server ${printableUrl(config.store.clickhouse.url)}` : `embedded ClickHouse (chdb) in ${join(config.dataDir, 'clickhouse')}`;
}

/** Opens the configured store for a one-off command, migrated; embedded chdb needs the data directory to itself. */
export async function withStore<T>(config: Config, fn: (store: ClickHouse) => Promise<T>, busyHint?: string): Promise<T> {
  let release = () => {};
  if (!config.store.clickhouse) {
    try {
      release = await lockDataDir(config.dataDir);
    } catch (err) {
      if (err instanceof DataDirInUseError) throw new CommandError(`${err.message}${busyHint ? ` (${busyHint})` : ''}`, 1);
      throw err;
    }
  }
  try {
    const store = config.store.clickhouse
      ? await openClickHouse({ kind: 'server', ...config.store.clickhouse })
      : await openClickHouse({ kind: 'chdb', path: join(config.dataDir, 'clickhouse'), database: 'tollkeeper' });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  } finally {
    release();
  }
}

/** `tollkeeper migrate`: the migrations applied (none when the database is up to date). */
export function migrateStore(config: Config): Promise<number[]> {
  return withStore(config, (store) => migrate(store));
}

/** A `--from`/`--to` pair of ISO dates or date-times, from before to. */
export function parseRange(command: string, from: string | undefined, to: string | undefined): { from: number; to: number } {
  const f = Date.parse(from ?? '');
  const t = Date.parse(to ?? '');
  if (!Number.isFinite(f) || !Number.isFinite(t) || f >= t) throw new CommandError(`${command} needs --from and --to as ISO dates or date-times, with --from before --to`, 2);
  return { from: f, to: t };
}

/** `tollkeeper reprice`: re-rates stored events with the current prices (the same work as POST /api/usage/reprice). */
export async function repriceStored(
  config: Config,
  o: { from: number; to: number; dryRun: boolean; now: number; progress?: (scanned: number, changed: number) => void },
): Promise<RepriceReport> {
  if (o.to > o.now - REPRICE_SETTLE_MS) throw new CommandError('--to must be at least 5 minutes in the past: later minutes may still receive spans', 2);
  return withStore(
    config,
    async (store) => {
      await migrate(store);
      return repriceRange(store, createPricer(config.pricing), { from: o.from, to: o.to }, { dryRun: o.dryRun, ...(o.progress ? { progress: o.progress } : {}) });
    },
    'a running server re-rates through POST /api/usage/reprice',
  );
}

/** `tollkeeper spool replay-dead`: stores again what was set aside in <data>/spool/dead (docs/operations.md). */
export async function replayDeadLetters(config: Config): Promise<ReplayReport & { deadDir: string }> {
  const spoolDir = join(config.dataDir, 'spool');
  const report = await withStore(
    config,
    async (store) => {
      await migrate(store);
      return replayDead({ spoolDir, repo: createUsageRepo(store) });
    },
    'stop it first: the dead letters are replayed with the data directory to this command alone',
  );
  return { ...report, deadDir: join(spoolDir, 'dead') };
}
