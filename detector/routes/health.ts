import type { FastifyInstance } from 'fastify';

/** /healthz (alive) and /readyz (store reachable and migrated) on both ports, no auth (SPEC §11). */
export function healthRoutes(app: FastifyInstance, ready: () => Promise<{ ok: boolean; reason?: string }>): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const r = await ready();
    return reply.code(r.ok ? 200 : 503).send(r.ok ? { status: 'ready' } : { status: 'not ready', reason: r.reason });
  });
}
