import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { encodeStatus, rpcCodeForHttpStatus, type OtlpFormat } from './otlp/index.ts';

/** The OTLP export paths: each takes POST only. */
export const OTLP_PATHS = ['/v1/traces', '/v1/metrics', '/v1/logs'] as const;

const OTHER_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'];

const formatOf = (request: FastifyRequest): OtlpFormat => (/protobuf/i.test(String(request.headers['content-type'] ?? '')) ? 'protobuf' : 'json');

/**
 * Another method on an OTLP path is answered 405 with `Allow: POST` and an OTLP status naming the method, instead
 * of the "no route" 404 a sender would read as a wrong URL. OPTIONS is 204 with the same `Allow` (it asks what the
 * path takes; cross-origin browser exports are not served: send through an OpenTelemetry Collector). Answered in
 * onRequest, before any body is read, and without auth: it reveals nothing the path's existence does not.
 */
export function methodNotAllowedRoutes(app: FastifyInstance): void {
  const answer = (request: FastifyRequest, reply: FastifyReply, path: string) => {
    const format = formatOf(request);
    const body = encodeStatus(rpcCodeForHttpStatus(405), `method ${request.method} not allowed on ${path}: OTLP/HTTP exports are sent with POST`, format);
    return reply.code(405).header('allow', 'POST, OPTIONS').type(body.contentType).send(body.body);
  };
  for (const path of OTLP_PATHS) {
    app.route({
      method: OTHER_METHODS,
      url: path,
      exposeHeadRoute: false,
      config: { auth: 'public' },
      onRequest: async (request, reply) => answer(request, reply, path),
      handler: async (request, reply) => answer(request, reply, path),
    });
    app.route({
      method: 'OPTIONS',
      url: path,
      config: { auth: 'public' },
      onRequest: async (_request, reply) => reply.code(204).header('allow', 'POST, OPTIONS').send(),
      handler: async (_request, reply) => reply.code(204).header('allow', 'POST, OPTIONS').send(),
    });
  }
}
