import { Type } from '@sinclair/typebox';
import { DurationMs, Port, strict, withDefault } from './schema-parts.ts';

/* What gateways ask before a call: the headers they forward, their listener, and admission with reservations. */

// HTTP header names are case-insensitive; Node hands them to us in lower case.
const HeaderName = Type.Transform(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", errorMessage: 'expected an HTTP header name' }))
  .Decode((s) => s.toLowerCase())
  .Encode((s) => s);

export const gatewaySection = Type.Object(
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
    /**
     * The gateway listener: `/v1/authorize` and `/v1/revocations` on their own port, served off the main thread by a
     * worker in a process of its own (`process`) or in a thread of this one (`thread`). `worker`, its earlier name,
     * means `process`.
     */
    listener: Type.Union([Type.Literal('process'), Type.Literal('thread'), Type.Literal('worker'), Type.Literal('off')], { default: 'process' }),
    port: withDefault(Port, 4320),
    /** Default: `server.host`. */
    host: Type.Optional(Type.String({ minLength: 1 })),
    nginx_mode: Type.Boolean({ default: false }),
    max_staleness: withDefault(DurationMs, '30s'),
    fail_mode: Type.Union([Type.Literal('open'), Type.Literal('closed')], { default: 'open' }),
    /** How much lower than the gateway listener's thread every other thread of the process runs (Linux nice; 0 = off). */
    background_nice: Type.Integer({ minimum: 0, maximum: 19, default: 10 }),
  },
  { ...strict, default: {} },
);

/** Admission with reservations (POST /v1/admission): how long a reservation holds and what a silent estimate assumes. */
export const admissionSection = Type.Object(
  {
    ttl: withDefault(DurationMs, '60s'),
    max_ttl: withDefault(DurationMs, '10m'),
    default_input_tokens: Type.Integer({ minimum: 0, maximum: 100_000_000, default: 8192 }),
    default_max_output_tokens: Type.Integer({ minimum: 0, maximum: 100_000_000, default: 4096 }),
    flush_interval: withDefault(DurationMs, '200ms'),
  },
  { ...strict, default: {} },
);
