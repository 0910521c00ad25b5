// A fastify service (or gateway) that checks tollkeeper's revocation list in an onRequest hook, before any work.
//
//   TOLLKEEPER_URL=http://127.0.0.1:4320 TOLLKEEPER_GATEWAY_TOKEN=tkg_… UPSTREAM_URL=https://api.openai.com PORT=8000 \
//     npx tsx examples/fastify-gateway.ts
//
// test/integration/gateway-examples.test.ts runs it.
import Fastify, { type FastifyInstance } from 'fastify';
import { createRevocationPoller, denialHeaders, type EntityRef, type RevocationPoller } from 'tollkeeper/client';

export function buildGateway(o: { poller: RevocationPoller; upstream: string }): FastifyInstance {
  const app = Fastify();
  app.addHook('onRequest', async (request, reply) => {
    const entities: EntityRef[] = [];
    const key = request.headers['x-tollkeeper-api-key'];
    const tenant = request.headers['x-tollkeeper-tenant'];
    if (typeof key === 'string') entities.push({ kind: 'api_key', id: key });
    if (typeof tenant === 'string') entities.push({ kind: 'tenant', id: tenant });
    const decision = o.poller.check(entities);
    if (!decision.allowed) return reply.code(decision.status).headers(denialHeaders(decision)).send({ error: { type: 'tollkeeper', ...decision.denial } });
  });
  // Forwards JSON calls (e.g. POST /v1/chat/completions) to the OpenAI-compatible upstream.
  app.post('/v1/*', async (request, reply) => {
    const res = await fetch(new URL(request.url, o.upstream), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}) },
      body: JSON.stringify(request.body),
    });
    return reply.code(res.status).type(res.headers.get('content-type') ?? 'application/json').send(Buffer.from(await res.arrayBuffer()));
  });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const poller = createRevocationPoller({ url: process.env.TOLLKEEPER_URL ?? 'http://127.0.0.1:4320', token: process.env.TOLLKEEPER_GATEWAY_TOKEN ?? '' });
  poller.on('error', (err: Error) => console.error(`tollkeeper: ${err.message} (serving the last good list)`));
  await buildGateway({ poller, upstream: process.env.UPSTREAM_URL ?? 'https://api.openai.com' }).listen({ port: Number(process.env.PORT ?? 8000), host: '127.0.0.1' });
}
