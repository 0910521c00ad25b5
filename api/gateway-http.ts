import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { TollkeeperError } from '../core/errors.ts';
import { bearerOf, GATEWAY_TOKEN_HEADER, type Tokens } from './auth.ts';
import { JSON_TYPE, type AuthorizeAnswer } from './authorize-answer.ts';
import { answerClientError } from './client-error.ts';
import { tokenRoles } from './gateway-token.ts';
import type { RevocationAnswer, RevocationQuery } from './revocations-answer.ts';
import { SECURITY_HEADERS } from './security-header-values.ts';

export interface GatewayHttpOptions {
  tokens: Tokens;
  /** Forward-auth's answer to a request (its headers read from it as the listener needs them). */
  authorize: (req: IncomingMessage) => AuthorizeAnswer | Promise<AuthorizeAnswer>;
  revocations: (q: RevocationQuery, ifNoneMatch: string | undefined, onClose: (hangUp: () => void) => () => void) => Promise<RevocationAnswer>;
  /** Told the status of every `/v1/revocations` answer (for counting). */
  polled?: ((status: number) => void) | undefined;
  /** Whether the listener's decisions are current (`/readyz`): the list within `gateway.max_staleness`. */
  ready: () => { ok: true } | { ok: false; reason: string };
  /** An unexpected error while answering (answered 500 without details). */
  onError: (err: unknown) => void;
  limits: GatewayHttpLimits;
}

/** The API port's timeouts and connection cap (app/http-limits.ts), so slow or idle clients are cut off alike. */
export interface GatewayHttpLimits {
  requestTimeout: number;
  headersTimeout: number;
  keepAliveTimeout: number;
  /** A socket with no traffic either way closes after this. */
  connectionTimeout: number;
  connectionsCheckingInterval: number;
  maxConnections: number;
}

const AUTHORIZE_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

type Checked = { value?: RevocationQuery; error?: TollkeeperError };
let validator: Promise<(q: unknown) => Checked> | undefined;
/** The API port's own validator for the query (its schema and messages), loaded the first time a query needs it. */
function apiValidator(): Promise<(q: unknown) => Checked> {
  validator ??= Promise.all([import('./errors.ts'), import('./revocations.ts')]).then(
    ([e, r]) => e.typeboxValidatorCompiler({ schema: r.RevocationQuerySchema, httpPart: 'querystring', method: 'GET', url: '/v1/revocations' }) as (q: unknown) => Checked,
  );
  return validator;
}

const INTEGER = /^\d{1,15}$/;
const SECONDS = /^\d{1,2}(\.\d{1,6})?$/;
/**
 * `?since=<n>&wait=<s>` in their plain spelling, read here; anything else (unknown names, repeats, other
 * spellings, out of range) goes to the API port's validator, so both listeners accept and refuse the same queries
 * with the same messages.
 */
async function checkQuery(search: string | undefined): Promise<Checked> {
  if (search === undefined || search === '') return { value: {} };
  const q: RevocationQuery = {};
  let plain = true;
  for (const part of search.split('&')) {
    const eq = part.indexOf('=');
    const k = part.slice(0, eq), v = part.slice(eq + 1);
    if (eq > 0 && k === 'since' && q.since === undefined && INTEGER.test(v)) q.since = Number(v);
    else if (eq > 0 && k === 'wait' && q.wait === undefined && SECONDS.test(v) && Number(v) <= 60) q.wait = Number(v);
    else plain = false;
  }
  return plain ? { value: q } : (await apiValidator())(queryOf(search));
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer | undefined, head: boolean): void {
  if (body === undefined) {
    res.writeHead(status, { ...SECURITY_HEADERS, ...headers });
    res.end();
    return;
  }
  // One writeHead with every header (no setHeader per header: each of those validates and stores a copy).
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.length) });
  if (head) res.end();
  else res.end(body);
}

/** A forward-auth answer: its prebuilt header list when it has one (an allowed request: nothing built to send it). */
function sendAnswer(res: ServerResponse, a: AuthorizeAnswer, head: boolean): void {
  if (a.head === undefined) return send(res, a.status, a.headers, a.body, head);
  res.writeHead(a.status, a.head as string[]);
  if (head) res.end();
  else res.end(a.body);
}

