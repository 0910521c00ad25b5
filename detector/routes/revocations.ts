import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { requireRole, type Tokens } from '../auth.ts';
import type { Enforcement } from '../enforcement.ts';

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

/** GET /v1/revocations (SPEC §5, §11): full list, deltas with ?since, long-poll with ?wait, ETag/304. */
export function revocationRoutes(app: FastifyInstance, deps: { enforcement: Enforcement; tokens: Tokens; now: () => number }): void {
  const { enforcement } = deps;
  app.get<{ Querystring: { since?: number; wait?: number } }>(
    '/v1/revocations',
    { schema: { querystring: Query }, preHandler: requireRole(deps.tokens, ['admin', 'gateway']) },
    async (request, reply) => {
      const { since, wait } = request.query;
      const inm = parseEtag(request.headers['if-none-match']);
      const known = since ?? inm;
      if (wait && known !== undefined && known === enforcement.version) {
        const closed = new Promise<void>((resolve) => request.raw.once('close', () => resolve()));
        await Promise.race([enforcement.waitForChange(known, wait * 1000), closed]);
      }
      const version = enforcement.version;
      void reply.header('etag', `"${version}"`).header('cache-control', 'no-cache');
      if (inm !== undefined && inm === version) return reply.code(304).send();
      const generated_at = new Date(deps.now()).toISOString();
      if (since !== undefined) {
        const delta = enforcement.delta(since);
        if (delta) return { version, generated_at, added: delta.added, removed: delta.removed, full: false };
        return { version, generated_at, entries: enforcement.snapshot().entries, full: true };
      }
      return { version, generated_at, entries: enforcement.snapshot().entries };
    },
  );
}
