import { canonicalJson } from '../core/schema/canonical-json.ts';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { manualStep } from '../core/enforcement/manual.ts';
import { TollkeeperError } from '../core/errors.ts';
import { parseDuration } from '../core/quota/duration.ts';
import type { Bus } from '../detector/bus.ts';
import type { Enforcement } from '../detector/enforcement.ts';
import type { Idempotency } from '../detector/idempotency.ts';
import { ErrorBody } from './errors.ts';
import { EntityKind, EntityRef, Entry, ThrottleLimit, Timestamp } from './schemas.ts';

const Body = Type.Object(
  {
    action: Type.Union([Type.Literal('revoke'), Type.Literal('throttle'), Type.Literal('restore')]),
    kind: EntityKind,
    id: Type.String({ minLength: 1, maxLength: 256 }),
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
    ttl: Type.Optional(Type.String({ maxLength: 32, description: 'how long it lasts, e.g. 15m, 24h; from 1s to 3650d' })),
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

/** Longest manual ttl: ten years (its end must stay a date the store and the answers can write). */
const MAX_TTL_MS = 3650 * 86_400_000;
/** Longest Idempotency-Key kept (a UUID is 36 characters). */
const MAX_IDEMPOTENCY_KEY = 255;
/** Shortest manual ttl. */
const MIN_TTL_MS = 1000;

export interface EnforcementOptions {
  enforcement: Enforcement;
  bus: Bus;
  now: () => number;
  /** Idempotency-Key answers, kept in the store for their window (24 h). */
  idempotency: Idempotency;
}

/** Inbound webhook API: operators and other systems revoke, throttle and restore. */
export const enforcementRoutes: FastifyPluginAsyncTypebox<EnforcementOptions> = async (app, deps) => {
  const { enforcement } = deps;

  app.post(
    '/v1/enforcement',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['enforcement'],
        summary: 'Revoke, throttle or restore an entity',
        description:
          'Honours `Idempotency-Key` for 24 h, also across restarts: a repeated key answers the first result (header `idempotent-replayed: true`) without acting again; the same key with another body is 422 (the order of keys does not matter).',
        body: Body,
        response: { 200: Result, 422: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const idem = request.headers['idempotency-key'];
      // node joins repeated lines into "a, b": two keys make the retry's identity ambiguous, so neither is used.
      const lines = request.raw.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'idempotency-key').length;
      if (lines > 1) throw new TollkeeperError('invalid_request', `headers.idempotency-key: send one Idempotency-Key (got ${lines})`);
      if (typeof idem === 'string' && idem.length > MAX_IDEMPOTENCY_KEY) throw new TollkeeperError('invalid_request', `headers.idempotency-key: at most ${MAX_IDEMPOTENCY_KEY} characters (got ${idem.length})`);
      if (typeof idem !== 'string' || idem.length === 0) return act(body);
      const outcome = await deps.idempotency.run(idem, canonicalJson(body), () => act(body), [JSON.stringify(body)]);
      if (outcome.kind === 'conflict') throw new TollkeeperError('idempotency_key_reused', 'this Idempotency-Key was used with a different body');
      if (outcome.kind === 'replayed') void reply.header('idempotent-replayed', 'true');
      return outcome.value;
    },
  );

  async function act(body: Static<typeof Body>): Promise<Static<typeof Result>> {
    const now = deps.now();
    let ttlMs: number | undefined;
    if (body.action !== 'restore' && body.ttl !== undefined) {
      const ttl = parseDuration(body.ttl);
      if (!ttl.ok) throw new TollkeeperError('invalid_ttl', `ttl: ${ttl.error}`);
      // An entry meant to outlive this is one without a ttl (it stays until restored).
      if (ttl.ms > MAX_TTL_MS) throw new TollkeeperError('invalid_ttl', `ttl: at most 3650d (got ${JSON.stringify(body.ttl)}); leave ttl out for an entry that stays until restored`);
      // Shorter than gateways poll: listed and gone before anyone enforces it.
      if (ttl.ms < MIN_TTL_MS) throw new TollkeeperError('invalid_ttl', `ttl: at least 1s (got ${JSON.stringify(body.ttl)})`);
      ttlMs = ttl.ms;
    }
    if (body.action === 'throttle' && !body.limit) throw new TollkeeperError('missing_limit', 'throttle needs limit: { requests_per_minute?, tokens_per_minute? }');
    // An empty limit would list a throttle that lets every request through.
    if (body.action === 'throttle' && body.limit?.requests_per_minute === undefined && body.limit?.tokens_per_minute === undefined) {
      throw new TollkeeperError('missing_limit', 'limit: a throttle needs requests_per_minute or tokens_per_minute (got {})');
    }
    // The decision is core's (the same cause builder as quotas and anomalies); this route carries it out.
    const listed = enforcement.get(body.kind, body.id) !== undefined;
    const d = manualStep({ ...body, ...(ttlMs !== undefined ? { ttlMs } : {}) }, listed, now);
    await enforcement.apply(d);
    let result: Static<typeof Result>;
    if (body.action === 'restore') result = { version: enforcement.version, removed: listed ? { kind: body.kind, id: body.id } : null };
    else {
      const entry = enforcement.get(body.kind, body.id);
      result = { version: enforcement.version, ...(entry ? { entry } : {}) };
    }
    // Answered once the alert deliveries are stored: a kill -9 right after this answer still alerts after the restart.
    await deps.bus.publish(d.events);
    return result;
  }

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
