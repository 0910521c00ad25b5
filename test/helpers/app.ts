import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTollkeeper, type Role, type Tollkeeper } from '../../app/build.ts';
import { createLogger } from '../../app/logger.ts';
import type { Logger } from 'pino';
import { loadConfig } from '../../core/config/load.ts';

export interface TestApp {
  app: Tollkeeper;
  otlpUrl: string;
  apiUrl: string;
  /** The gateway listener (worker thread): /v1/authorize and /v1/revocations; '' when `gateway.listener: off`. */
  gatewayUrl: string;
  adminToken: string;
  gatewayToken: string;
  dataDir: string;
  database: string;
  /** Closes the app; keeps the data directory for a restart unless `cleanup`. */
  close(opts?: { cleanup?: boolean }): Promise<void>;
}

/** A ClickHouse server for the suite, when TOLLKEEPER_TEST_CLICKHOUSE_URL is set; else embedded chdb. */
export const serverUrl = process.env.TOLLKEEPER_TEST_CLICKHOUSE_URL;

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'tollkeeper-test-'));
}

/** Starts the real app on 127.0.0.1 random ports against a fresh store (a new chdb directory or server database). */
export async function startApp(opts: { yaml?: string; dataDir?: string; database?: string; role?: Role; startLoop?: boolean; now?: () => number; apiPort?: number; gatewayPort?: number; logger?: Logger } = {}): Promise<TestApp> {
  const dataDir = opts.dataDir ?? tempDataDir();
  const database = opts.database ?? `tk_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const loaded = loadConfig({
    source: 'test.yaml',
    ...(opts.yaml !== undefined ? { fileText: opts.yaml } : {}),
    env: {},
    flags: { data: dataDir, otlpPort: 0, apiPort: opts.apiPort ?? 0, gatewayPort: opts.gatewayPort ?? 0, host: '127.0.0.1', ...(serverUrl ? { clickhouseUrl: serverUrl } : {}) },
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  // A test process hosts vitest and often several apps: its resident memory says nothing about one app's, so the
  // memory limiter is off unless the test sets it.
  if (!/memory_limit_mib/.test(opts.yaml ?? '')) loaded.config.ingest.memory_limit_mib = 0;
  // Lowering the priority of every other thread would lower vitest's own, and a second app in the same process would
  // lower them again from there (its worker inherits the lowered main thread): off unless the test sets it.
  if (!/background_nice/.test(opts.yaml ?? '')) loaded.config.gateway.background_nice = 0;
  const app = await buildTollkeeper(loaded.config, {
    logger: opts.logger ?? createLogger(process.env.TOLLKEEPER_TEST_LOG ?? 'silent'),
    ...(opts.role ? { role: opts.role } : {}),
    ...(serverUrl ? { database } : {}),
    ...(opts.startLoop !== undefined ? { startLoop: opts.startLoop } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const urls = await app.listen();
  return {
    app,
    otlpUrl: urls.otlpUrl ?? '',
    apiUrl: urls.apiUrl ?? '',
    gatewayUrl: urls.gatewayUrl ?? '',
    adminToken: app.tokens.admin,
    gatewayToken: app.tokens.gateway,
    dataDir,
    database,
    async close(c) {
      await app.close();
      if (c?.cleanup) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
