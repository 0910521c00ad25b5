// The engine half of the ClickHouse HTTP shim (clickhouse-http.ts): runs one HTTP request's statement on chdb with
// the request's settings, query parameters and database, and says what a server would answer.
import { Session } from 'chdb';

/** One request as the HTTP layer parsed it: the statement, the insert data (if any) and the per-request state. */
export interface EngineRequest {
  /** The statement: the `query` URL parameter, or the body when there is none. */
  sql: string;
  /** Insert data: the body when the statement came in the URL. */
  data?: Buffer;
  settings: Record<string, string>;
  /** `param_<name>` values exactly as sent (ClickHouse's escaped text form, parsed by the placeholder's type). */
  params: Record<string, string>;
  database?: string;
  /** Output format when the statement names none (`default_format`, else TabSeparated). */
  format: string;
}

export interface EngineSummary {
  read_rows: string;
  read_bytes: string;
  written_rows: string;
  written_bytes: string;
  total_rows_to_read: string;
  result_rows: string;
  result_bytes: string;
  elapsed_ns: string;
}

export type EngineOutcome = { ok: true; body: Buffer; summary: EngineSummary } | { ok: false; error: EngineError };

/** A ClickHouse exception: its code, its name (`UNKNOWN_TABLE`) and its message. */
export interface EngineError {
  code: number;
  name: string;
  message: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
// The client sends `INSERT INTO db.table (columns) FORMAT F` in the URL and the rows as the body.
const INSERT = /^\s*INSERT\s+INTO\s+(`?)(\w+)\1(?:\.(`?)(\w+)\3)?\s*(?:\(([^)]*)\))?\s*FORMAT\s+(\w+)\s*;?\s*$/i;
const RAW_FORMATS = new Set(['JSONEachRow', 'JSONCompactEachRow', 'TSV', 'TabSeparated', 'TSVWithNames', 'TabSeparatedWithNames', 'CSV', 'CSVWithNames']);
const PLACEHOLDER = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:/g;

