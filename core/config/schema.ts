import { Type, type StaticDecode, type TSchema } from '@sinclair/typebox';
import { formatDuration, parseDuration } from '../quota/duration.ts';
import { policyToInput } from '../quota/policy-format.ts';
import { Action, Duration, PolicyInput, policyFromInput } from '../quota/policy-schema.ts';
import type { PolicyAction } from '../quota/policy.ts';
import { PathError } from '../schema/describe-errors.ts';
import { ENTITY_KINDS, type EntityKind } from '../usage/types.ts';
import { ALERT_EVENT_TYPES, type AlertEventType } from '../alerts/types.ts';

/*
 * The configuration file, as one TypeBox schema: shapes, defaults (filled in before the check), and the
 * conversions to the values the code uses (durations to milliseconds, policies and actions to their parsed
 * forms). The policy schema is the one the admin API validates with.
 */

/** A duration string in the file, milliseconds in the config. */
const DurationMs = Type.Transform(Duration)
  .Decode((s) => {
    const r = parseDuration(s);
    if (!r.ok) throw new Error(r.error);
    return r.ms;
  })
  .Encode((ms) => formatDuration(ms));

const withDefault = <T extends TSchema>(schema: T, value: unknown): T => ({ ...schema, default: value });

const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const NonNegative = Type.Number({ minimum: 0 });
const Positive = Type.Number({ exclusiveMinimum: 0 });
const Url = Type.String({ format: 'uri' });
const EntityKindT = Type.Union(ENTITY_KINDS.map((k) => Type.Literal<EntityKind>(k)));
const AlertEventT = Type.Union(ALERT_EVENT_TYPES.map((e) => Type.Literal<AlertEventType>(e)));
const strict = { additionalProperties: false } as const;

/** `alert`, `revoke` or `{ throttle: {…} }` in the file; the parsed action in the config. */
const ActionT = Type.Transform(Action)
  .Decode((a): PolicyAction => {
    if (a === 'alert' || a === 'revoke') return { type: a };
    return {
      type: 'throttle',
      ...(a.throttle.requests_per_minute !== undefined ? { requestsPerMinute: a.throttle.requests_per_minute } : {}),
      ...(a.throttle.tokens_per_minute !== undefined ? { tokensPerMinute: a.throttle.tokens_per_minute } : {}),
    };
  })
  .Encode((a) => (a.type === 'throttle' ? { throttle: { ...(a.requestsPerMinute !== undefined ? { requests_per_minute: a.requestsPerMinute } : {}), ...(a.tokensPerMinute !== undefined ? { tokens_per_minute: a.tokensPerMinute } : {}) } } : a.type));

/** A policy exactly as the admin API takes it; parsed into the quota engine's form. */
const PolicyT = Type.Transform(PolicyInput)
  .Decode((p) => {
    const r = policyFromInput(p);
    // The one problem a checked policy can still have is its period (an anchor that is not a real date).
    if (!r.ok) throw new PathError('period', r.errors.map((e) => e.replace(/^period: /, '')).join('; '));
    return r.value;
  })
  .Encode(policyToInput);

// HTTP header names are case-insensitive; Node hands them to us in lower case.
const HeaderName = Type.Transform(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", errorMessage: 'expected an HTTP header name' }))
  .Decode((s) => s.toLowerCase())
  .Encode((s) => s);

const IdentityList = Type.Array(Type.String({ minLength: 1 }), { minItems: 1 });
const OptionalIdentityList = Type.Optional(IdentityList);

const PriceOverride = Type.Object(
  {
    provider: Type.String({ minLength: 1 }),
    model: Type.String({ minLength: 1 }),
    input_per_mtok: NonNegative,
    output_per_mtok: NonNegative,
    cache_read_per_mtok: Type.Optional(NonNegative),
    cache_write_per_mtok: Type.Optional(NonNegative),
    reasoning_per_mtok: Type.Optional(NonNegative),
    effective_from: Type.String({ format: 'date', default: '1970-01-01' }),
  },
  strict,
);

const ScopeList = Type.Array(Type.String({ minLength: 1 }), { minItems: 1 });

/** One ingest token: its secret given one way (as such, as its SHA-256, or the name of an environment variable). */
const IngestTokenT = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', errorMessage: 'letters, digits, _ . - (at most 64)' }),
    token: Type.Optional(Type.String({ minLength: 16 })),
    token_hash: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', errorMessage: 'the SHA-256 of the token as 64 hex digits (printf %s "$TOKEN" | sha256sum)' })),
    token_env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', errorMessage: 'an environment variable name' })),
    tenants: Type.Optional(ScopeList),
    api_keys: Type.Optional(ScopeList),
    services: Type.Optional(ScopeList),
  },
  strict,
);

