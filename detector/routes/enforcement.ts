import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parseDuration } from '../../core/quota/duration.ts';
import type { Cause } from '../../core/enforcement/types.ts';
import { requireRole, type Tokens } from '../auth.ts';
import type { Bus } from '../bus.ts';
import type { Enforcement } from '../enforcement.ts';

const Body = Type.Object(
  {
    action: Type.Union([Type.Literal('revoke'), Type.Literal('throttle'), Type.Literal('restore')]),
    kind: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z_][A-Za-z0-9_.]*$' }),
    id: Type.String({ minLength: 1, maxLength: 256 }),
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
    ttl: Type.Optional(Type.String({ maxLength: 32 })),
    limit: Type.Optional(
      Type.Object(
        { requests_per_minute: Type.Optional(Type.Number({ exclusiveMinimum: 0 })), tokens_per_minute: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
type BodyT = Static<typeof Body>;

const Params = Type.Object({ kind: Type.String({ maxLength: 64 }), id: Type.String({ maxLength: 256 }) });

const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** Inbound webhook API (SPEC §5, §11): operators and other systems revoke, throttle and restore. */
export function enforcementRoutes(app: FastifyInstance, deps: { enforcement: Enforcement; tokens: Tokens; bus: Bus; now: () => number }): void {
  const { enforcement } = deps;
  const seen = new Map<string, { at: number; body: unknown; request: string }>();

  app.post('/v1/enforcement', { schema: { body: Body }, preHandler: requireRole(deps.tokens, ['admin']) }, async (request, reply) => {
    const body = request.body as BodyT;
    const now = deps.now();
    const idem = request.headers['idempotency-key'];
    const fingerprint = JSON.stringify(body);
    if (typeof idem === 'string' && idem.length > 0) {
      for (const [k, v] of seen) if (now - v.at > IDEMPOTENCY_TTL_MS) seen.delete(k);
      const prior = seen.get(idem);
      if (prior) {
        if (prior.request !== fingerprint) return reply.code(422).send({ error: 'idempotency_key_reused', message: 'this Idempotency-Key was used with a different body' });
        return reply.header('idempotent-replayed', 'true').send(prior.body);
      }
    }
    const reason = body.reason ?? `manual ${body.action}`;
    let result: unknown;
    if (body.action === 'restore') {
      const listed = enforcement.get(body.kind, body.id) !== undefined;
      await enforcement.removeCauses(body.kind, body.id, () => true, { actor: 'api', reason, source: 'manual' });
      result = { version: enforcement.version, removed: listed ? { kind: body.kind, id: body.id } : null };
      if (listed) deps.bus.publish([{ type: 'key.restored', timestamp: new Date(now).toISOString(), data: { entity: { kind: body.kind, id: body.id }, source: 'manual', action: 'restore', reason } }]);
    } else {
      let expires: string | undefined;
      if (body.ttl !== undefined) {
        const ttl = parseDuration(body.ttl);
        if (!ttl.ok) return reply.code(400).send({ error: 'invalid_ttl', message: `ttl: ${ttl.error}` });
        expires = new Date(now + ttl.ms).toISOString();
      }
      if (body.action === 'throttle' && !body.limit) {
        return reply.code(400).send({ error: 'missing_limit', message: 'throttle needs limit: { requests_per_minute?, tokens_per_minute? }' });
      }
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
      result = { version: enforcement.version, entry };
      deps.bus.publish([
        { type: body.action === 'revoke' ? 'key.revoked' : 'key.throttled', timestamp: cause.created_at, data: { entity: { kind: body.kind, id: body.id }, source: 'manual', action: body.action, reason } },
      ]);
    }
    if (typeof idem === 'string' && idem.length > 0) seen.set(idem, { at: now, body: result, request: fingerprint });
    return result;
  });

  app.get('/v1/enforcement/:kind/:id', { schema: { params: Params }, preHandler: requireRole(deps.tokens, ['admin']) }, async (request) => {
    const { kind, id } = request.params as Static<typeof Params>;
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
  });
}
