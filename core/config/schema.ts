import { z } from 'zod';
import { parseDuration } from '../quota/duration.ts';
import { validatePeriodSpec, validateTimezone, type PeriodSpec } from '../quota/period.ts';
import { DIMENSIONS } from '../quota/policy.ts';
import { ENTITY_KINDS } from '../usage/types.ts';
import { ALERT_EVENT_TYPES } from '../alerts/types.ts';

const duration = z.string().transform((s, ctx) => {
  const r = parseDuration(s);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  }
  return r.ms;
});

const timezone = z
  .string()
  .default('UTC')
  .refine(validateTimezone, { message: 'unknown time zone (use an IANA name such as UTC or Europe/Berlin)' });

const date = z
  .union([z.string(), z.date()])
  .transform((v, ctx) => {
    const s = v instanceof Date ? v.toISOString().slice(0, 10) : v;
    if (!/^\d{4}-\d{2}-\d{2}(T.*)?$/.test(s) || Number.isNaN(Date.parse(s))) {
      ctx.addIssue({ code: 'custom', message: 'expected a date like 2026-01-31' });
      return z.NEVER;
    }
    return s;
  });

const port = z.number().int().min(0).max(65535);
const nonNegative = z.number().finite().nonnegative();
const positive = z.number().finite().positive();

const periodSchema = z.union([
  z.strictObject({ calendar: z.enum(['hour', 'day', 'week', 'month']), timezone }).transform((p) => ({
    kind: 'calendar' as const,
    unit: p.calendar,
    timezone: p.timezone,
  })),
  z
    .strictObject({ billing_cycle: z.strictObject({ anchor: date, timezone }) })
    .transform((p) => ({ kind: 'billing_cycle' as const, anchor: p.billing_cycle.anchor, timezone: p.billing_cycle.timezone })),
  z.strictObject({ rolling: duration }).transform((p) => ({ kind: 'rolling' as const, ms: p.rolling })),
]).superRefine((spec: PeriodSpec, ctx) => {
  const r = validatePeriodSpec(spec);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error });
});

const throttle = z.strictObject({
  throttle: z
    .strictObject({ requests_per_minute: positive.optional(), tokens_per_minute: positive.optional() })
    .refine((t) => t.requests_per_minute !== undefined || t.tokens_per_minute !== undefined, {
      message: 'throttle needs requests_per_minute or tokens_per_minute',
    }),
});

export const actionSchema = z.union([
  z.literal('alert').transform(() => ({ type: 'alert' as const })),
  z.literal('revoke').transform(() => ({ type: 'revoke' as const })),
  throttle.transform((t) => ({
    type: 'throttle' as const,
    ...(t.throttle.requests_per_minute !== undefined ? { requestsPerMinute: t.throttle.requests_per_minute } : {}),
    ...(t.throttle.tokens_per_minute !== undefined ? { tokensPerMinute: t.throttle.tokens_per_minute } : {}),
  })),
]);

const limitsShape = Object.fromEntries(DIMENSIONS.map((d) => [d, positive.optional()])) as Record<
  (typeof DIMENSIONS)[number],
  z.ZodOptional<z.ZodNumber>
>;

export const policySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'use letters, digits and _ . : - (max 128)'),
  scope: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]{0,127}$/, 'expected an entity kind or an attribute name'),
  match: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  period: periodSchema.default({ kind: 'calendar', unit: 'day', timezone: 'UTC' }),
  limits: z
    .strictObject(limitsShape)
    .refine((l) => Object.values(l).some((v) => v !== undefined), { message: 'at least one limit is needed' }),
  thresholds: z
    .array(z.number().gt(0).max(10))
    .min(1)
    .default([0.5, 0.8, 1.0])
    .transform((t) => [...new Set(t)].sort((a, b) => a - b)),
  action: actionSchema.default({ type: 'alert' }),
});

const identityList = z.array(z.string().min(1)).min(1);
const identityShape = Object.fromEntries(ENTITY_KINDS.map((k) => [k, identityList.optional()])) as Record<
  (typeof ENTITY_KINDS)[number],
  z.ZodOptional<typeof identityList>
>;

