import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sameLogger } from './hot-path.ts';
import fp from 'fastify-plugin';
import { denialHeaders } from '../core/enforcement/denial-headers.ts';
import type { EntityRef } from '../core/enforcement/decide.ts';
import { bearerOf, GATEWAY_TOKEN_HEADER } from './auth.ts';
import type { ForwardAuth } from '../detector/forward-auth.ts';

/** Request headers that carry the request's entities (lower case). `secret` is looked up by its keyed hash as an api_key. */
export interface GatewayHeaders {
  api_key: string;
  secret: string;
  tenant: string;
  agent: string;
  user: string;
  conversation?: string | undefined;
  service?: string | undefined;
}

export interface AuthorizeOptions {
  forwardAuth: ForwardAuth;
  headers: GatewayHeaders;
  /** NGINX `auth_request` passes only 401/403 on: answer 403 (reason in the header) instead of 429 and 503. */
  nginxMode: boolean;
  /** The keyed hash ingest stores secret-bearing identity values under. */
  hashSecret: (secret: string) => string;
}

const EntitySchema = Type.Object({ kind: Type.String(), id: Type.String() });
const DenialSchema = Type.Object({
  decision: Type.Union([Type.Literal('deny'), Type.Literal('throttle')]),
  entity: Type.Union([EntitySchema, Type.Null()]),
  reason: Type.String(),
  source: Type.String(),
  policy: Type.Optional(Type.String()),
  resets_at: Type.Optional(Type.String()),
});
const AllowSchema = Type.Object({ decision: Type.Literal('allow'), stale: Type.Boolean() });

const KINDS = ['api_key', 'tenant', 'agent', 'user', 'conversation', 'service'] as const;

function one(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/**
 * Forward-auth for gateways (NGINX auth_request, Envoy ext_authz, Traefik ForwardAuth): `GET|POST /v1/authorize`
 * (and `/v1/authorize/<anything>` for Envoy's path prefix) answers from memory whether the request's entities may
 * pass. Needs the gateway (or admin) token, as `Authorization: Bearer` or in `x-tollkeeper-gateway-token` (checked by
the auth plugin, before this runs).
 */
async function authorizePlugin(app: FastifyInstance, o: AuthorizeOptions): Promise<void> {
  // The gateway's request body (if it forwards one) is never read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  const kindHeaders = KINDS.map((k) => [k, o.headers[k]] as const).filter((x): x is readonly [(typeof KINDS)[number], string] => !!x[1]);
  const secretHeader = o.headers.secret.toLowerCase();

  function entitiesOf(request: FastifyRequest, authByBearer: boolean): EntityRef[] {
    const out: EntityRef[] = [];
    for (const [kind, header] of kindHeaders) {
      const id = one(request.headers[header]);
      if (id !== undefined) out.push({ kind, id });
    }
    if (!(authByBearer && secretHeader === 'authorization')) {
      const raw = one(request.headers[secretHeader]);
      const secret = raw === undefined ? undefined : (bearerOf(raw) ?? raw);
      if (secret !== undefined) out.push({ kind: 'api_key', id: o.hashSecret(secret) });
    }
    return out;
  }

  async function handler(request: FastifyRequest, reply: FastifyReply) {
    // The auth plugin has checked the gateway token (header or bearer); a bearer token then is not a client secret.
    const viaHeader = one(request.headers[GATEWAY_TOKEN_HEADER]);
    const { decision, stalenessMs, remaining } = o.forwardAuth.authorize(entitiesOf(request, viaHeader === undefined));
    if (decision.allowed) {
      if (remaining) for (const [d, v] of Object.entries(remaining)) reply.header(`x-tollkeeper-remaining-${d.replaceAll('_', '-')}`, String(Math.round(v * 1e6) / 1e6));
      if (decision.stale) reply.header('x-tollkeeper-stale', String(Math.round(stalenessMs / 1000)));
      return reply.code(200).send({ decision: 'allow', stale: decision.stale });
    }
    return reply
      .code(o.nginxMode ? 403 : decision.status)
      .headers(denialHeaders(decision))
      .send(decision.denial);
  }

  const schema = {
    response: { 200: AllowSchema, 403: DenialSchema, 429: DenialSchema, 503: DenialSchema },
    tags: ['gateways'],
    summary: 'Forward-auth: may this request pass?',
  };
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
  // Hot path: the app's logger itself instead of a per-request child logger (see api/revocations.ts).
  app.route({ method: methods, url: '/v1/authorize', schema, config: { auth: 'gateway' }, childLoggerFactory: sameLogger, handler });
  app.route({ method: methods, url: '/v1/authorize/*', schema, config: { auth: 'gateway' }, childLoggerFactory: sameLogger, handler });
}

export default fp(authorizePlugin, { name: 'tollkeeper-authorize', fastify: '5.x', encapsulate: true });
