import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { SECURITY_HEADERS } from './security-header-values.ts';

/** `X-Content-Type-Options: nosniff` and no framing on every answer of the API port. */
export const securityHeadersPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onSend', async (_request, reply, payload) => {
      // The web UI page's own, stricter Content-Security-Policy stays.
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(k)) void reply.header(k, v);
      return payload;
    });
  },
  { name: 'tollkeeper-security-headers' },
);
