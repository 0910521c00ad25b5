import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Outcome } from '../errors.ts';
import { describeErrors, joinPath } from '../schema/describe-errors.ts';
import '../schema/formats.ts';
import { parseDuration } from './duration.ts';
import { rollingLengthProblem, validatePeriodSpec, type PeriodSpec } from './period.ts';
import { DIMENSIONS, type Policy, type PolicyAction } from './policy.ts';

/*
 * A policy as users write it, in the config file and in the admin API: one schema for both, so a policy is
 * accepted or refused with the same messages wherever it comes from.
 */

export const Duration = Type.String({ format: 'duration', description: 'a duration such as 500ms, 5s, 15m, 24h, 7d or 1h30m' });
export const Timezone = Type.String({ format: 'timezone', description: 'an IANA time zone (UTC, Europe/Berlin, Etc/GMT+5)', default: 'UTC' });
/**
 * Limits (and override limits) lie between these: past them, utilization, what is left and when it runs out stop
 * being finite numbers (a limit of 1e308, or of 1e-300 with any usage at all).
 */
export const LIMIT_RANGE = { minimum: 1e-6, maximum: 1e15 } as const;
/** Throttle rates per minute lie between these: the slowest still lets a call through within a day. */
export const RATE_RANGE = { minimum: 0.001, maximum: 1e12 } as const;
const positive = (description?: string) => Type.Number({ ...LIMIT_RANGE, ...(description ? { description } : {}) });
const rate = () => Type.Number({ ...RATE_RANGE, description: 'per minute, at least 0.001' });

export const Period = Type.Union(
  [
    Type.Object({ calendar: Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('week'), Type.Literal('month')]), timezone: Type.Optional(Timezone) }, { additionalProperties: false }),
    Type.Object(
      { billing_cycle: Type.Object({ anchor: Type.String({ format: 'date', description: 'first day of a cycle, e.g. 2026-01-31 (month-end anchors clamp)' }), timezone: Type.Optional(Timezone) }, { additionalProperties: false }) },
      { additionalProperties: false },
    ),
    Type.Object({ rolling: Duration }, { additionalProperties: false }),
  ],
  { description: 'calendar period, billing cycle or rolling window (default: calendar day in UTC)' },
);

export const Throttle = Type.Object(
  { requests_per_minute: Type.Optional(rate()), tokens_per_minute: Type.Optional(rate()) },
  { additionalProperties: false, minProperties: 1, errorMessage: 'throttle needs requests_per_minute or tokens_per_minute' },
);

/** `alert`, `revoke` or `{ throttle: { requests_per_minute?, tokens_per_minute? } }`. */
export const Action = Type.Union([Type.Literal('alert'), Type.Literal('revoke'), Type.Object({ throttle: Throttle }, { additionalProperties: false })]);

const optionalPositive = () => Type.Optional(positive());
export const Limits = Type.Object(Object.fromEntries(DIMENSIONS.map((d) => [d, optionalPositive()])) as Record<(typeof DIMENSIONS)[number], ReturnType<typeof optionalPositive>>, {
  additionalProperties: false,
  minProperties: 1,
  errorMessage: 'at least one limit is needed',
  description: 'exceeded when any limit is reached',
});

const policyFields = {
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$', errorMessage: 'use letters, digits and _ . : - (max 128)' }),
  scope: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.]{0,127}$', errorMessage: 'expected an entity kind or an attribute name', description: 'api_key, user, tenant, agent, conversation, service or a mapped attribute' }),
  match: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { description: 'selector on event attributes, e.g. { plan: free }' })),
  period: Type.Optional(Period),
  limits: Limits,
  thresholds: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 10 }), { minItems: 1, description: 'fractions of the limit that fire once per period (default 0.5, 0.8, 1.0)' })),
  action: Type.Optional(Action),
};

/** A policy in the config file and in `POST /api/policies`. */
export const PolicyInput = Type.Object(policyFields, { additionalProperties: false, title: 'Policy' });
export type PolicyInput = Static<typeof PolicyInput>;

/** `PUT /api/policies/:name`: the same, the name coming from the path. */
export const PolicyUpdate = Type.Object({ ...policyFields, name: Type.Optional(policyFields.name) }, { additionalProperties: false, title: 'PolicyUpdate' });

function toAction(a: PolicyInput['action']): PolicyAction {
  if (a === undefined || a === 'alert') return { type: 'alert' };
  if (a === 'revoke') return { type: 'revoke' };
  return {
    type: 'throttle',
    ...(a.throttle.requests_per_minute !== undefined ? { requestsPerMinute: a.throttle.requests_per_minute } : {}),
    ...(a.throttle.tokens_per_minute !== undefined ? { tokensPerMinute: a.throttle.tokens_per_minute } : {}),
  };
}

function toPeriod(p: PolicyInput['period']): PeriodSpec {
  if (p === undefined) return { kind: 'calendar', unit: 'day', timezone: 'UTC' };
  if ('calendar' in p) return { kind: 'calendar', unit: p.calendar, timezone: p.timezone ?? 'UTC' };
  if ('billing_cycle' in p) return { kind: 'billing_cycle', anchor: p.billing_cycle.anchor, timezone: p.billing_cycle.timezone ?? 'UTC' };
  // The schema's duration format has checked it; a NaN would still be refused by validatePeriodSpec.
  const r = parseDuration(p.rolling);
  return { kind: 'rolling', ms: r.ok ? r.ms : NaN };
}

/** Values of `schema` or every problem with it, paths starting at `root` (e.g. `policies[0]`). */
export function check<S extends TSchema>(schema: S, value: unknown, root = ''): Outcome<Static<S>, 'invalid_policy'> {
  if (Value.Check(schema, value)) return { ok: true, value: value };
  return { ok: false, code: 'invalid_policy', errors: describeErrors(schema, value, root) };
}

/** A checked policy input in the form the quota engine uses; refuses what the schema cannot see (an anchor that does not exist in its zone). */
export function policyFromInput(input: PolicyInput, root = ''): Outcome<Policy, 'invalid_policy'> {
  const period = toPeriod(input.period);
  const valid = validatePeriodSpec(period);
  if (!valid.ok) return { ok: false, code: 'invalid_policy', errors: [`${joinPath(root, 'period')}: ${valid.error}`] };
  if (period.kind === 'rolling' && input.period !== undefined && 'rolling' in input.period) {
    const problem = rollingLengthProblem(period.ms);
    if (problem !== undefined) return { ok: false, code: 'invalid_policy', errors: [`${joinPath(root, 'period.rolling')}: ${JSON.stringify(input.period.rolling)} is ${problem}`] };
  }
  return {
    ok: true,
    value: {
      name: input.name,
      scope: input.scope,
      match: Object.fromEntries(Object.entries(input.match ?? {}).map(([k, v]) => [k, String(v)])),
      period,
      limits: Object.fromEntries(Object.entries(input.limits).filter(([, v]) => v !== undefined)),
      thresholds: [...new Set(input.thresholds ?? [0.5, 0.8, 1.0])].sort((a, b) => a - b),
      action: toAction(input.action),
    },
  };
}

/** Schema check and conversion in one: what the config loader and the policy service call. */
export function parsePolicy(body: unknown, root = ''): Outcome<Policy, 'invalid_policy'> {
  const c = check(PolicyInput, body, root);
  return c.ok ? policyFromInput(c.value, root) : c;
}