export const configSchema = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        otlp_port: withDefault(Port, 4318),
        api_port: withDefault(Port, 8080),
        public_url: Type.Optional(Url),
        /** Listener timeouts: request head, whole request, idle keep-alive, silent socket (0 = off). */
        timeouts: Type.Object(
          { headers: withDefault(DurationMs, '10s'), request: withDefault(DurationMs, '30s'), idle: withDefault(DurationMs, '65s'), socket: withDefault(DurationMs, '120s') },
          { ...strict, default: {} },
        ),
        /** Connections per listener; default from the open-file limit (at most 8192). */
        max_connections: Type.Optional(Type.Integer({ minimum: 1 })),
      },
      { ...strict, default: {} },
    ),
    store: Type.Object(
      {
        chdb: Type.Optional(Type.Object({ path: Type.String({ default: './data' }) }, strict)),
        clickhouse: Type.Optional(
          Type.Object({ url: Url, database: Type.String({ default: 'tollkeeper' }), username: Type.String({ default: 'default' }), password: Type.String({ default: '' }) }, strict),
        ),
      },
      { ...strict, default: {} },
    ),
    auth: Type.Object(
      { admin_token: Type.Optional(Type.String({ minLength: 16 })), gateway_token: Type.Optional(Type.String({ minLength: 16 })), otlp_token: Type.Optional(Type.String({ minLength: 16 })), metrics_token: Type.Optional(Type.String({ minLength: 16 })) },
      { ...strict, default: {} },
    ),
    identity: Type.Object(
      {
        ...(Object.fromEntries(ENTITY_KINDS.map((k) => [k, OptionalIdentityList])) as Record<EntityKind, typeof OptionalIdentityList>),
        secret_attributes: Type.Array(Type.String(), { default: [] }),
        required: Type.Array(EntityKindT, { default: [] }),
        attributes: Type.Array(Type.String(), { default: [] }),
        hash_key: Type.Optional(Type.String({ minLength: 16 })),
      },
      { ...strict, default: {} },
    ),
    ingest: Type.Object(
      {
        max_age: withDefault(DurationMs, '35d'),
        body_limit_mib: Type.Number({ exclusiveMinimum: 0, maximum: 512, default: 8 }),
        batch_size: Type.Integer({ minimum: 1, maximum: 100_000, default: 20_000 }),
        flush_interval: withDefault(DurationMs, '200ms'),
        spool_max_mib: withDefault(Positive, 512),
        max_queue_mib: Type.Number({ exclusiveMinimum: 0, maximum: 4096, default: 64 }),
        compute_operations: Type.Array(Type.String(), { default: [] }),
        /** Tokens services send usage with, each optionally limited to the tenants, keys and services it reports for. */
        tokens: Type.Array(IngestTokenT, { default: [] }),
        /** Accept usage without a token on an address other than loopback (anyone who reaches it can report usage). */
        insecure: Type.Boolean({ default: false }),
      },
      { ...strict, default: {} },
    ),
    pricing: Type.Object(
      {
        overrides: Type.Array(PriceOverride, { default: [] }),
        fallback: Type.Union([Type.Object({ input_per_mtok: NonNegative, output_per_mtok: NonNegative }, strict), Type.Null()], { default: null }),
      },
      { ...strict, default: {} },
    ),
    detector: Type.Object({ interval: withDefault(DurationMs, '2s'), shadow: Type.Boolean({ default: false }) }, { ...strict, default: {} }),
    policies: Type.Array(PolicyT, { default: [] }),
    anomaly: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        scopes: Type.Array(EntityKindT, { default: ['api_key', 'tenant', 'agent'] }),
        thresholds: Type.Object({ warning: withDefault(Positive, 4), critical: withDefault(Positive, 8) }, { ...strict, default: {} }),
        floors: Type.Object(
          {
            cost_usd_per_minute: withDefault(NonNegative, 0.05),
            tokens_per_minute: Type.Optional(NonNegative),
            requests_per_minute: Type.Optional(NonNegative),
            tool_calls_per_minute: Type.Optional(NonNegative),
          },
          { ...strict, default: {} },
        ),
        /** Money at risk that makes a finding critical: the next hour at the current rate above both bounds. */
        critical_spend: Type.Object(
          { multiple: withDefault(Type.Number({ minimum: 1 }), 20), min_usd_per_hour: withDefault(NonNegative, 5) },
          { ...strict, default: {} },
        ),
        actions: Type.Object({ warning: withDefault(ActionT, 'alert'), critical: withDefault(ActionT, 'revoke') }, { ...strict, default: {} }),
        /** How long an anomaly revocation/throttle lasts unless restored earlier (default: until restored). */
        ttl: Type.Optional(DurationMs),
        /** Back to normal for this long resolves an incident. */
        quiet_period: withDefault(DurationMs, '2m'),
        /** Sequential tests on usage seconds after it is stored (sub-minute buckets over a sliding window). */
        fresh: Type.Object(
          { enabled: Type.Boolean({ default: true }), bucket: withDefault(DurationMs, '10s'), window: withDefault(DurationMs, '30m') },
          { ...strict, default: {} },
        ),
      },
      { ...strict, default: {} },
    ),
    gateway: Type.Object(
      {
        headers: Type.Object(
          {
            api_key: withDefault(HeaderName, 'x-tollkeeper-api-key'),
            secret: withDefault(HeaderName, 'authorization'),
            tenant: withDefault(HeaderName, 'x-tollkeeper-tenant'),
            agent: withDefault(HeaderName, 'x-tollkeeper-agent'),
            user: withDefault(HeaderName, 'x-tollkeeper-user'),
            conversation: Type.Optional(HeaderName),
            service: Type.Optional(HeaderName),
          },
          { ...strict, default: {} },
        ),
        /** The gateway listener: `/v1/authorize` and `/v1/revocations` on their own port, served off the main thread. */
        listener: Type.Union([Type.Literal('worker'), Type.Literal('off')], { default: 'worker' }),
        port: withDefault(Port, 4320),
        /** Default: `server.host`. */
        host: Type.Optional(Type.String({ minLength: 1 })),
        nginx_mode: Type.Boolean({ default: false }),
        max_staleness: withDefault(DurationMs, '30s'),
        fail_mode: Type.Union([Type.Literal('open'), Type.Literal('closed')], { default: 'open' }),
      },
      { ...strict, default: {} },
    ),
    /** Admission with reservations (POST /v1/admission): how long a reservation holds and what a silent estimate assumes. */
    admission: Type.Object(
      {
        ttl: withDefault(DurationMs, '60s'),
        max_ttl: withDefault(DurationMs, '10m'),
        default_input_tokens: Type.Integer({ minimum: 0, maximum: 100_000_000, default: 8192 }),
        default_max_output_tokens: Type.Integer({ minimum: 0, maximum: 100_000_000, default: 4096 }),
        flush_interval: withDefault(DurationMs, '200ms'),
      },
      { ...strict, default: {} },
    ),
    alerts: Type.Object(
      {
        /** Base URL of the API as operators reach it, used in the restore call of messages (default: the API's own address). */
        public_url: Type.Optional(Url),
        email: Type.Optional(
          Type.Object(
            {
              smtp_url: Type.Optional(Type.String()),
              from: Type.String({ default: 'tollkeeper@localhost' }),
              to: Type.Array(Type.String(), { default: [] }),
              cooldown: withDefault(DurationMs, '15m'),
              /** Extra recipients per policy, tenant, entity kind, severity or event type. */
              routes: Type.Array(
                Type.Object(
                  {
                    to: Type.Array(Type.String(), { minItems: 1 }),
                    policy: Type.Optional(Type.String()),
                    tenant: Type.Optional(Type.String()),
                    kind: Type.Optional(Type.String()),
                    severity: Type.Optional(Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')])),
                    events: Type.Optional(Type.Array(AlertEventT)),
                  },
                  strict,
                ),
                { default: [] },
              ),
              dashboard_url: Type.Optional(Url),
              chart_hours: Type.Number({ exclusiveMinimum: 0, maximum: 168, default: 6 }),
              timeout: withDefault(DurationMs, '10s'),
            },
            strict,
          ),
        ),
        webhooks: Type.Array(
          Type.Object(
            {
              name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', errorMessage: 'letters, digits, _ . - (at most 64)' })),
              url: Url,
              secret: Type.Optional(Type.String({ minLength: 8 })),
              events: Type.Optional(Type.Array(AlertEventT)),
              format: Type.Union([Type.Literal('standard'), Type.Literal('slack')], { default: 'standard' }),
              timeout: withDefault(DurationMs, '10s'),
            },
            strict,
          ),
          { default: [] },
        ),
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
    ),
  },
  strict,
);

