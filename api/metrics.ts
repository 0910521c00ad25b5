import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';

export interface MetricsOptions {
  /** The process's Prometheus registry (app/metrics.ts): read at scrape time from in-memory counters. */
  registry: { metrics(): Promise<string>; readonly contentType: string };
}

/**
 * `GET /metrics`: the process's own health in the Prometheus text format, for the admin token or the metrics
 * token. Every figure comes from memory, so a scrape never queries ClickHouse. Names: docs/metrics.md.
 */
export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsOptions> = async (app, o) => {
  app.get(
    '/metrics',
    {
      config: { auth: 'metrics' },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics of this process (metrics or admin token)',
        response: { 200: Type.String({ description: 'Prometheus text exposition format 0.0.4' }) },
      },
    },
    async (_request, reply) => {
      const text = await o.registry.metrics();
      return reply.type(o.registry.contentType).send(text);
    },
  );
};
