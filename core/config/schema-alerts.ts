import { Type } from '@sinclair/typebox';
import { AlertEventT, DurationMs, Name, strict, Url, withDefault } from './schema-parts.ts';

/** An events filter: at least one type (an empty list would send nothing; leave it out for every event). */
const Events = Type.Array(AlertEventT, { minItems: 1, errorMessage: 'expected at least one event type; leave events out for every event' });

/* Where alerts go: email (routes, cooldown, charts), webhooks, and how deliveries are retried. */

const EmailRoute = Type.Object(
  {
    to: Type.Array(Type.String(), { minItems: 1 }),
    policy: Type.Optional(Type.String()),
    tenant: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    severity: Type.Optional(Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')])),
    events: Type.Optional(Events),
  },
  strict,
);

const Email = Type.Object(
  {
    smtp_url: Type.Optional(Type.String()),
    from: Type.String({ default: 'tollkeeper@localhost' }),
    to: Type.Array(Type.String(), { default: [] }),
    cooldown: withDefault(DurationMs, '15m'),
    /** Extra recipients per policy, tenant, entity kind, severity or event type. */
    routes: Type.Array(EmailRoute, { default: [] }),
    dashboard_url: Type.Optional(Url),
    chart_hours: Type.Number({ exclusiveMinimum: 0, maximum: 168, default: 6 }),
    timeout: withDefault(DurationMs, '10s'),
  },
  strict,
);

const Webhook = Type.Object(
  {
    name: Type.Optional(Name),
    url: Url,
    secret: Type.Optional(Type.String({ minLength: 8 })),
    events: Type.Optional(Events),
    format: Type.Union([Type.Literal('standard'), Type.Literal('slack')], { default: 'standard' }),
    timeout: withDefault(DurationMs, '10s'),
  },
  strict,
);

export const alertsSection = Type.Object(
  {
    /** Base URL of the API as operators reach it, used in the restore call of messages (default: the API's own address). */
    public_url: Type.Optional(Url),
    email: Type.Optional(Email),
    webhooks: Type.Array(Webhook, { default: [] }),
    delivery: Type.Object(
      {
        max_attempts: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
        backoff: withDefault(DurationMs, '1s'),
        max_backoff: withDefault(DurationMs, '5m'),
      },
      { ...strict, default: {} },
    ),
  },
  { ...strict, default: {} },
);
