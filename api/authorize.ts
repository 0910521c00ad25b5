import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { createAuthorizeAnswerer, type AuthorizeOptions } from './authorize-answer.ts';
import { ErrorBody } from './errors.ts';
import { sameLogger } from './hot-path.ts';

export type { AuthorizeOptions, GatewayHeaders } from './authorize-answer.ts';

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

/**
 * Forward-auth for gateways (NGINX auth_request, Envoy ext_authz, Traefik ForwardAuth): `GET|POST /v1/authorize`
 * (and `/v1/authorize/<anything>` for Envoy's path prefix) answers from memory whether the request's entities may
 * pass. Needs the gateway (or admin) token, as `Authorization: Bearer` or in `x-tollkeeper-gateway-token` (checked by
 * the auth plugin, before this runs). The decision and the answer's bytes come from api/authorize-answer.ts, which
 * the gateway listener (api/gateway-worker.ts) calls too; the schemas here document them.
 */
async function authorizePlugin(app: FastifyInstance, o: AuthorizeOptions): Promise<void> {
  // The gateway's request body (if it forwards one) is never read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  const answer = createAuthorizeAnswerer(o);

  async function handler(request: FastifyRequest, reply: FastifyReply) {
    const a = answer(request.headers, request.raw.rawHeaders);
    // A string with a JSON content type is sent as it is (no serializer): the same bytes the gateway listener sends.
    return reply.code(a.status).headers(a.headers).send(a.body);
  }

  const schema = {
    // 403 is also the metrics token's refusal, in the error shape of every route.
    response: { 200: AllowSchema, 400: ErrorBody, 403: Type.Union([DenialSchema, ErrorBody]), 429: DenialSchema, 503: DenialSchema },
    tags: ['gateways'],
    summary: 'Forward-auth: may this request pass?',
  };
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
  // Hot path: the app's logger itself instead of a per-request child logger (api/hot-path.ts).
  app.route({ method: methods, url: '/v1/authorize', schema, config: { auth: 'gateway' }, childLoggerFactory: sameLogger, handler });
  app.route({ method: methods, url: '/v1/authorize/*', schema, config: { auth: 'gateway' }, childLoggerFactory: sameLogger, handler });
}

export default fp(authorizePlugin, { name: 'tollkeeper-authorize', fastify: '5.x', encapsulate: true });
