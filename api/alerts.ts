import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { TollkeeperError } from '../core/errors.ts';
import type { Delivery, Notifier } from '../detector/alerts/notifier.ts';
import { ErrorBody } from './errors.ts';
import { EntityRef, Timestamp } from './schemas.ts';

const Channel = Type.Union([Type.Literal('webhook'), Type.Literal('slack'), Type.Literal('email')]);
const Status = Type.Union([Type.Literal('pending'), Type.Literal('failed'), Type.Literal('delivered'), Type.Literal('dead')], {
  description: 'pending: not tried yet; failed: last try failed, another is scheduled; delivered; dead: given up',
});
const OrNull = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const deliveryFields = {
  id: Type.String({ description: 'stable across retries: the webhook-id header, the mail Message-ID' }),
  channel: Channel,
  target: Type.String({ description: 'webhook subscriber id, or the recipients of a mail' }),
  event_type: Type.String({ description: 'the event type, or digest for a mail about several entities' }),
  entities: Type.Array(EntityRef),
  status: Status,
  attempts: Type.Integer(),
  next_attempt_at: OrNull(Timestamp),
  last_error: OrNull(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  delivered_at: OrNull(Timestamp),
};
const DeliveryView = Type.Object(deliveryFields, { title: 'Delivery' });
const DeliveryDetail = Type.Object(
  { ...deliveryFields, payload: Type.String({ description: 'what is sent: the signed JSON body, the chat message, or the planned mail' }) },
  { title: 'DeliveryDetail' },
);

const Query = Type.Object(
  {
    channel: Type.Optional(Channel),
    status: Type.Optional(Status),
    entity: Type.Optional(Type.String({ maxLength: 256, description: 'entity id' })),
    kind: Type.Optional(Type.String({ maxLength: 64, description: 'entity kind' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'default 100' })),
  },
  { additionalProperties: false },
);

const Id = Type.Object({ id: Type.String({ maxLength: 128 }) });

const Subscriber = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    format: Type.Union([Type.Literal('standard'), Type.Literal('slack')]),
    events: OrNull(Type.Array(Type.String())),
    disabled: Type.Boolean(),
    disabled_reason: OrNull(Type.String()),
  },
  { title: 'WebhookSubscriber' },
);

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

/** The alerts outbox: what was sent where, what failed and why, retrying one delivery; webhook subscribers. */
export const alertRoutes: FastifyPluginAsyncTypebox<{ notifier: Notifier }> = async (app, { notifier }) => {
  const tags = ['alerts'];
  app.get(
    '/api/alerts/deliveries',
    { config: { auth: 'admin' }, schema: { tags, summary: 'Alert deliveries (webhooks, chat, email), newest first', querystring: Query, response: { 200: Type.Object({ deliveries: Type.Array(DeliveryView) }) } } },
    async (request) => {
      const q = request.query;
      const rows = await notifier.list({
        ...(q.channel ? { channel: q.channel } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.entity ? { entity: q.entity } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        limit: q.limit ?? 100,
      });
      return { deliveries: rows.map(deliveryView) };
    },
  );

  app.get(
    '/api/alerts/deliveries/:id',
    { config: { auth: 'admin' }, schema: { tags, summary: 'One delivery with what it sends', params: Id, response: { 200: DeliveryDetail, 404: ErrorBody } } },
    async (request) => {
      const d = await notifier.get(request.params.id);
      if (!d) throw new TollkeeperError('not_found', 'no such delivery');
      return { ...deliveryView(d), payload: d.payload };
    },
  );

  app.post(
    '/api/alerts/deliveries/:id/redeliver',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Send one delivery again now (same id, fresh retry budget)',
        description: 'A delivery to a webhook subscriber that is disabled (it answered 410) is a 409 naming the subscriber: enable it first, or the delivery would only die again.',
        params: Id,
        response: { 202: Type.Object({ delivery: DeliveryView }), 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const known = await notifier.get(request.params.id);
      if (!known) throw new TollkeeperError('not_found', 'no such delivery');
      const sub = known.channel === 'email' ? undefined : notifier.subscribers().find((x) => x.id === known.target && x.disabled);
      if (sub) {
        throw new TollkeeperError(
          'conflict',
          `delivery ${known.id} goes to webhook subscriber ${sub.id}, which is disabled (${sub.disabled_reason ?? 'disabled'}): enable it first with POST /api/alerts/subscribers/${sub.id}/enable`,
        );
      }
      const d = await notifier.outbox.redeliver(request.params.id);
      if (!d) throw new TollkeeperError('not_found', 'no such delivery');
      return reply.code(202).send({ delivery: deliveryView(d) });
    },
  );

  app.get(
    '/api/alerts/subscribers',
    { config: { auth: 'admin' }, schema: { tags, summary: 'Configured webhook subscribers and whether a 410 disabled them', response: { 200: Type.Object({ subscribers: Type.Array(Subscriber) }) } } },
    async () => ({ subscribers: notifier.subscribers() }),
  );

  app.post(
    '/api/alerts/subscribers/:id/enable',
    { config: { auth: 'admin' }, schema: { tags, summary: 'Re-enable a subscriber disabled by a 410', params: Id, response: { 200: Type.Object({ subscriber: Subscriber }), 404: ErrorBody } } },
    async (request) => {
      const id = request.params.id;
      if (!(await notifier.enable(id))) throw new TollkeeperError('not_found', `no webhook subscriber ${id} in the configuration`);
      return { subscriber: notifier.subscribers().find((s) => s.id === id)! };
    },
  );
};
