import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';

export interface HealthOptions {
  ready: () => Promise<{ ok: boolean; reason?: string }>;
}

/** /healthz (alive) and /readyz (store reachable and migrated) on both ports, no auth. */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthOptions> = async (app, o) => {
  app.get('/healthz', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'The process is alive', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));
  app.get(
    '/readyz',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['health'],
        summary: 'The store is reachable and migrated',
        response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: Type.Object({ status: Type.Literal('not ready'), reason: Type.Optional(Type.String()) }) },
      },
    },
    async (_request, reply) => {
      const r = await o.ready();
      if (r.ok) return reply.code(200).send({ status: 'ready' });
      return reply.code(503).send({ status: 'not ready', ...(r.reason !== undefined ? { reason: r.reason } : {}) });
    },
  );
};