export type ParsedConfig = StaticDecode<typeof configSchema>;

const mapping = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const ms = (v: unknown): number | undefined => {
  const r = typeof v === 'string' ? parseDuration(v) : undefined;
  return r?.ok ? r.ms : undefined;
};

/**
 * What the schema cannot say: choices that exclude or require each other. Judged on the file's values (defaults
 * filled in) so these problems are reported together with the schema's. Each problem names its path.
 */
export function configProblems(value: unknown): string[] {
  const problems: string[] = [];
  const store = mapping(mapping(value)?.store);
  if (store?.chdb !== undefined && store.clickhouse !== undefined) problems.push('store: choose one of store.chdb and store.clickhouse');
  const t = mapping(mapping(mapping(value)?.server)?.timeouts);
  const [headers, request, idle, socket] = [ms(t?.headers), ms(t?.request), ms(t?.idle), ms(t?.socket)];
  if (headers !== undefined && request !== undefined && !(headers > 0 && headers <= request)) problems.push('server.timeouts: headers must be more than 0 and at most request');
  if ((request !== undefined && request <= 0) || (idle !== undefined && idle <= 0)) problems.push('server.timeouts: request and idle must be more than 0');
  if (socket !== undefined && socket !== 0 && socket <= 60_000) problems.push('server.timeouts: socket must be 0 (off) or more than 60s, the longest revocation long-poll');
  const tokens = mapping(mapping(value)?.ingest)?.tokens;
  if (Array.isArray(tokens)) {
    const seen = new Set<unknown>();
    tokens.forEach((t, i) => {
      const token = mapping(t);
      if (!token) return;
      const given = ['token', 'token_hash', 'token_env'].filter((k) => token[k] !== undefined);
      if (given.length !== 1) problems.push(`ingest.tokens[${i}]: give exactly one of token, token_hash and token_env (got ${given.length === 0 ? 'none' : given.join(', ')})`);
      if (token.name === 'otlp_token') problems.push(`ingest.tokens[${i}].name: "otlp_token" is the name of auth.otlp_token; choose another`);
      else if (seen.has(token.name)) problems.push(`ingest.tokens[${i}].name: ${JSON.stringify(token.name)} is used by an earlier token`);
      seen.add(token.name);
    });
  }
  const webhooks = mapping(mapping(value)?.alerts)?.webhooks;
  if (Array.isArray(webhooks)) {
    webhooks.forEach((w, i) => {
      const hook = mapping(w);
      if (hook && hook.format !== 'slack' && hook.secret === undefined) problems.push(`alerts.webhooks[${i}].secret: a standard webhook needs a secret (whsec_… or any string of 8+ characters)`);
    });
  }
  return problems;
}