/** A ClickHouse SQL string literal holding `s` byte for byte. */
function literal(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * chdb on one data directory, taking one request at a time: settings set with SET are engine-wide in chdb (every
 * Session on a path shares them), so each request sets its own, runs, and puts them back before the next one starts.
 */
export function createEngine(path: string): { run(req: EngineRequest): Promise<EngineOutcome>; version: string; close(): void } {
  const session = new Session(path);
  const version = session.query('SELECT version()', 'TabSeparated').trim();
  let queue: Promise<unknown> = Promise.resolve();
  return {
    version,
    run(req) {
      const next = queue.then(() => runOne(session, req));
      queue = next.catch(() => {});
      return next;
    },
    close: () => session.close(),
  };
}

async function runOne(session: Session, req: EngineRequest): Promise<EngineOutcome> {
  const refusal = await precheck(session, req);
  if (refusal) return { ok: false, error: refusal };
  const names = Object.keys(req.settings);
  const start = process.hrtime.bigint();
  try {
    if (req.database !== undefined) await session.queryAsync(`USE \`${req.database}\``);
    // Placeholders read `param_*` settings: the request's values, byte for byte as the server gets them. A server
    // parses them by their type, not as SQL, so max_query_size does not apply to them; it does to this SET.
    const params = Object.entries(req.params);
    if (params.length > 0) {
      await session.queryAsync('SET max_query_size = 1073741824');
      await session.queryAsync(`SET ${params.map(([n, v]) => `param_${n} = ${literal(v)}`).join(', ')}`);
      await session.queryAsync('SET max_query_size = DEFAULT');
    }
    if (names.length > 0) await session.queryAsync(`SET ${names.map((n) => `${n} = ${literal(req.settings[n]!)}`).join(', ')}`);
    const insert = req.data && req.data.length > 0 ? INSERT.exec(req.sql) : null;
    if (insert && req.data && RAW_FORMATS.has(insert[6]!)) {
      const table = insert[4] ? `${insert[2]}.${insert[4]}` : insert[2]!;
      const columns = insert[5]?.split(',').map((c) => c.trim().replace(/^`(.*)`$/, '$1'));
      const r = await session.insert({ table, values: req.data, format: insert[6] as 'JSONEachRow', ...(columns ? { columns } : {}) });
      return { ok: true, body: Buffer.alloc(0), summary: summary({ written: r.rowsWritten, writtenBytes: r.bytesWritten, start }) };
    }
    const sql = req.data && req.data.length > 0 ? `${req.sql}\n${req.data.toString('utf8')}` : req.sql;
    const r = await session.queryAsync(sql, { format: req.format });
    const body = Buffer.from(r.bytes());
    return { ok: true, body, summary: summary({ read: r.rowsRead, readBytes: r.bytesRead, resultRows: countLines(body), resultBytes: body.length, start }) };
  } catch (err) {
    return { ok: false, error: engineError(err) };
  } finally {
    if (names.length > 0) await session.queryAsync(`SET ${names.map((n) => `${n} = DEFAULT`).join(', ')}`).catch(() => {});
    if (req.database !== undefined) await session.queryAsync('USE default').catch(() => {});
  }
}

/**
 * What a server refuses before it runs anything, and chdb would not: bad setting or parameter names, a placeholder
 * without its parameter (the engine would find an earlier request's value), several statements in one request.
 */
async function precheck(session: Session, req: EngineRequest): Promise<EngineError | undefined> {
  for (const n of Object.keys(req.settings)) if (!IDENT.test(n)) return { code: 115, name: 'UNKNOWN_SETTING', message: `Unknown setting '${n}'` };
  for (const n of Object.keys(req.params)) if (!IDENT.test(n)) return { code: 36, name: 'BAD_ARGUMENTS', message: `Bad query parameter name '${n}'` };
  if (req.database !== undefined && !IDENT.test(req.database)) return { code: 81, name: 'UNKNOWN_DATABASE', message: `Database ${req.database} does not exist` };
  for (const m of req.sql.matchAll(PLACEHOLDER)) {
    if (!(m[1]! in req.params)) return { code: 456, name: 'UNKNOWN_QUERY_PARAMETER', message: `Substitution \`${m[1]}\` is not set` };
  }
  if (/;\s*\S/.test(req.sql)) {
    try {
      await session.queryAsync(`SELECT formatQuery(${literal(req.sql)})`);
    } catch (err) {
      const e = engineError(err);
      if (/Multi-statements are not allowed/.test(e.message)) return { code: 62, name: 'SYNTAX_ERROR', message: 'Syntax error (Multi-statements are not allowed)' };
    }
  }
  return undefined;
}

function summary(o: { read?: number; readBytes?: number; written?: number; writtenBytes?: number; resultRows?: number; resultBytes?: number; start: bigint }): EngineSummary {
  return {
    read_rows: String(o.read ?? o.written ?? 0),
    read_bytes: String(o.readBytes ?? o.writtenBytes ?? 0),
    written_rows: String(o.written ?? 0),
    written_bytes: String(o.writtenBytes ?? 0),
    total_rows_to_read: '0',
    result_rows: String(o.resultRows ?? 0),
    result_bytes: String(o.resultBytes ?? 0),
    elapsed_ns: String(process.hrtime.bigint() - o.start),
  };
}

function countLines(body: Buffer): number {
  let n = 0;
  for (let i = body.indexOf(10); i !== -1; i = body.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * chdb's error as the server would state it: the innermost `DB::Exception` message (chdb wraps some in copies of
 * themselves), its code and name.
 */
export function engineError(err: unknown): EngineError {
  const text = err instanceof Error ? err.message : String(err);
  const native = (err as { clickhouseCode?: unknown }).clickhouseCode;
  const m = /(?:Code: (\d+)\.)?(?:.*DB::Exception: )?(.+?)\s*\(([A-Z0-9_]*[A-Z]{3}[A-Z0-9_]*)\)/s.exec(text);
  const code = typeof native === 'number' ? native : m?.[1] ? Number(m[1]) : 1001;
  if (!m) return { code, name: code === 1001 ? 'STD_EXCEPTION' : 'UNKNOWN', message: text };
  return { code, name: m[3]!, message: m[2]!.replace(/\.$/, '') };
}