/** An error answer in the API's shape: `{ error, message, errors }`. */
function sendError(res: ServerResponse, err: TollkeeperError, status: number, head: boolean): void {
  const headers: Record<string, string> = { 'content-type': JSON_TYPE };
  if (err.code === 'unauthorized') headers['www-authenticate'] = 'Bearer';
  send(res, status, headers, JSON.stringify({ error: err.code, message: err.message, errors: [...err.errors] }), head);
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Query parameters as the API port reads them: a repeated name gives an array. */
function queryOf(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

const UNAUTHORIZED = new TollkeeperError('unauthorized', 'missing or unknown bearer token');
const METRICS_ONLY = new TollkeeperError('forbidden', 'the metrics token cannot do this');

/**
 * The gateway listener's HTTP server: `/v1/authorize` (and `/v1/authorize/<anything>`), `GET /v1/revocations` and
 * `GET /healthz` and `GET /readyz` on a plain `node:http` server, no framework. It answers exactly what the API port's routes answer
 * (the same answer functions build the status, headers and bytes; the same schema checks the query; the same
 * token rules: gateway or admin token, `Authorization: Bearer` or `x-tollkeeper-gateway-token`).
 */
export function createGatewayServer(o: GatewayHttpOptions): Server {
  const roleOf = tokenRoles(o.tokens);
  /** Why the request may not call a gateway route (the API port's answers: 401 without a known token, 403 for the metrics token), or undefined. */
  const refusal = (req: IncomingMessage): TollkeeperError | undefined => {
    // node builds `req.headers` for every request anyway (it reads Host from it), so reading it costs a lookup.
    const token = one(req.headers[GATEWAY_TOKEN_HEADER]) || bearerOf(req.headers.authorization);
    const role = token === undefined ? null : roleOf(token);
    return role === null ? UNAUTHORIZED : role === 'metrics' ? METRICS_ONLY : undefined;
  };

  async function revocations(req: IncomingMessage, res: ServerResponse, search: string | undefined, head: boolean): Promise<void> {
    const checked = await checkQuery(search);
    if (checked.error) {
      o.polled?.(400);
      return sendError(res, checked.error, 400, head);
    }
    const a = await o.revocations(checked.value!, one(req.headers['if-none-match']), (hangUp) => {
      req.socket.once('close', hangUp);
      return () => req.socket.off('close', hangUp);
    });
    o.polled?.(a.status);
    return send(res, a.status, a.headers, a.body, head);
  }

  /** Answers synchronously where it can (forward-auth decided here): no promise, no closure per request. */
  function handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    if ((path === '/v1/authorize' || path.startsWith('/v1/authorize/')) && AUTHORIZE_METHODS.has(method)) {
      const refused = refusal(req);
      if (refused) return sendError(res, refused, refused === UNAUTHORIZED ? 401 : 403, head);
      const a = o.authorize(req);
      if (a instanceof Promise) return a.then((x) => sendAnswer(res, x, head));
      return sendAnswer(res, a, head);
    }
    if (path === '/v1/revocations' && (method === 'GET' || head)) {
      const refused = refusal(req);
      if (refused) {
        const status = refused === UNAUTHORIZED ? 401 : 403;
        o.polled?.(status);
        return sendError(res, refused, status, head);
      }
      return revocations(req, res, q < 0 ? undefined : url.slice(q + 1), head);
    }
    if (path === '/healthz' && (method === 'GET' || head)) return send(res, 200, { 'content-type': JSON_TYPE }, '{"status":"ok"}', head);
    if (path === '/readyz' && (method === 'GET' || head)) {
      const r = o.ready();
      if (r.ok) return send(res, 200, { 'content-type': JSON_TYPE }, '{"status":"ready"}', head);
      return send(res, 503, { 'content-type': JSON_TYPE }, JSON.stringify({ status: 'not ready', reason: r.reason }), head);
    }
    const message = `no route ${method} ${path}`;
    return sendError(res, new TollkeeperError('not_found', message), 404, head);
  }

  function failed(res: ServerResponse, err: unknown): void {
    o.onError(err);
    if (!res.headersSent) send(res, 500, { 'content-type': JSON_TYPE }, '{"error":"internal","message":"internal error; see the server log"}', false);
    else res.destroy();
  }

  const l = o.limits;
  const server = createServer({ requestTimeout: l.requestTimeout, headersTimeout: l.headersTimeout, connectionsCheckingInterval: l.connectionsCheckingInterval }, (req, res) => {
    let pending: Promise<void> | void;
    try {
      pending = handle(req, res);
    } catch (err) {
      return failed(res, err);
    }
    if (pending instanceof Promise) pending.catch((err: unknown) => failed(res, err));
  });
  server.on('clientError', answerClientError);
  server.keepAliveTimeout = l.keepAliveTimeout;
  server.timeout = l.connectionTimeout;
  server.maxConnections = l.maxConnections;
  return server;
}
