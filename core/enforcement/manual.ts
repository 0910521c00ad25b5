import type { BusEvent } from '../events.ts';
import { buildCause, enforcedData, type AddCause, type LiftCauses } from './cause.ts';
import type { ThrottleLimit } from './types.ts';

/** An operator's (or another system's) request through POST /v1/enforcement, validated. */
export interface ManualRequest {
  action: 'revoke' | 'throttle' | 'restore';
  kind: string;
  id: string;
  reason?: string;
  limit?: ThrottleLimit;
  ttlMs?: number;
}

/**
 * The manual decision, pure, built like the quota and anomaly steps: revoke or throttle adds one `manual` cause;
 * restore lifts every cause of the entity, whatever put it there (docs/concepts/enforcement.md).
 */
export function manualStep(req: ManualRequest, listed: boolean, now: number): { add: AddCause[]; lift: LiftCauses[]; events: BusEvent[] } {
  const reason = req.reason ?? `manual ${req.action}`;
  const at = new Date(now).toISOString();
  const entity = { kind: req.kind, id: req.id };
  if (req.action === 'restore') {
    const lift: LiftCauses = { kind: req.kind, id: req.id, source: 'manual', actor: 'api', reason };
    return { add: [], lift: [lift], events: listed ? [{ type: 'key.restored', timestamp: at, data: { entity, source: 'manual', action: 'restore', reason } }] : [] };
  }
  const enforce = req.action === 'throttle' ? { action: req.action, ...(req.limit ? { limit: req.limit } : {}) } : { action: req.action };
  const cause = buildCause({ enforce, reason, source: 'manual', ref: 'manual', at: now, ...(req.ttlMs !== undefined ? { expiresAt: now + req.ttlMs } : {}) });
  return {
    add: [{ kind: req.kind, id: req.id, cause, actor: 'api' }],
    lift: [],
    events: [{ type: req.action === 'revoke' ? 'key.revoked' : 'key.throttled', timestamp: at, data: { entity, source: 'manual', ...enforcedData(enforce), reason } }],
  };
}
