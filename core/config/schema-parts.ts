import { Type, type TSchema } from '@sinclair/typebox';
import { formatDuration, parseDuration } from '../quota/duration.ts';
import { Duration } from '../quota/policy-schema.ts';
import { ENTITY_KINDS, type EntityKind } from '../usage/types.ts';
import { ALERT_EVENT_TYPES, type AlertEventType } from '../alerts/types.ts';

/* The building blocks every section of the configuration file shares. */

/** A duration string in the file, milliseconds in the config. */
export const DurationMs = Type.Transform(Duration)
  .Decode((s) => {
    const r = parseDuration(s);
    if (!r.ok) throw new Error(r.error);
    return r.ms;
  })
  .Encode((ms) => formatDuration(ms));

export const withDefault = <T extends TSchema>(schema: T, value: unknown): T => ({ ...schema, default: value });

export const Port = Type.Integer({ minimum: 0, maximum: 65535 });
export const NonNegative = Type.Number({ minimum: 0 });
export const Positive = Type.Number({ exclusiveMinimum: 0 });
export const Url = Type.String({ format: 'uri' });
export const EntityKindT = Type.Union(ENTITY_KINDS.map((k) => Type.Literal<EntityKind>(k)));
export const AlertEventT = Type.Union(ALERT_EVENT_TYPES.map((e) => Type.Literal<AlertEventType>(e)));
/** The name an operator gives an ingest token or a webhook: its stable id. */
export const Name = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', errorMessage: 'letters, digits, _ . - (at most 64)' });
export const strict = { additionalProperties: false } as const;
