// A plain node:http proxy in front of an OpenAI-compatible upstream, refusing what tollkeeper revoked or throttled.
//
//   TOLLKEEPER_URL=http://127.0.0.1:4320 TOLLKEEPER_GATEWAY_TOKEN=tkg_… UPSTREAM_URL=https://api.openai.com PORT=8000 \
//     npx tsx examples/node-proxy.ts
//
// Callers name themselves with x-tollkeeper-api-key / x-tollkeeper-tenant (the same ids their spans carry).
// Responses stream through untouched (server-sent events included). test/integration/gateway-examples.test.ts runs it.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createRevocationPoller, denialHeaders, type EntityRef, type RevocationPoller } from 'tollkeeper/client';

/** The entities a request carries. */
export function entitiesOf(req: IncomingMessage): EntityRef[] {
  const out: EntityRef[] = [];
  for (const [kind, header] of [['api_key', 'x-tollkeeper-api-key'], ['tenant', 'x-tollkeeper-tenant']] as const) {
    const id = req.headers[header];
    if (typeof id === 'string' && id !== '') out.push({ kind, id });
  }
  return out;
}

export function createProxy(o: { poller: RevocationPoller; upstream: string }): Server {
  const upstream = new URL(o.upstream);
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  return createServer((req, res) => {
    const decision = o.poller.check(entitiesOf(req));
    if (!decision.allowed) {
      res.writeHead(decision.status, { 'content-type': 'application/json', ...denialHeaders(decision) });
      res.end(JSON.stringify({ error: { type: 'tollkeeper', ...decision.denial } }));
      return;
    }
    const forward = send(
      { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'upstream', message: err.message } }));
    });
    req.pipe(forward);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const poller = createRevocationPoller({ url: process.env.TOLLKEEPER_URL ?? 'http://127.0.0.1:4320', token: process.env.TOLLKEEPER_GATEWAY_TOKEN ?? '' });
  poller.on('error', (err: Error) => console.error(`tollkeeper: ${err.message} (serving the last good list)`));
  const server = createProxy({ poller, upstream: process.env.UPSTREAM_URL ?? 'https://api.openai.com' });
  server.listen(Number(process.env.PORT ?? 8000), '127.0.0.1');
}
