import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { openClickHouse } from '../../store/clickhouse.ts';
import { migrate } from '../../store/migrate.ts';
import type { ClickHouse } from '../../store/port.ts';
import { createUsageRepo, type UsageRepo } from '../../store/usage-repo.ts';
import { serverUrl, tempDataDir } from './app.ts';

export interface TestStore {
  store: ClickHouse;
  repo: UsageRepo;
  close(): Promise<void>;
}

let dataDir: string | undefined;

/**
 * The data directory of this process's embedded ClickHouse. chdb allows one directory per process, so a test
 * that also needs the whole app passes this to startApp (and closes it without cleanup).
 */
export function sharedDataDir(): string {
  return (dataDir ??= tempDataDir());
}

/**
 * A migrated store in a fresh database: the ClickHouse server when TOLLKEEPER_TEST_CLICKHOUSE_URL is set,
 * else embedded chdb (one data directory per test process, as chdb allows, one database per call).
 * `rawInsert: false` makes chdb take encoded rows the way a server does (the client's exec path).
 */
export async function openTestStore(o: { rawInsert?: boolean } = {}): Promise<TestStore> {
  const database = `tk_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const store = serverUrl
    ? await openClickHouse({ kind: 'server', url: serverUrl, database, username: 'default', password: '' })
    : await openClickHouse({ kind: 'chdb', path: join(sharedDataDir(), 'clickhouse'), database, ...(o.rawInsert === false ? { rawInsert: false } : {}) });
  await migrate(store);
  return {
    store,
    repo: createUsageRepo(store),
    async close() {
      if (serverUrl) await store.command(`DROP DATABASE IF EXISTS \`${database}\``);
      await store.close();
    },
  };
}

/** Removes this process's data directory (call once, after every store and app of the file is closed). */
export function removeTestStores(): void {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
}

export interface UsageTotals {
  rows: number;
  distinctIds: number;
  inputTokens: number;
  costUsd: number;
}

/** What usage_events holds for one api key: rows (duplicates included), distinct ids and sums. */
export async function eventTotals(store: ClickHouse, apiKey: string): Promise<UsageTotals> {
  const rows = await store.query<{ rows: number; ids: number; tokens: number; cost: number }>(
    `SELECT count() AS rows, uniqExact(event_id) AS ids, sum(input_tokens) AS tokens, sum(cost_usd) AS cost FROM ${store.table('usage_events')} WHERE api_key = {k:String}`,
    { k: apiKey },
  );
  const r = rows[0];
  return { rows: r?.rows ?? 0, distinctIds: r?.ids ?? 0, inputTokens: r?.tokens ?? 0, costUsd: r?.cost ?? 0 };
}

/** What the per-minute rollup holds for one api key (what quotas read): a double insert shows up here. */
export async function rollupTotals(store: ClickHouse, apiKey: string): Promise<{ events: number; requests: number; inputTokens: number; costUsd: number }> {
  const rows = await store.query<{ events: number; requests: number; tokens: number; cost: number }>(
    `SELECT sum(events) AS events, sum(requests) AS requests, sum(input_tokens) AS tokens, sum(cost_usd) AS cost FROM ${store.table('usage_minute')} WHERE kind = 'api_key' AND entity = {k:String}`,
    { k: apiKey },
  );
  const r = rows[0];
  return { events: r?.events ?? 0, requests: r?.requests ?? 0, inputTokens: r?.tokens ?? 0, costUsd: r?.cost ?? 0 };
}

/**
 * One migrated store for a test file (opened before its tests, closed after them), plus cleanups that run after
 * each test, newest first. Call at the top level of the file.
 */
export function useTestStore(): { readonly ts: TestStore; cleanups: (() => Promise<void> | void)[] } {
  const ctx = { ts: undefined as unknown as TestStore, cleanups: [] as (() => Promise<void> | void)[] };
  beforeAll(async () => {
    ctx.ts = await openTestStore();
  });
  afterEach(async () => {
    for (const c of ctx.cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await ctx.ts.close();
    removeTestStores();
  });
  return ctx;
}
