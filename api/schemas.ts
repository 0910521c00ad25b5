import { Type } from '@sinclair/typebox';
import { RATE_RANGE } from '../core/quota/policy-schema.ts';

/** Schemas several areas share. An area's own schemas live in its file. */

export const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339' });

export const EntityKind = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z_][A-Za-z0-9_.]*$', description: 'api_key, user, tenant, agent, conversation, service or a mapped attribute' });

export const EntityRef = Type.Object({ kind: Type.String(), id: Type.String() });

export const ThrottleLimit = Type.Object(
  { requests_per_minute: Type.Optional(Type.Number(RATE_RANGE)), tokens_per_minute: Type.Optional(Type.Number(RATE_RANGE)) },
  { additionalProperties: false },
);

const causeFields = {
  action: Type.Union([Type.Literal('revoke'), Type.Literal('throttle')]),
  limit: Type.Optional(ThrottleLimit),
  reason: Type.String(),
  source: Type.Union([Type.Literal('quota'), Type.Literal('anomaly'), Type.Literal('manual')]),
  ref: Type.String({ description: 'policy name, incident id, or "manual"' }),
  created_at: Timestamp,
  expires_at: Type.Optional(Timestamp),
};

/** One reason an entity is listed. */
export const Cause = Type.Object(causeFields, { title: 'Cause' });

/** A revocation list entry: the strongest cause, and all of them. */
export const Entry = Type.Object({ kind: Type.String(), id: Type.String(), ...causeFields, causes: Type.Array(Cause) }, { title: 'Entry' });

/** A time range of a period or window. */
export const Window = Type.Object({ start: Timestamp, end: Timestamp });
