export type EnforcementAction = 'revoke' | 'throttle';
export type EnforcementSource = 'quota' | 'anomaly' | 'manual';

export interface ThrottleLimit {
  requests_per_minute?: number;
  tokens_per_minute?: number;
}

/** One reason an entity is on the list. */
export interface Cause {
  action: EnforcementAction;
  limit?: ThrottleLimit;
  reason: string;
  source: EnforcementSource;
  /** Policy name, incident id or the operator's request id. */
  ref: string;
  created_at: string;
  expires_at?: string;
}

/** A revocation list entry as gateways read it (docs/concepts/enforcement.md): the strongest cause, and all of them. */
export interface Entry extends Cause {
  kind: string;
  id: string;
  causes: Cause[];
}

export interface Change {
  version: number;
  op: 'upsert' | 'remove';
  kind: string;
  id: string;
  entry?: Entry;
}
