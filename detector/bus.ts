/** Outbound event types (SPEC §5) that webhooks and email subscribe to. */
export type BusEventType =
  | 'quota.threshold'
  | 'quota.exceeded'
  | 'anomaly.detected'
  | 'anomaly.resolved'
  | 'key.revoked'
  | 'key.throttled'
  | 'key.restored';

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

/** Where detector findings go: webhooks, email, logs. Notifiers must never block or throw into detection. */
export interface Bus {
  publish(events: BusEvent[]): void;
}

export function createBus(subscribers: ((events: BusEvent[]) => void)[] = []): Bus & { subscribe(fn: (events: BusEvent[]) => void): void } {
  return {
    publish(events) {
      if (events.length === 0) return;
      for (const s of subscribers) {
        try {
          s(events);
        } catch {
          // a notifier's failure is its own to report
        }
      }
    },
    subscribe(fn) {
      subscribers.push(fn);
    },
  };
}
