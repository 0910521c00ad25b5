import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { GatewayMirror } from '../detector/gateway-mirror.ts';
import { sameLogger } from './hot-path.ts';
import { createRevocationAnswerer } from './revocations-answer.ts';
import { EntityRef, Entry } from './schemas.ts';

/** The query `GET /v1/revocations` takes (the gateway listener validates it with this same schema). */
export const RevocationQuerySchema = Type.Object(
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
    generated_at: Type.String({ format: 'date-time', description: 'RFC 3339: when the list reached this version' }),
    entries: Type.Optional(Type.Array(Entry, { description: 'the whole list (no ?since, or ?since older than the kept history)' })),
    added: Type.Optional(Type.Array(Entry, { description: 'with ?since: new and changed entries' })),
    removed: Type.Optional(Type.Array(EntityRef, { description: 'with ?since: entries no longer listed' })),
    full: Type.Optional(Type.Boolean({ description: 'with ?since: true when `entries` holds the whole list' })),
  },
  { title: 'RevocationList' },
);

export interface RevocationOptions {
  /** The API port's copy of the gateway-facing state (detector/gateway-mirror.ts). */
  mirror: GatewayMirror;
}

/** GET /v1/revocations: full list, deltas with ?since, long-poll with ?wait, ETag/304 (api/revocations-answer.ts). */
export const revocationRoutes: FastifyPluginAsyncTypebox<RevocationOptions> = async (app, o) => {
  const answer = createRevocationAnswerer(o.mirror);
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
        querystring: RevocationQuerySchema,
        response: { 200: List, 304: Type.Null({ description: 'not modified' }) },
      },
    },
    async (request, reply) => {
      const socket = request.raw.socket;
      const a = await answer(request.query, request.headers['if-none-match'], (hangUp) => {
        socket.once('close', hangUp);
        return () => socket.off('close', hangUp);
      });
      void reply.code(a.status).headers(a.headers);
      // 304 has no body (nor a length or type for one); a 200 body is a prebuilt buffer, past the serializer,
      // whose shape `List` documents.
      return a.body === undefined ? reply.send(undefined as unknown as null) : reply.send(a.body as unknown as Static<typeof List>);
    },
  );
};
