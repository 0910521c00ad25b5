// The events a decision step emits; the detector's bus (detector/bus.ts) carries them to notifiers.

/** What the detector tells the outside world (webhooks, email, logs): see docs/concepts/enforcement.md. */
export const BUS_EVENT_TYPES = ['quota.threshold', 'quota.exceeded', 'anomaly.detected', 'anomaly.resolved', 'key.revoked', 'key.throttled', 'key.restored'] as const;
export type BusEventType = (typeof BUS_EVENT_TYPES)[number];

export interface BusEvent {
  type: BusEventType;
  timestamp: string;
  data: {
    entity: { kind: string; id: string };
    tenant?: string;
    source: 'quota' | 'anomaly' | 'manual';
    policy?: string;
    incident_id?: string;
    pattern?: string;
    severity?: string;
    observed?: number;
    expected?: number;
    action?: string;
    /** Anomalies: what observed and expected measure (cost_usd, tokens, requests, tool_calls). */
    metric?: string;
    /** Quotas: the limited dimension that was crossed (observed = used, expected = limit). */
    dimension?: string;
    reason: string;
    [extra: string]: unknown;
  };
}