const overrideSchema = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  input_per_mtok: nonNegative,
  output_per_mtok: nonNegative,
  cache_read_per_mtok: nonNegative.optional(),
  cache_write_per_mtok: nonNegative.optional(),
  reasoning_per_mtok: nonNegative.optional(),
  effective_from: date.default('1970-01-01'),
});

const severityAction = actionSchema;

/** Listener timeouts (ms): request head, whole request, idle keep-alive, silent socket. */
const DEFAULT_TIMEOUTS = { headers: 10_000, request: 30_000, idle: 65_000, socket: 120_000 };
const timeoutsSchema = z
  .strictObject({
    headers: duration.default(DEFAULT_TIMEOUTS.headers),
    request: duration.default(DEFAULT_TIMEOUTS.request),
    idle: duration.default(DEFAULT_TIMEOUTS.idle),
    socket: duration.default(DEFAULT_TIMEOUTS.socket),
  })
  .refine((t) => t.headers > 0 && t.headers <= t.request, { message: 'headers must be more than 0 and at most request' })
  .refine((t) => t.idle > 0 && t.request > 0, { message: 'request and idle must be more than 0' })
  .refine((t) => t.socket === 0 || t.socket > 60_000, { message: 'socket must be 0 (off) or more than 60s, the longest revocation long-poll' });

// HTTP header names are case-insensitive; Node hands them to us in lower case.
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name')
  .transform((s) => s.toLowerCase());
