import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { requireRole, type Tokens } from '../auth.ts';
import type { QuotaStatus } from '../quota-status.ts';

const Query = Type.Object(
  {
    scope: Type.String({ minLength: 1, maxLength: 128 }),
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

/** GET /api/quotas/status: one entity (?scope=&id=) or the top consumers of a scope (?scope=&limit=). */
export function quotaRoutes(app: FastifyInstance, deps: { status: QuotaStatus; tokens: Tokens; now: () => number }): void {
  app.get('/api/quotas/status', { schema: { querystring: Query }, preHandler: requireRole(deps.tokens, ['admin', 'gateway']) }, async (request) => {
    const q = request.query as Static<typeof Query>;
    if (q.id !== undefined) return deps.status.forEntity(q.scope, q.id, deps.now());
    return deps.status.top(q.scope, q.limit ?? 20, deps.now());
  });
}
