import { BUS_EVENT_TYPES, type BusEvent, type BusEventType } from '../events.ts';

/** Outbound event types: what webhooks, chat and email subscribe to (the events the decision steps emit). */
export const ALERT_EVENT_TYPES = BUS_EVENT_TYPES;
export type AlertEventType = BusEventType;

/** One decision as the detector published it (the webhook payload shape). */
export type AlertEvent = BusEvent;

/** The email subject's "What", one per event type; `Digest` names a mail about several entities. */
export type What = 'Quota threshold' | 'Quota exceeded' | 'Anomaly' | 'Anomaly resolved' | 'Revoked' | 'Throttled' | 'Restored';

export const WHAT: Record<AlertEventType, What> = {
  'quota.threshold': 'Quota threshold',
  'quota.exceeded': 'Quota exceeded',
  'anomaly.detected': 'Anomaly',
  'anomaly.resolved': 'Anomaly resolved',
  'key.revoked': 'Revoked',
  'key.throttled': 'Throttled',
  'key.restored': 'Restored',
};

/** Which event names a mail about one entity when a tick produced several: the action taken beats its cause. */
export const WHAT_RANK: Record<What, number> = {
  Revoked: 7,
  Throttled: 6,
  'Quota exceeded': 5,
  Anomaly: 4,
  'Quota threshold': 3,
  Restored: 2,
  'Anomaly resolved': 1,
};

export type Severity = 'info' | 'warning' | 'critical';

/** An anomaly carries its own severity; for the rest, what was done decides. */
export function severityOf(e: AlertEvent): Severity {
  if (e.data.severity === 'warning' || e.data.severity === 'critical') return e.data.severity;
  switch (e.type) {
    case 'quota.exceeded':
    case 'key.revoked':
      return 'critical';
    case 'quota.threshold':
    case 'key.throttled':
    case 'anomaly.detected':
      return 'warning';
    default:
      return 'info';
  }
}

export const entityKey = (e: AlertEvent): string => `${e.data.entity.kind}:${e.data.entity.id}`;
