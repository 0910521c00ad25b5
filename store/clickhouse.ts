import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { wellFormedDeep } from '../core/well-formed.ts';
import { classifyStoreError } from './errors.ts';
import { StoreError, type ClickHouse, type QueryOptions, type QueryParams } from './port.ts';

export type StoreTarget =
  /** `rawInsert: false` sends encoded rows the way a server gets them (tests use it to cover that path). */
  | { kind: 'chdb'; path: string; database: string; rawInsert?: boolean }
  | { kind: 'server'; url: string; database: string; username: string; password: string };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

// Same JSON shape from both engines: 64-bit integers as numbers, not quoted strings.
const SETTINGS = { output_format_json_quote_64bit_integers: 0, date_time_input_format: 'best_effort' } as const;

/** Opens the store: a ClickHouse server over HTTP, or embedded chdb through its client-compatible connection. */
export async function openClickHouse(target: StoreTarget): Promise<ClickHouse> {
  if (!IDENTIFIER.test(target.database)) {
    throw new StoreError(`invalid database name ${JSON.stringify(target.database)}: use letters, digits and _`, 'refused');
  }
  let client: ClickHouseClient;
  let rawInsert: RawInsert | undefined;
  if (target.kind === 'chdb') {
    const { createChdbConnection } = await import('chdb/connection');
    const { Session } = await import('chdb');
    // Sessions on one path share one embedded server, configured by the first: a short-lived session opens it with
    // ENGINE_ARGS, the connection joins it, and the server stays while the connection lives (when a server is already
    // open at this path in the process, it keeps its settings).
    const boot = new Session(target.path, { connectionArgs: ENGINE_ARGS });
    let connection: ReturnType<typeof createChdbConnection>;
    try {
      connection = createChdbConnection({ path: target.path });
    } finally {
      boot.close();
    }
    if (target.rawInsert !== false) rawInsert = (params) => connection.chdb.rawInsert(params);
    // chdb's connection implements @clickhouse/client's connection interface but is typed against client-common's
    // copy of it: the same shape under another type name.
    type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];
    client = createClient({ connection: connection as unknown as ClientConnection });
  } else {
    const { url, username, password } = credentialsFromUrl(target);
    client = createClient({
      url,
      username,
      password,
      request_timeout: 30_000,
      compression: { request: false, response: true },
      // Query parameters go in the URL, which a server caps at 1 MiB (http_max_uri_size): the detector's reads over
      // thousands of entities with ids of up to 256 characters pass that. Past 4 KiB the client sends them as a
      // multipart form in the body instead (query() only; no command or insert of ours carries large parameters).
      use_multipart_params_auto: true,
      // Every failed request reaches our code as a thrown, classified error and is logged there (pino, one line);
      // the client's own multi-line console log of the same failure would only bury it.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }
  const store = wrapClient(client, target.kind, target.database, rawInsert);
  try {
    await store.command(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(target.database)}`);
  } catch (err) {
    await client.close().catch(() => {});
    // The first request says whether the server is there at all: name it, so "connect ECONNREFUSED" says where.
    if (target.kind === 'server' && err instanceof StoreError) {
      throw new StoreError(`ClickHouse server ${printableUrl(target.url)}: ${err.message}`, err.kind, { cause: err, ...(err.code !== undefined ? { code: err.code } : {}) });
    }
    throw err;
  }
  return store;
}

/**
 * Credentials in the URL (`http://user:pass@host:8123`, as docker-compose.yml sets it) win over the configured ones,
 * as the client would decide itself; taken out here so the client does not warn about the override on every start.
 */
function credentialsFromUrl(target: { url: string; username: string; password: string }): { url: string; username: string; password: string } {
  let u: URL;
  try {
    u = new URL(target.url);
  } catch {
    return target; // the client reports the invalid URL itself
  }
  if (!u.username && !u.password) return target;
  const username = u.username ? decodeURIComponent(u.username) : target.username;
  const password = u.password ? decodeURIComponent(u.password) : target.password;
  u.username = '';
  u.password = '';
  return { url: u.toString(), username, password };
}

/** A server URL as it may appear in a message: without the user name and password it may hold. */
export function printableUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

function quoteIdent(name: string): string {
  return '`' + name + '`';
}

/**
 * The embedded server's caches, which default to a server's sizes (marks 5 GiB, compiled expressions 128 MiB, query
 * conditions 100 MiB): in a process that shares its memory with the collector and keeps under
 * `ingest.memory_limit_mib`, a cache that grows with the data would hold memory the limiter then refuses ingest
 * for. Our tables' marks and primary keys are a few MB even at tens of millions of rows, so these bounds cost no reads.
 */
export const ENGINE_ARGS = [
  '--mark_cache_size=67108864',
  '--index_mark_cache_size=33554432',
  '--primary_index_cache_size=67108864',
  '--compiled_expression_cache_size=33554432',
  '--query_condition_cache_size=33554432',
];

/** chdb's zero-copy insert of an encoded payload (`connection.chdb.rawInsert`, i.e. `Session.insert`). */
type RawInsert = (params: { table: string; values: Buffer; format: 'JSONCompactEachRow'; columns: readonly string[]; settings: Record<string, string | number> }) => Promise<unknown>;

/**
 * Embedded inserts parse on one thread: the engine shares two cores with the collector, and our batches are a few
 * MB, below the size where splitting the parse pays for itself (measured: BENCHMARKS.md "Where the time goes").
 */
const EMBEDDED_INSERT_SETTINGS = { input_format_parallel_parsing: 0 } as const;

function wrapClient(client: ClickHouseClient, kind: 'chdb' | 'server', database: string, rawInsert?: RawInsert): ClickHouse {
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
          // One row holding a lone surrogate would make ClickHouse refuse the whole insert, for good.
          values: wellFormedDeep(rows),
          format: 'JSONEachRow',
          clickhouse_settings: settings(options),
        }),
      );
    },
    async insertEncoded(table: string, columns: readonly string[], body: Buffer, options?: QueryOptions): Promise<void> {
      if (body.length === 0) return;
      const qualified = `${quoteIdent(database)}.${quoteIdent(table)}`;
      await guard(() =>
        rawInsert
          ? // chdb whitelists bare identifiers here; the database name was checked against IDENTIFIER on open.
            rawInsert({ table: `${database}.${table}`, values: body, format: 'JSONCompactEachRow', columns, settings: { ...settings(options), ...EMBEDDED_INSERT_SETTINGS } })
          : // client.insert wants JSON rows as objects; exec sends our bytes as the body of the INSERT as they are.
            client
              .exec({
                query: `INSERT INTO ${qualified} (${columns.map(quoteIdent).join(', ')}) FORMAT JSONCompactEachRow`,
                values: Readable.from([body], { objectMode: false }),
                clickhouse_settings: settings(options),
              })
              .then((r) => void r.stream.resume()),
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
    throw classifyStoreError(err);
  }
}
