/** Query parameters are typed in SQL as `{name:Type}` and sent separately, never spliced into the text. */
export type QueryParams = Record<string, unknown>;

export interface QueryOptions {
  /** Tag shown in system.query_log.log_comment, so slow queries can be traced to their caller. */
  tag?: string;
  /** Extra ClickHouse settings for this statement (e.g. mutations_sync). */
  settings?: Record<string, string | number>;
}

/**
 * The project's own port onto ClickHouse. Both the embedded engine (chdb) and a server sit behind it,
 * through the same @clickhouse/client code path, so nothing above the store knows which one runs.
 */
export interface ClickHouse {
  readonly kind: 'chdb' | 'server';
  /** Database that holds every tollkeeper table. */
  readonly database: string;
  /** Fully qualified, quoted table name: `db`.`name`. */
  table(name: string): string;
  query<T>(sql: string, params?: QueryParams, options?: QueryOptions): Promise<T[]>;
  command(sql: string, params?: QueryParams, options?: QueryOptions): Promise<void>;
  insert(table: string, rows: readonly object[], options?: QueryOptions): Promise<void>;
  /**
   * Inserts rows already encoded as JSONCompactEachRow (one JSON array a line, values in `columns` order): the
   * hot path of the collector, which skips building a row object per event and encoding it again.
   */
  insertEncoded(table: string, columns: readonly string[], body: Buffer, options?: QueryOptions): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * What a store failure means for the data that was being written:
 * - `unavailable`: the store cannot take it now (disk full, too many parts, timeout, memory, network); retry later.
 * - `malformed`: the engine cannot parse these rows; retrying the same rows fails the same way (poison).
 * - `refused`: the statement itself is wrong (our SQL, a missing table, no permission); not the rows' fault.
 */
export type StoreErrorKind = 'unavailable' | 'malformed' | 'refused';

/** A store failure, classified (see StoreErrorKind). `code` is ClickHouse's numeric error code when known. */
export class StoreError extends Error {
  readonly kind: StoreErrorKind;
  readonly code: number | undefined;

  /** `kind` may still be given as the older retriable flag: true → unavailable, false → refused. */
  constructor(message: string, kind: StoreErrorKind | boolean, options?: { cause?: unknown; code?: number }) {
    super(message, options);
    this.name = 'StoreError';
    this.kind = kind === true ? 'unavailable' : kind === false ? 'refused' : kind;
    this.code = options?.code;
  }

  /** Trying again later may cure it. */
  get retriable(): boolean {
    return this.kind === 'unavailable';
  }
}
