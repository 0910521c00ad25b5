import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { Enforcement } from '../detector/enforcement.ts';
import { createRevocationBodies } from '../detector/revocation-bodies.ts';
import { sameLogger } from './hot-path.ts';
import { EntityRef, Entry, Timestamp } from './schemas.ts';

const Query = Type.Object(
  {
    since: Type.Optional(Type.Integer({ minimum: 0, description: 'answer the changes after this version' })),
    wait: Type.Optional(Type.Number({ minimum: 0, maximum: 60, description: 'seconds to wait for the version to move' })),
  },
  { additionalProperties: false },
);

// One object with optional parts rather than a union: gateways poll this often and it serializes fastest.
const List = Type.Object(
  {
    version: Type.Integer(),
    generated_at: Timestamp,
    entries: Type.Optional(Type.Array(Entry, { description: 'the whole list (no ?since, or ?since older than the kept history)' })),
    added: Type.Optional(Type.Array(Entry, { description: 'with ?since: new and changed entries' })),
    removed: Type.Optional(Type.Array(EntityRef, { description: 'with ?since: entries no longer listed' })),
    full: Type.Optional(Type.Boolean({ description: 'with ?since: true when `entries` holds the whole list' })),
  },
  { title: 'RevocationList' },
);

function parseEtag(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  return m ? Number(m[1]) : -1;
}

export interface RevocationOptions {
  enforcement: Enforcement;
  now: () => number;
}

/** GET /v1/revocations: full list, deltas with ?since, long-poll with ?wait, ETag/304. */
export const revocationRoutes: FastifyPluginAsyncTypebox<RevocationOptions> = async (app, o) => {
  const { enforcement } = o;
  const bodies = createRevocationBodies(enforcement, o.now);
  app.get(
    '/v1/revocations',
    {
      config: { auth: 'gateway' },
      // Hot path for a fleet of gateways: the app's logger itself, not a per-request child.
      childLoggerFactory: sameLogger,
      schema: {
        tags: ['enforcement'],
        summary: 'The revocation list gateways poll',
        description: 'ETag is the quoted version; If-None-Match answers 304 when nothing changed. `?wait` long-polls until the version moves past `since` (or differs from If-None-Match); on timeout 304 when If-None-Match was sent, else the empty delta.',
        querystring: Query,
        response: { 200: List, 304: Type.Null({ description: 'not modified' }) },
      },
    },
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
      if (inm !== undefined && inm === version) return reply.code(304).send(null);
      // Bodies are serialized once per version (revocation-bodies.ts) and sent as buffers, past the serializer;
      // `List` documents their shape.
      return reply.type('application/json; charset=utf-8').send((since !== undefined ? bodies.since(since) : bodies.full()) as unknown as Static<typeof List>);
    },
  );
};