const GATEWAY_HEADER_DEFAULTS = {
  api_key: 'x-tollkeeper-api-key',
  secret: 'authorization',
  tenant: 'x-tollkeeper-tenant',
  agent: 'x-tollkeeper-agent',
  user: 'x-tollkeeper-user',
};

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      otlp_port: port.default(4318),
      api_port: port.default(8080),
      public_url: z.string().url().optional(),
      timeouts: timeoutsSchema.default(DEFAULT_TIMEOUTS),
      /** Connections per listener; default from the open-file limit (at most 8192). */
      max_connections: z.number().int().min(1).optional(),
    })
    .default({ host: '127.0.0.1', otlp_port: 4318, api_port: 8080, timeouts: DEFAULT_TIMEOUTS }),
  store: z
    .strictObject({
      chdb: z.strictObject({ path: z.string().default('./data') }).optional(),
      clickhouse: z
        .strictObject({
          url: z.string().url(),
          database: z.string().default('tollkeeper'),
          username: z.string().default('default'),
          password: z.string().default(''),
        })
        .optional(),
    })
    .refine((s) => !(s.chdb && s.clickhouse), { message: 'choose one of store.chdb and store.clickhouse' })
    .default({}),
  auth: z
    .strictObject({ admin_token: z.string().min(16).optional(), gateway_token: z.string().min(16).optional(), otlp_token: z.string().min(16).optional() })
    .default({}),
  identity: z
    .strictObject({
      ...identityShape,
      secret_attributes: z.array(z.string()).default([]),
      required: z.array(z.enum(ENTITY_KINDS)).default([]),
      attributes: z.array(z.string()).default([]),
      hash_key: z.string().min(16).optional(),
    })
    .default({ secret_attributes: [], required: [], attributes: [] }),
  ingest: z
    .strictObject({
      max_age: duration.default(35 * 86_400_000),
      body_limit_mib: positive.max(512).default(8),
      batch_size: z.number().int().min(1).max(100_000).default(20_000),
      flush_interval: duration.default(200),
      spool_max_mib: positive.default(512),
      compute_operations: z.array(z.string()).default([]),
    })
    .default({ max_age: 35 * 86_400_000, body_limit_mib: 8, batch_size: 20_000, flush_interval: 200, spool_max_mib: 512, compute_operations: [] }),
  pricing: z
    .strictObject({
      overrides: z.array(overrideSchema).default([]),
      fallback: z.strictObject({ input_per_mtok: nonNegative, output_per_mtok: nonNegative }).nullable().default(null),
    })
    .default({ overrides: [], fallback: null }),
  detector: z
    .strictObject({ interval: duration.default(2000), shadow: z.boolean().default(false) })
    .default({ interval: 2000, shadow: false }),
  policies: z.array(policySchema).default([]),
  anomaly: z
    .strictObject({
      enabled: z.boolean().default(true),
      scopes: z.array(z.enum(ENTITY_KINDS)).default(['api_key', 'tenant', 'agent']),
      thresholds: z.strictObject({ warning: positive.default(4), critical: positive.default(8) }).default({ warning: 4, critical: 8 }),
      floors: z
        .strictObject({
          cost_usd_per_minute: nonNegative.default(0.05),
          tokens_per_minute: nonNegative.optional(),
          requests_per_minute: nonNegative.optional(),
          tool_calls_per_minute: nonNegative.optional(),
        })
        .default({ cost_usd_per_minute: 0.05 }),
      actions: z
        .strictObject({ warning: severityAction.default({ type: 'alert' }), critical: severityAction.default({ type: 'revoke' }) })
        .default({ warning: { type: 'alert' }, critical: { type: 'revoke' } }),
      /** How long an anomaly revocation/throttle lasts unless restored earlier (default: until restored). */
      ttl: duration.optional(),
      /** Back to normal for this long resolves an incident. */
      quiet_period: duration.default(120_000),
    })
    .default({
      enabled: true,
      quiet_period: 120_000,
      scopes: ['api_key', 'tenant', 'agent'],
      thresholds: { warning: 4, critical: 8 },
      floors: { cost_usd_per_minute: 0.05 },
      actions: { warning: { type: 'alert' }, critical: { type: 'revoke' } },
    }),
  gateway: z
    .strictObject({
      headers: z
        .strictObject({
          api_key: headerName.default('x-tollkeeper-api-key'),
          secret: headerName.default('authorization'),
          tenant: headerName.default('x-tollkeeper-tenant'),
          agent: headerName.default('x-tollkeeper-agent'),
          user: headerName.default('x-tollkeeper-user'),
          conversation: headerName.optional(),
          service: headerName.optional(),
        })
        .default(GATEWAY_HEADER_DEFAULTS),
      nginx_mode: z.boolean().default(false),
      max_staleness: duration.default(30_000),
      fail_mode: z.enum(['open', 'closed']).default('open'),
    })
    .default({ headers: GATEWAY_HEADER_DEFAULTS, nginx_mode: false, max_staleness: 30_000, fail_mode: 'open' }),
  alerts: z
    .strictObject({
      /** Base URL of the API as operators reach it, used in the restore call of messages (default: the API's own address). */
      public_url: z.string().url().optional(),
      email: z
        .strictObject({
          smtp_url: z.string().optional(),
          from: z.string().default('tollkeeper@localhost'),
          to: z.array(z.string()).default([]),
          cooldown: duration.default(15 * 60_000),
          /** Extra recipients per policy, tenant, entity kind, severity or event type. */
          routes: z
            .array(
              z.strictObject({
                to: z.array(z.string()).min(1),
                policy: z.string().optional(),
                tenant: z.string().optional(),
                kind: z.string().optional(),
                severity: z.enum(['info', 'warning', 'critical']).optional(),
                events: z.array(z.enum(ALERT_EVENT_TYPES)).optional(),
              }),
            )
            .default([]),
          dashboard_url: z.string().url().optional(),
          chart_hours: positive.max(168).default(6),
          timeout: duration.default(10_000),
        })
        .optional(),
      webhooks: z
        .array(
          z
            .strictObject({
              name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)').optional(),
              url: z.string().url(),
              secret: z.string().min(8).optional(),
              events: z.array(z.enum(ALERT_EVENT_TYPES)).optional(),
              format: z.enum(['standard', 'slack']).default('standard'),
              timeout: duration.default(10_000),
            })
            .refine((w) => w.format === 'slack' || w.secret !== undefined, { message: 'a standard webhook needs a secret (whsec_… or any string of 8+ characters)', path: ['secret'] }),
        )
        .default([]),
      delivery: z
        .strictObject({
          max_attempts: z.number().int().min(1).max(100).default(10),
          backoff: duration.default(1000),
          max_backoff: duration.default(5 * 60_000),
        })
        .default({ max_attempts: 10, backoff: 1000, max_backoff: 5 * 60_000 }),
    })
    .default({ webhooks: [], delivery: { max_attempts: 10, backoff: 1000, max_backoff: 5 * 60_000 } }),
});

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
