import type { PolicyAction } from '../quota/policy.ts';
import type { Cause, EnforcementAction, EnforcementSource, ThrottleLimit } from './types.ts';

/** What to put on the revocation list: a revocation, or a throttle with its rate limits. */
export interface Enforce {
  action: EnforcementAction;
  limit?: ThrottleLimit;
}

/** The list action of a policy or severity action; undefined for `alert`, which puts nothing on the list. */
export function enforceOf(a: PolicyAction): Enforce | undefined {
  if (a.type === 'alert') return undefined;
  if (a.type === 'revoke') return { action: 'revoke' };
  return {
    action: 'throttle',
    limit: { ...(a.requestsPerMinute ? { requests_per_minute: a.requestsPerMinute } : {}), ...(a.tokensPerMinute ? { tokens_per_minute: a.tokensPerMinute } : {}) },
  };
}

/** `action` (and a throttle's `limit`) for the event that announces an enforcement: receivers see the rate. */
export function enforcedData(e: Enforce): { action: EnforcementAction; limit?: ThrottleLimit } {
  return { action: e.action, ...(e.action === 'throttle' && e.limit ? { limit: e.limit } : {}) };
}

/** The action as incidents and replay show it: `revoke`, `alert`, `throttle(10 rpm, 5000 tpm)`. */
export function describeAction(a: PolicyAction): string {
  if (a.type !== 'throttle') return a.type;
  return `throttle(${[a.requestsPerMinute ? `${a.requestsPerMinute} rpm` : '', a.tokensPerMinute ? `${a.tokensPerMinute} tpm` : ''].filter(Boolean).join(', ')})`;
}

/**
 * The one way a cause is made, for quotas, anomalies and operators alike (docs/concepts/enforcement.md): `ref`
 * names what put it there (policy name, incident id, `manual`); without `expiresAt` it stays until lifted.
 */
export function buildCause(o: { enforce: Enforce; reason: string; source: EnforcementSource; ref: string; at: number; expiresAt?: number }): Cause {
  return {
    action: o.enforce.action,
    ...(o.enforce.action === 'throttle' && o.enforce.limit ? { limit: o.enforce.limit } : {}),
    reason: o.reason,
    source: o.source,
    ref: o.ref,
    created_at: new Date(o.at).toISOString(),
    ...(o.expiresAt !== undefined ? { expires_at: new Date(o.expiresAt).toISOString() } : {}),
  };
}

/** A cause to add to one entity's entry, and who adds it (recorded in the entity's history). */
export interface AddCause {
  kind: string;
  id: string;
  cause: Cause;
  actor: string;
}

/** Causes to lift from one entity's entry: those matching `only` (every cause without it), and who lifts them. */
export interface LiftCauses {
  kind: string;
  id: string;
  only?: { source: EnforcementSource; ref: string };
  source: EnforcementSource;
  actor: string;
  reason: string;
}
