import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { Cause } from '../core/enforcement/types.ts';
import { TollkeeperError } from '../core/errors.ts';
import { parseDuration } from '../core/quota/duration.ts';
import type { Bus } from '../detector/bus.ts';
import type { Enforcement } from '../detector/enforcement.ts';
import { ErrorBody } from './errors.ts';
import { EntityKind, EntityRef, Entry, ThrottleLimit, Timestamp } from './schemas.ts';

const Body = Type.Object(
  {
    action: Type.Union([Type.Literal('revoke'), Type.Literal('throttle'), Type.Literal('restore')]),
    kind: EntityKind,
    id: Type.String({ minLength: 1, maxLength: 256 }),
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
    ttl: Type.Optional(Type.String({ maxLength: 32, description: 'how long it lasts, e.g. 15m, 24h' })),
    limit: Type.Optional(ThrottleLimit),
  },
  { additionalProperties: false },
);

const Result = Type.Object(
  {
    version: Type.Integer(),
    entry: Type.Optional(Entry),
    removed: Type.Optional(Type.Union([EntityRef, Type.Null()], { description: 'restore: what was removed, null when it was not listed' })),
  },
  { title: 'EnforcementResult' },
);

const Params = Type.Object({ kind: Type.String({ maxLength: 64 }), id: Type.String({ maxLength: 256 }) });

const History = Type.Object({
  current: Type.Union([Entry, Type.Null()]),
  history: Type.Array(
    Type.Object({
      at: Timestamp,
      version: Type.Integer(),
      action: Type.String({ description: 'revoke, throttle, restore or update' }),
      source: Type.String(),
      reason: Type.String(),
      actor: Type.String(),
    }),
  ),
});

const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

export interface EnforcementOptions {
  enforcement: Enforcement;
  bus: Bus;
  now: () => number;
}

/** Inbound webhook API: operators and other systems revoke, throttle and restore. */
export const enforcementRoutes: FastifyPluginAsyncTypebox<EnforcementOptions> = async (app, deps) => {
  const { enforcement } = deps;
  const seen = new Map<string, { at: number; body: Static<typeof Result>; request: string }>();

  app.post(
    '/v1/enforcement',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['enforcement'],
        summary: 'Revoke, throttle or restore an entity',
        description: 'Honours `Idempotency-Key`: a repeated key answers the first result (header `idempotent-replayed: true`); the same key with another body is 422.',
        body: Body,
        response: { 200: Result, 422: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const now = deps.now();
      const idem = request.headers['idempotency-key'];
      const fingerprint = JSON.stringify(body);
      if (typeof idem === 'string' && idem.length > 0) {
        for (const [k, v] of seen) if (now - v.at > IDEMPOTENCY_TTL_MS) seen.delete(k);
        const prior = seen.get(idem);
        if (prior) {
          if (prior.request !== fingerprint) throw new TollkeeperError('idempotency_key_reused', 'this Idempotency-Key was used with a different body');
          return reply.header('idempotent-replayed', 'true').send(prior.body);
        }
      }
      const reason = body.reason ?? `manual ${body.action}`;
      let result: Static<typeof Result>;
      if (body.action === 'restore') {
        const listed = enforcement.get(body.kind, body.id) !== undefined;
        await enforcement.removeCauses(body.kind, body.id, () => true, { actor: 'api', reason, source: 'manual' });
        result = { version: enforcement.version, removed: listed ? { kind: body.kind, id: body.id } : null };
        if (listed) deps.bus.publish([{ type: 'key.restored', timestamp: new Date(now).toISOString(), data: { entity: { kind: body.kind, id: body.id }, source: 'manual', action: 'restore', reason } }]);
      } else {
        let expires: string | undefined;
        if (body.ttl !== undefined) {
          const ttl = parseDuration(body.ttl);
          if (!ttl.ok) throw new TollkeeperError('invalid_ttl', `ttl: ${ttl.error}`);
          expires = new Date(now + ttl.ms).toISOString();
        }
        if (body.action === 'throttle' && !body.limit) throw new TollkeeperError('missing_limit', 'throttle needs limit: { requests_per_minute?, tokens_per_minute? }');
        const cause: Cause = {
          action: body.action,
          ...(body.action === 'throttle' && body.limit ? { limit: body.limit } : {}),
          reason,
          source: 'manual',
          ref: 'manual',
          created_at: new Date(now).toISOString(),
          ...(expires ? { expires_at: expires } : {}),
        };
        const entry = await enforcement.addCause(body.kind, body.id, cause, 'api');
        result = { version: enforcement.version, ...(entry ? { entry } : {}) };
        deps.bus.publish([
          { type: body.action === 'revoke' ? 'key.revoked' : 'key.throttled', timestamp: cause.created_at, data: { entity: { kind: body.kind, id: body.id }, source: 'manual', action: body.action, reason } },
        ]);
      }
      if (typeof idem === 'string' && idem.length > 0) seen.set(idem, { at: now, body: result, request: fingerprint });
      return result;
    },
  );

  app.get(
    '/v1/enforcement/:kind/:id',
    { config: { auth: 'admin' }, schema: { tags: ['enforcement'], summary: 'An entity\'s current entry and its history', params: Params, response: { 200: History } } },
    async (request) => {
      const { kind, id } = request.params;
      const history = await enforcement.history(kind, id);
      return {
        current: enforcement.get(kind, id) ?? null,
        history: history.map((h) => ({
          at: new Date(h.at).toISOString(),
          version: h.version,
          action: h.op === 'remove' ? 'restore' : (h.entry?.action ?? 'update'),
          source: h.source,
          reason: h.reason,
          actor: h.actor,
        })),
      };
    },
  );
};
