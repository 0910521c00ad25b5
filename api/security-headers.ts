import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

// Answers echo ids a sender chose ("no policy <b>"): a browser must read them as the declared type (JSON), never
// sniff HTML out of them, and no other site may frame a page of this port (the web UI sets its own, stricter
// Content-Security-Policy, which stays).
const FRAME_ONLY_CSP = "frame-ancestors 'none'";

/** `X-Content-Type-Options: nosniff` and no framing on every answer of the API port. */
export const securityHeadersPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onSend', async (_request, reply, payload) => {
      void reply.header('x-content-type-options', 'nosniff');
      if (!reply.hasHeader('content-security-policy')) void reply.header('content-security-policy', FRAME_ONLY_CSP);
      return payload;
    });
  },
  { name: 'tollkeeper-security-headers' },
);
