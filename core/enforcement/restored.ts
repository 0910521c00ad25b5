import type { BusEvent } from '../events.ts';
import type { Entry } from './types.ts';

/** An entity that left the revocation list without an operator: its last entry, and why it left. */
export interface LeftList {
  entry: Entry;
  /** "expired" (a ttl or a quota period ended) or the lift's reason ("rolling window usage back under the limit"). */
  reason: string;
}

/**
 * `key.restored` for each entity that left the list by itself, so receivers learn a key works again whoever lifted
 * it (a manual restore announces itself). Source and ref are those of the entry's strongest cause.
 */
export function restoredEvents(left: readonly LeftList[], now: number): BusEvent[] {
  const at = new Date(now).toISOString();
  return left.map(({ entry: e, reason }) => ({
    type: 'key.restored',
    timestamp: at,
    data: {
      entity: { kind: e.kind, id: e.id },
      source: e.source,
      ...(e.source === 'quota' ? { policy: e.ref } : e.source === 'anomaly' ? { incident_id: e.ref } : {}),
      action: 'restore',
      reason: reason === 'expired' ? `expired: ${e.reason}` : reason,
    },
  }));
}
