import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { TollkeeperError } from '../core/errors.ts';
import { notFound } from './errors.ts';
import { tokenRoles, type Role } from './gateway-token.ts';
import { tokenDigest } from '../core/ingest/token-hash.ts';
import type { IngestToken, IngestTokenSet, TokenLookup } from '../core/ingest/tokens.ts';

/**
 * Who may call a route, declared on every route as `config: { auth }`:
 * - `public`: anyone (health, the API description);
 * - `gateway`: the gateway token or the admin token (what gateways call: revocations, quota status, forward-auth),
 *   as `Authorization: Bearer <token>` or in `x-tollkeeper-gateway-token`;
 * - `admin`: the admin token only (everything that changes state, and operators' views);
 * - `otlp`: an ingest token (`auth.otlp_token`, the config file's `ingest.tokens`, or one created through the admin
 *   API) as `Authorization: Bearer <token>` or in `x-tollkeeper-ingest-token`, once any is defined; before that
 *   anyone (instrumentations send their own Authorization headers, which are ignored then).
 * - `metrics`: the metrics token or the admin token (what a Prometheus scraper calls: `/metrics`). The metrics token
 *   reads nothing else, and the gateway token cannot read metrics.
 * A route that declares nothing is `admin`.
 */
export type AuthLevel = 'public' | 'gateway' | 'admin' | 'otlp' | 'metrics';

export type { Role } from './gateway-token.ts';

export interface Tokens {
  admin: string;
  gateway?: string | undefined;
  /** Ingest tokens for OTLP routes (the OTLP listener only). */
  ingest?: IngestAuth | undefined;
  /** When set, it reads `/metrics` (and nothing else). */
  metrics?: string | undefined;
}

/** Why an OTLP request was refused: no token, a token nobody defined, or a revoked one (the counter label). */
export type IngestDenial = Extract<TokenLookup, { ok: false }>['reason'];

export interface IngestAuth {
  set: IngestTokenSet;
  /** Counts each refused request (the rate of 401s is how a guessing or a leaked-and-revoked token shows). */
  onDenied?: (reason: IngestDenial) => void;
}

/** The header an ingest token may come in when `Authorization` is taken (by a proxy or the instrumentation). */
export const INGEST_TOKEN_HEADER = 'x-tollkeeper-ingest-token';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthLevel;
  }
  interface FastifyRequest {
    /** The caller's role, set by the auth plugin before any parsing or validation (null: no known token). */
    role: Role | null;
    /** OTLP routes: the ingest token the request presented (null when ingest needs no token). */
    ingestToken: IngestToken | null;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  if (!header || header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token === '' ? undefined : token;
}

/** The header a gateway that cannot set `Authorization` (or needs it for the client's secret) sends its token in. */
export const GATEWAY_TOKEN_HEADER = 'x-tollkeeper-gateway-token';

/** The token a request presents: the gateway-token header first, else `Authorization: Bearer`. */
export function tokenOf(request: FastifyRequest): string | undefined {
  const h = request.headers[GATEWAY_TOKEN_HEADER];
  const viaHeader = Array.isArray(h) ? h[0] : h;
  return viaHeader || bearerOf(request.headers.authorization);
}

const UNAUTHORIZED = 'missing or unknown bearer token';

const INGEST_DENIED: Record<IngestDenial, (name?: string) => string> = {
  missing: () => `an ingest token is required: send Authorization: Bearer <token> or ${INGEST_TOKEN_HEADER}: <token>`,
  unknown: () => 'unknown ingest token',
  revoked: (name) => `ingest token "${name ?? ''}" was revoked; ask an operator for a new one`,
};

/** The ingest token an OTLP request presents, or why it is refused; null when ingest needs no token yet. */
function ingestTokenOf(request: FastifyRequest, auth: IngestAuth): IngestToken | null {
  if (!auth.set.required) return null;
  const h = request.headers[INGEST_TOKEN_HEADER];
  const presented = (Array.isArray(h) ? h[0] : h) || bearerOf(request.headers.authorization);
  const found = auth.set.lookup(presented ? tokenDigest(presented) : undefined);
  if (found.ok) return found.token;
  auth.onDenied?.(found.reason);
  throw new TollkeeperError('unauthorized', INGEST_DENIED[found.reason](found.name));
}

/**
 * Authentication and authorization for every route of a listener, as an onRequest hook: it runs before the
 * body is read and validated, so a caller without the right token learns nothing about the schema (401/403
 * first, 400 only for callers allowed to call the route).
 */
export const authPlugin = fp(
  async (app: FastifyInstance, tokens: Tokens) => {
    // The same constant-time check as the gateway listener's (api/gateway-token.ts): one set of rules for both ports.
    const roleOf = tokenRoles(tokens);
    app.decorateRequest('role', null);
    app.decorateRequest('ingestToken', null);
    app.addHook('onRequest', async (request) => {
      // No route: 404 now, before a body nobody will read is read and parsed (it would answer 400 or 413 instead).
      if (request.is404) throw notFound(request);
      const level = request.routeOptions.config.auth ?? 'admin';
      if (level === 'public') return;
      if (level === 'otlp') {
        if (tokens.ingest) request.ingestToken = ingestTokenOf(request, tokens.ingest);
        return;
      }
      const token = tokenOf(request);
      request.role = token === undefined ? null : roleOf(token);
      if (request.role === null) throw new TollkeeperError('unauthorized', UNAUTHORIZED);
      // The admin token can do everything; the gateway and metrics tokens only their own level.
      if (request.role !== 'admin' && request.role !== level) throw new TollkeeperError('forbidden', `the ${request.role} token cannot do this`);
    });
  },
  { name: 'tollkeeper-auth' },
);
