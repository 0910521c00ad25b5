import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { requireRole, type Tokens } from '../detector/auth.ts';
import type { Delivery, Notifier } from '../detector/alerts/notifier.ts';

const Channel = Type.Union([Type.Literal('webhook'), Type.Literal('slack'), Type.Literal('email')]);
const Status = Type.Union([Type.Literal('pending'), Type.Literal('failed'), Type.Literal('delivered'), Type.Literal('dead')]);
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const DeliveryView = Type.Object({
  id: Type.String(),
  channel: Channel,
  target: Type.String(),
  event_type: Type.String(),
  entities: Type.Array(Type.Object({ kind: Type.String(), id: Type.String() })),
  status: Status,
  attempts: Type.Integer(),
  next_attempt_at: Nullable(Time),
  last_error: Nullable(Type.String()),
  created_at: Time,
  updated_at: Time,
  delivered_at: Nullable(Time),
});

const DeliveryDetail = Type.Intersect([DeliveryView, Type.Object({ payload: Type.String({ description: 'what is sent: the signed JSON body, the chat message, or the planned mail' }) })]);

const Query = Type.Object(
  {
    channel: Type.Optional(Channel),
    status: Type.Optional(Status),
    entity: Type.Optional(Type.String({ maxLength: 256 })),
    kind: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

const Id = Type.Object({ id: Type.String({ maxLength: 128 }) });
const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

const SubscriberView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  format: Type.Union([Type.Literal('standard'), Type.Literal('slack')]),
  events: Type.Union([Type.Array(Type.String()), Type.Null()]),
  disabled: Type.Boolean(),
  disabled_reason: Type.Union([Type.String(), Type.Null()]),
});

const iso = (ms: number) => new Date(ms).toISOString();

/** The API shape of a delivery (snake_case, RFC 3339 times). */
export function deliveryView(d: Delivery): Static<typeof DeliveryView> {
  return {
    id: d.id,
    channel: d.channel,
    target: d.target,
    event_type: d.eventType,
    entities: d.entities.map((e) => {
      const i = e.indexOf(':');
      return { kind: e.slice(0, i), id: e.slice(i + 1) };
    }),
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.status === 'pending' || d.status === 'failed' ? iso(d.nextAttemptAt) : null,
    last_error: d.lastError || null,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
    delivered_at: d.deliveredAt === null ? null : iso(d.deliveredAt),
  };
}

export interface AlertRoutesOptions {
  notifier: Notifier;
  tokens: Tokens;
}

/** The alerts outbox over HTTP: what was sent where, what failed and why, and retrying one delivery. */
export const alertRoutes: FastifyPluginAsync<AlertRoutesOptions> = async (app, o) => {
  // Auth before validation: an unauthenticated caller learns nothing about the query shape.
  app.addHook('onRequest', requireRole(o.tokens, ['admin']));

  app.get('/api/alerts/deliveries', { schema: { querystring: Query, response: { 200: Type.Object({ deliveries: Type.Array(DeliveryView) }) } } }, async (request) => {
    const q = request.query as Static<typeof Query>;
    const rows = await o.notifier.list({
      ...(q.channel ? { channel: q.channel } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.entity ? { entity: q.entity } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      limit: q.limit ?? 100,
    });
    return { deliveries: rows.map(deliveryView) };
  });

  app.get('/api/alerts/deliveries/:id', { schema: { params: Id, response: { 200: DeliveryDetail, 404: ErrorBody } } }, async (request, reply) => {
    const d = await o.notifier.get((request.params as Static<typeof Id>).id);
    if (!d) return reply.code(404).send({ error: 'not_found', message: 'no such delivery' });
    return { ...deliveryView(d), payload: d.payload };
  });

  app.post('/api/alerts/deliveries/:id/redeliver', { schema: { params: Id, response: { 202: Type.Object({ delivery: DeliveryView }), 404: ErrorBody } } }, async (request, reply) => {
    const d = await o.notifier.outbox.redeliver((request.params as Static<typeof Id>).id);
    if (!d) return reply.code(404).send({ error: 'not_found', message: 'no such delivery' });
    return reply.code(202).send({ delivery: deliveryView(d) });
  });

  app.get('/api/alerts/subscribers', { schema: { response: { 200: Type.Object({ subscribers: Type.Array(SubscriberView) }) } } }, async () => ({ subscribers: o.notifier.subscribers() }));

  app.post('/api/alerts/subscribers/:id/enable', { schema: { params: Id, response: { 200: Type.Object({ subscriber: SubscriberView }), 404: ErrorBody } } }, async (request, reply) => {
    const id = (request.params as Static<typeof Id>).id;
    if (!(await o.notifier.enable(id))) return reply.code(404).send({ error: 'not_found', message: 'no webhook subscriber with this id in the configuration' });
    return { subscriber: o.notifier.subscribers().find((s) => s.id === id)! };
  });
};
