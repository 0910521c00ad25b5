import { Type } from '@sinclair/typebox';
import { ENTITY_KINDS, type EntityKind } from '../usage/types.ts';
import { DurationMs, EntityKindT, Name, NonNegative, Positive, strict, withDefault } from './schema-parts.ts';

/* What comes in: how spans name who used what, how usage is taken in, and what it costs. */

const IdentityList = Type.Array(Type.String({ minLength: 1 }), { minItems: 1 });
const OptionalIdentityList = Type.Optional(IdentityList);

export const identitySection = Type.Object(
  {
    ...(Object.fromEntries(ENTITY_KINDS.map((k) => [k, OptionalIdentityList])) as Record<EntityKind, typeof OptionalIdentityList>),
    secret_attributes: Type.Array(Type.String(), { default: [] }),
    required: Type.Array(EntityKindT, { default: [] }),
    attributes: Type.Array(Type.String(), { default: [] }),
    hash_key: Type.Optional(Type.String({ minLength: 16 })),
  },
  { ...strict, default: {} },
);

const ScopeList = Type.Array(Type.String({ minLength: 1 }), { minItems: 1 });

/** One ingest token: its secret given one way (as such, as its SHA-256, or the name of an environment variable). */
const IngestTokenT = Type.Object(
  {
    name: Name,
    token: Type.Optional(Type.String({ minLength: 16 })),
    token_hash: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', errorMessage: 'the SHA-256 of the token as 64 hex digits (printf %s "$TOKEN" | sha256sum)' })),
    token_env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', errorMessage: 'an environment variable name' })),
    tenants: Type.Optional(ScopeList),
    api_keys: Type.Optional(ScopeList),
    services: Type.Optional(ScopeList),
  },
  strict,
);

export const ingestSection = Type.Object(
  {
    max_age: withDefault(DurationMs, '35d'),
    body_limit_mib: Type.Number({ exclusiveMinimum: 0, maximum: 512, default: 8 }),
    batch_size: Type.Integer({ minimum: 1, maximum: 100_000, default: 20_000 }),
    flush_interval: withDefault(DurationMs, '200ms'),
    spool_max_mib: withDefault(Positive, 512),
    max_queue_mib: Type.Number({ exclusiveMinimum: 0, maximum: 4096, default: 64 }),
    /** Request bodies held in memory at once (being read, decoded, ingested); default the larger of 64 and 4 × body_limit_mib. */
    max_inflight_mib: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 4096 })),
    /**
     * Resident memory of the process (MiB) the collector keeps under: from `memory_limit_mib - memory_spike_mib` on, new
     * ingest requests get 429 with Retry-After before their body is read; past the limit a collection is asked for. 0: off.
     */
    memory_limit_mib: Type.Number({ minimum: 0, maximum: 1_048_576, default: 950 }),
    /** Head room below `memory_limit_mib` for what admitted requests still allocate. */
    memory_spike_mib: Type.Number({ minimum: 0, maximum: 1_048_576, default: 100 }),
    /**
     * Longest a request waits for the store once its body is decoded: past it the answer is 503 with Retry-After
     * while the write goes on (a retried event counts once). The OTel exporters give up after 10 s by default.
     */
    answer_within: withDefault(DurationMs, '10s'),
    compute_operations: Type.Array(Type.String(), { default: [] }),
    /** Tokens services send usage with, each optionally limited to the tenants, keys and services it reports for. */
    tokens: Type.Array(IngestTokenT, { default: [] }),
    /** Accept usage without a token on an address other than loopback (anyone who reaches it can report usage). */
    insecure: Type.Boolean({ default: false }),
  },
  { ...strict, default: {} },
);

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

export const pricingSection = Type.Object(
  {
    overrides: Type.Array(PriceOverride, { default: [] }),
    fallback: Type.Union([Type.Object({ input_per_mtok: NonNegative, output_per_mtok: NonNegative }, strict), Type.Null()], { default: null }),
  },
  { ...strict, default: {} },
);
