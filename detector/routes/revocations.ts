import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { requireRole, type Tokens } from '../auth.ts';
import type { Enforcement } from '../enforcement.ts';
import { createRevocationBodies } from '../revocation-bodies.ts';

const Query = Type.Object(
  {
    since: Type.Optional(Type.Integer({ minimum: 0 })),
    wait: Type.Optional(Type.Number({ minimum: 0, maximum: 60 })),
  },
  { additionalProperties: false },
);

function parseEtag(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  return m ? Number(m[1]) : -1;
}

/**
 * GET /v1/revocations: full list, deltas with ?since, long-poll with ?wait, ETag/304. The hot path for a fleet of
 * gateways: bodies are serialized once per version (revocation-bodies.ts) and sent as buffers.
 */
export function revocationRoutes(app: FastifyInstance, deps: { enforcement: Enforcement; tokens: Tokens; now: () => number }): void {
  const { enforcement } = deps;
  const bodies = createRevocationBodies(enforcement, deps.now);
  app.get<{ Querystring: { since?: number; wait?: number } }>(
    '/v1/revocations',
    { schema: { querystring: Query }, preHandler: requireRole(deps.tokens, ['admin', 'gateway']), logLevel: 'warn' },
    async (request, reply) => {
      const { since, wait } = request.query;
      const inm = parseEtag(request.headers['if-none-match']);
      const known = since ?? inm;
      if (wait && known !== undefined && known === enforcement.version) {
        // A gateway that hangs up stops waiting (its waiter is dropped at once, not at the timeout).
        const gone = new AbortController();
        const onClose = () => gone.abort();
        request.raw.socket.once('close', onClose);
        await enforcement.waitForChange(known, wait * 1000, gone.signal);
        request.raw.socket.off('close', onClose);
      }
      const version = bodies.version;
      void reply.header('etag', `"${version}"`).header('cache-control', 'no-cache');
      if (inm !== undefined && inm === version) return reply.code(304).send();
      void reply.type('application/json; charset=utf-8');
      return reply.send(since !== undefined ? bodies.since(since) : bodies.full());
    },
  );
}
