import { Type } from '@sinclair/typebox';
import { policyToInput } from '../quota/policy-format.ts';
import { Action, PolicyInput, policyFromInput } from '../quota/policy-schema.ts';
import type { PolicyAction } from '../quota/policy.ts';
import { PathError } from '../schema/describe-errors.ts';
import { DurationMs, EntityKindT, NonNegative, Positive, strict, withDefault } from './schema-parts.ts';

/* What the detector watches for: its tick, the quota policies, and anomaly detection. */

/** Default `anomaly.max_entities`: under a flood of distinct ids, memory stays about this many entities a kind. */
export const DEFAULT_MAX_ENTITIES = 20_000;

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
    if (!r.ok) {
      const [, path = 'period', why = r.errors.join('; ')] = /^(period(?:\.rolling)?): (.*)$/s.exec(r.errors[0] ?? '') ?? [];
      throw new PathError(path, why);
    }
    return r.value;
  })
  .Encode(policyToInput);

export const detectorSection = Type.Object({ interval: withDefault(DurationMs, '2s'), shadow: Type.Boolean({ default: false }) }, { ...strict, default: {} });

export const policiesSection = Type.Array(PolicyT, { default: [] });

export const anomalySection = Type.Object(
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
    /** Entities of one kind detection holds in memory at once; past it the coldest (least spend) are dropped. */
    max_entities: Type.Integer({ minimum: 1, maximum: 10_000_000, default: DEFAULT_MAX_ENTITIES }),
    /** Sequential tests on usage seconds after it is stored (sub-minute buckets over a sliding window). */
    fresh: Type.Object(
      { enabled: Type.Boolean({ default: true }), bucket: withDefault(DurationMs, '10s'), window: withDefault(DurationMs, '30m') },
      { ...strict, default: {} },
    ),
  },
  { ...strict, default: {} },
);
