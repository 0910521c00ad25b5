// A ClickHouse HTTP interface over chdb, for tests of the server store path on a machine without a ClickHouse server:
// the real engine (chdb, ClickHouse 26.7) behind the subset of the HTTP protocol that @clickhouse/client speaks.
// Not a substitute for a run against a real server (test/README.md says what differs).
//
//   node --import tsx test/helpers/clickhouse-http.ts [--data <dir>] [--port 8123] [--host 127.0.0.1] [--user default] [--password <p>]
//   TOLLKEEPER_TEST_CLICKHOUSE_URL=<printed url> npx vitest run test/integration/store.test.ts
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { createEngine, type EngineError, type EngineRequest } from './clickhouse-http-engine.ts';

export interface ClickHouseHttp {
  url: string;
  port: number;
  /** Requests that reached the engine (pings excluded). */
  requests(): number;
  /** The store goes away: the listener closes and every open connection is cut (clients see ECONNREFUSED/RESET). */
  down(): Promise<void>;
  /** The store comes back on the same port with the same data. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** A server's `http_max_uri_size` (1 MiB by default). */
const MAX_URI = 1024 * 1024;
// Parameters of the HTTP layer itself, not engine settings (a server reads them and does not pass them on).
const HTTP_PARAMS = new Set(['query', 'database', 'query_id', 'default_format', 'user', 'password', 'quota_key', 'compress', 'decompress', 'buffer_size', 'wait_end_of_query', 'enable_http_compression', 'http_zlib_compression_level', 'send_progress_in_http_headers', 'http_headers_progress_interval_ms', 'http_response_buffer_size', 'http_native_compression_disable_checksumming_on_decompress']);
const READ_ONLY = /^\s*(SELECT|WITH|SHOW|DESC|DESCRIBE|EXISTS|EXPLAIN)\b/i;
// src/Server/HTTP/exceptionCodeToHTTPStatus.cpp, by exception name.
const STATUS: [number, RegExp][] = [
  [401, /^REQUIRED_PASSWORD$/],
  [403, /^(UNKNOWN_USER|WRONG_PASSWORD|AUTHENTICATION_FAILED|SET_NON_GRANTED_ROLE|ACCESS_DENIED)$/],
  [400, /^(BAD_ARGUMENTS|CANNOT_COMPILE_REGEXP|CANNOT_PARSE_\w+|DUPLICATE_COLUMN|ILLEGAL_COLUMN|UNKNOWN_ELEMENT_IN_AST|UNKNOWN_TYPE_OF_AST_NODE|THERE_IS_NO_COLUMN|TOO_DEEP_AST|TOO_BIG_AST|UNEXPECTED_AST_STRUCTURE|SYNTAX_ERROR|INCORRECT_DATA|TYPE_MISMATCH|VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE)$/],
  [404, /^UNKNOWN_(TABLE|FUNCTION|IDENTIFIER|TYPE|STORAGE|DATABASE|SETTING|DIRECTION_OF_SORTING|AGGREGATE_FUNCTION|FORMAT|DATABASE_ENGINE|TYPE_OF_QUERY|ROLE)$/],
  [413, /^QUERY_IS_TOO_LARGE$/],
  [501, /^NOT_IMPLEMENTED$/],
  [503, /^(SOCKET_TIMEOUT|CANNOT_OPEN_FILE|CANNOT_SCHEDULE_TASK)$/],
  [408, /^TIMEOUT_EXCEEDED$/],
];

/** Starts the shim on `host:port` (0: a free port) over the chdb data directory `path`, for one user (`default`). */
export async function startClickHouseHttp(o: { path?: string; port?: number; host?: string; user?: string; password?: string } = {}): Promise<ClickHouseHttp> {
  const engine = createEngine(o.path ?? mkdtempSync(join(tmpdir(), 'tk-ch-http-')));
  const host = o.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  let count = 0;
  let server: Server;

  const fail = (res: ServerResponse, e: EngineError): void => {
    const status = STATUS.find(([, re]) => re.test(e.name))?.[0] ?? 500;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Exception-Code': String(e.code), 'X-ClickHouse-Server-Display-Name': 'tollkeeper-shim' });
    res.end(`Code: ${e.code}. DB::Exception: ${e.message}. (${e.name}) (version ${engine.version} (official build))\n`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://shim');
    const q = url.searchParams;
    if (req.method === 'GET' && (url.pathname === '/ping' || (url.pathname === '/' && !q.has('query')))) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    if (url.pathname !== '/' || (req.method !== 'POST' && req.method !== 'GET')) {
      fail(res, { code: 1000, name: 'POCO_EXCEPTION', message: `There is no handle ${url.pathname} for ${req.method}` });
      return;
    }
    const denied = authenticate(req, q, o.user ?? 'default', o.password ?? '');
    if (denied) return fail(res, denied);
    let body: Buffer;
    try {
      body = decode(await readAll(req), req.headers['content-encoding']);
    } catch (err) {
      return fail(res, { code: 354, name: 'CANNOT_DECOMPRESS', message: `Cannot decompress the request body: ${(err as Error).message}` });
    }
    // The client's multipart form (large query parameters): its fields count as URL parameters, `query` included.
    const boundary = /^multipart\/form-data;.*boundary=([^;]+)/i.exec(String(req.headers['content-type'] ?? ''))?.[1];
    if (boundary) {
      for (const [k, v] of formFields(body.toString('utf8'), boundary)) q.set(k, v);
      body = Buffer.alloc(0);
    }
    if (q.has('session_id')) return fail(res, { code: 48, name: 'NOT_IMPLEMENTED', message: 'the tollkeeper test shim holds no HTTP sessions' });
    const inUrl = q.get('query');
    const sql = inUrl ?? body.toString('utf8');
    if (req.method === 'GET' && !READ_ONLY.test(sql)) return fail(res, { code: 164, name: 'READONLY', message: 'Cannot execute query in readonly mode' });
    const settings: Record<string, string> = {};
    const params: Record<string, string> = {};
    for (const [k, v] of q) {
      if (k.startsWith('param_')) params[k.slice(6)] = v;
      else if (!HTTP_PARAMS.has(k)) settings[k] = v;
    }
    const database = q.get('database');
    const format = q.get('default_format') ?? 'TabSeparated';
    const request: EngineRequest = { sql, settings, params, format, ...(inUrl !== null && body.length > 0 ? { data: body } : {}), ...(database ? { database } : {}) };
    count++;
    const out = await engine.run(request);
    if (!out.ok) return fail(res, out.error);
    const gzip = q.get('enable_http_compression') === '1' && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    res.writeHead(200, {
      'Content-Type': /^JSON/i.test(format) ? 'application/json; charset=UTF-8' : 'text/plain; charset=UTF-8',
      'X-ClickHouse-Query-Id': q.get('query_id') ?? randomUUID(),
      'X-ClickHouse-Format': format,
      'X-ClickHouse-Timezone': 'UTC',
      'X-ClickHouse-Server-Display-Name': 'tollkeeper-shim',
      'X-ClickHouse-Summary': JSON.stringify(out.summary),
      'Keep-Alive': 'timeout=10, max=10000',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    res.end(gzip ? gzipSync(out.body) : out.body);
  };

  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      // Node's header limit (16 KiB) would refuse URLs a server takes: allow the server's URI limit and some headers.
      server = createServer({ maxHeaderSize: MAX_URI + 64 * 1024 }, (req, res) => {
        // A server refuses a longer request line before any handler: 400, no body, connection closed.
        if ((req.url ?? '').length > MAX_URI) return void res.writeHead(400, { Connection: 'close' }).end();
        handle(req, res).catch((err: unknown) => fail(res, { code: 1001, name: 'STD_EXCEPTION', message: String(err) }));
      });
      server.keepAliveTimeout = 10_000;
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.once('error', reject);
      server.listen(port, host, () => resolve((server.address() as { port: number }).port));
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  const port = await listen(o.port ?? 0);
  return {
    url: `http://${host}:${port}`,
    port,
    requests: () => count,
    down: stop,
    up: async () => void (await listen(port)),
    async close() {
      if (server.listening) await stop();
      engine.close();
    },
  };
}

/** The one user with its password, by basic auth, X-ClickHouse-User/Key or user/password parameters. */
function authenticate(req: IncomingMessage, q: URLSearchParams, known: string, password: string): EngineError | undefined {
  let user = q.get('user') ?? req.headers['x-clickhouse-user'];
  let key = q.get('password') ?? req.headers['x-clickhouse-key'];
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    user = decoded.slice(0, colon < 0 ? undefined : colon);
    key = colon < 0 ? '' : decoded.slice(colon + 1);
  }
  const name = typeof user === 'string' && user !== '' ? user : 'default';
  if (name === known && (typeof key === 'string' ? key : '') === password) return undefined;
  return { code: 516, name: 'AUTHENTICATION_FAILED', message: `${name}: Authentication failed: password is incorrect, or there is no user with such name` };
}

/** The fields of a multipart/form-data body (no file parts: the client sends only named text fields). */
function formFields(body: string, boundary: string): [string, string][] {
  const fields: [string, string][] = [];
  for (const part of body.split(`--${boundary.replace(/^"|"$/g, '')}`)) {
    const head = part.indexOf('\r\n\r\n');
    const name = /name="([^"]+)"/.exec(part.slice(0, head))?.[1];
    if (head < 0 || !name) continue;
    fields.push([name, part.slice(head + 4).replace(/\r\n$/, '')]);
  }
  return fields;
}

function decode(body: Buffer, encoding: string | undefined): Buffer {
  if (!encoding || encoding === 'identity' || body.length === 0) return body;
  if (encoding === 'gzip') return gunzipSync(body);
  if (encoding === 'deflate') return inflateSync(body);
  if (encoding === 'br') return brotliDecompressSync(body);
  throw new Error(`unknown Content-Encoding ${encoding}`);
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// Run as a program: a shim for a whole test run (its URL goes into TOLLKEEPER_TEST_CLICKHOUSE_URL).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const data = arg('data');
  const port = arg('port');
  const host = arg('host');
  const user = arg('user');
  const password = arg('password');
  const shim = await startClickHouseHttp({ ...(data ? { path: data } : {}), port: port ? Number(port) : 8123, ...(host ? { host } : {}), ...(user ? { user } : {}), ...(password ? { password } : {}) });
  process.stdout.write(`ClickHouse HTTP shim (chdb) listening on ${shim.url}\n`);
  const quit = (): void => void shim.close().then(() => process.exit(0));
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
}
