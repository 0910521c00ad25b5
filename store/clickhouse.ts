import { createClient, ClickHouseError, type ClickHouseClient } from '@clickhouse/client';
import { StoreError, type ClickHouse, type QueryOptions, type QueryParams } from './port.ts';

export type StoreTarget =
  | { kind: 'chdb'; path: string; database: string }
  | { kind: 'server'; url: string; database: string; username: string; password: string };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

// Same JSON shape from both engines: 64-bit integers as numbers, not quoted strings.
const SETTINGS = { output_format_json_quote_64bit_integers: 0, date_time_input_format: 'best_effort' } as const;

/** Opens the store: a ClickHouse server over HTTP, or embedded chdb through its client-compatible connection. */
export async function openClickHouse(target: StoreTarget): Promise<ClickHouse> {
  if (!IDENTIFIER.test(target.database)) {
    throw new StoreError(`invalid database name ${JSON.stringify(target.database)}: use letters, digits and _`, false);
  }
  let client: ClickHouseClient;
  if (target.kind === 'chdb') {
    const { createChdbConnection } = await import('chdb/connection');
    // chdb types its Connection against @clickhouse/client-common; the shape is the client's own (see FACTS.md).
    type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];
    client = createClient({ connection: createChdbConnection({ path: target.path }) as unknown as ClientConnection });
  } else {
    client = createClient({
      url: target.url,
      username: target.username,
      password: target.password,
      request_timeout: 30_000,
      compression: { request: false, response: true },
    });
  }
  const store = wrapClient(client, target.kind, target.database);
  await store.command(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(target.database)}`);
  return store;
}

function quoteIdent(name: string): string {
  return '`' + name + '`';
}

function wrapClient(client: ClickHouseClient, kind: 'chdb' | 'server', database: string): ClickHouse {
  const settings = (options?: QueryOptions) => ({ ...SETTINGS, ...(options?.tag ? { log_comment: options.tag } : {}), ...options?.settings });
  return {
    kind,
    database,
    table: (name) => `${quoteIdent(database)}.${quoteIdent(name)}`,
    async query<T>(sql: string, params?: QueryParams, options?: QueryOptions): Promise<T[]> {
      return guard(async () => {
        const rs = await client.query({
          query: sql,
          format: 'JSONEachRow',
          clickhouse_settings: settings(options),
          ...(params ? { query_params: params } : {}),
        });
        return rs.json<T>();
      });
    },
    async command(sql: string, params?: QueryParams, options?: QueryOptions): Promise<void> {
      await guard(() =>
        client.command({ query: sql, clickhouse_settings: settings(options), ...(params ? { query_params: params } : {}) }),
      );
    },
    async insert(table: string, rows: readonly object[], options?: QueryOptions): Promise<void> {
      if (rows.length === 0) return;
      await guard(() =>
        client.insert({
          table: `${quoteIdent(database)}.${quoteIdent(table)}`,
          values: rows,
          format: 'JSONEachRow',
          clickhouse_settings: settings(options),
        }),
      );
    },
    async ping(): Promise<boolean> {
      try {
        const r = await client.ping();
        return r.success;
      } catch {
        return false;
      }
    },
    async close(): Promise<void> {
      await client.close();
    },
  };
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classify(err);
  }
}

/** A ClickHouse error about our SQL is a bug; a transport failure or engine overload is retriable. */
const RETRIABLE_CODES = new Set(['159', '164', '202', '203', '209', '210', '241', '242', '252', '394']);

function classify(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  // chdb/connection brings its own copy of ClickHouseError, so `instanceof` alone misses embedded-engine errors.
  if (err instanceof Error && (err instanceof ClickHouseError || err.name === 'ClickHouseError' || err.constructor.name === 'ClickHouseError')) {
    const code: unknown = (err as Error & { code?: unknown }).code;
    if (typeof code === 'string') return new StoreError(err.message, RETRIABLE_CODES.has(code), { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StoreError(message, true, { cause: err });
}
