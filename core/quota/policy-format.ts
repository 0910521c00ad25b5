import { formatDuration } from './duration.ts';
import type { PolicyInput } from './policy-schema.ts';
import type { Policy } from './policy.ts';

/** A policy in the shape users write it (config file and admin API), from its parsed form. */
export function policyToInput(p: Policy): PolicyInput {
  let period: NonNullable<PolicyInput['period']>;
  switch (p.period.kind) {
    case 'calendar':
      period = { calendar: p.period.unit, timezone: p.period.timezone };
      break;
    case 'billing_cycle':
      period = { billing_cycle: { anchor: p.period.anchor, timezone: p.period.timezone } };
      break;
    case 'rolling':
      period = { rolling: formatDuration(p.period.ms) };
      break;
  }
  let action: NonNullable<PolicyInput['action']> = p.action.type === 'throttle' ? 'alert' : p.action.type;
  if (p.action.type === 'throttle') {
    action = {
      throttle: {
        ...(p.action.requestsPerMinute !== undefined ? { requests_per_minute: p.action.requestsPerMinute } : {}),
        ...(p.action.tokensPerMinute !== undefined ? { tokens_per_minute: p.action.tokensPerMinute } : {}),
      },
    };
  }
  return { name: p.name, scope: p.scope, match: p.match, period, limits: p.limits, thresholds: p.thresholds, action };
}
