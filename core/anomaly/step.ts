import { buildCause, describeAction, enforcedData, enforceOf, type AddCause } from '../enforcement/cause.ts';
import type { BusEvent } from '../events.ts';
import type { PolicyAction } from '../quota/policy.ts';
import type { ReconcileResult } from './incidents.ts';
import type { Incident, Severity } from './types.ts';

/** An incident as stored: with the action its severity calls for, and whether it was only observed (shadow). */
export interface IncidentRecord extends Incident {
  action: string;
  shadow: boolean;
}

export interface AnomalyActOptions {
  actions: Record<Severity, PolicyAction>;
  shadow: boolean;
  /** Anomaly causes lift themselves after this long; undefined: they stay until an operator restores. */
  ttlMs: number | undefined;
}

/** What the anomaly step decided: incidents to store, then causes to add, then events to publish. */
export interface AnomalyDecision {
  /** Severity acted on per open incident, for the next step. */
  acted: Map<string, Severity>;
  incidents: IncidentRecord[];
  add: AddCause[];
  events: BusEvent[];
}

const RANK: Record<Severity, number> = { warning: 1, critical: 2 };

/**
 * The anomaly decision of one tick (docs/concepts/detection.md), pure: from the incident changes of this tick and
 * the severity already acted on per incident, which incidents to store, which causes to add and which events to
 * emit. An incident acts once per severity it reaches (an escalation acts once more; a restart does not act again).
 */
export function anomalyStep(acted: ReadonlyMap<string, Severity>, changes: Pick<ReconcileResult, 'opened' | 'updated' | 'resolved'>, now: number, o: AnomalyActOptions): AnomalyDecision {
  const next = new Map(acted);
  const out: AnomalyDecision = { acted: next, incidents: [], add: [], events: [] };
  const at = new Date(now).toISOString();
  const enforced: BusEvent[] = [];
  for (const inc of [...changes.opened, ...changes.updated]) {
    const action = o.actions[inc.severity];
    const label = describeAction(action);
    const data = { entity: { kind: inc.kind, id: inc.entityId }, ...(inc.tenant ? { tenant: inc.tenant } : {}), source: 'anomaly' as const, incident_id: inc.id, pattern: inc.pattern, severity: inc.severity, observed: inc.observed, expected: inc.expected, metric: inc.metric };
    const before = acted.get(inc.id);
    if (before === undefined) out.events.push({ type: 'anomaly.detected', timestamp: at, data: { ...data, action: (o.shadow ? 'shadow:' : '') + label, reason: inc.explanation } });
    out.incidents.push({ ...inc, action: label, shadow: o.shadow });
    if (before !== undefined && RANK[before] >= RANK[inc.severity]) continue;
    next.set(inc.id, inc.severity);
    const enforce = enforceOf(action);
    if (!enforce || o.shadow) continue;
    const cause = buildCause({ enforce, reason: inc.explanation, source: 'anomaly', ref: inc.id, at: now, ...(o.ttlMs ? { expiresAt: now + o.ttlMs } : {}) });
    out.add.push({ kind: inc.kind, id: inc.entityId, cause, actor: `incident:${inc.id}` });
    enforced.push({ type: enforce.action === 'revoke' ? 'key.revoked' : 'key.throttled', timestamp: at, data: { ...data, reason: inc.explanation, ...enforcedData(enforce) } });
  }
  for (const inc of changes.resolved) {
    next.delete(inc.id);
    out.events.push({ type: 'anomaly.resolved', timestamp: at, data: { entity: { kind: inc.kind, id: inc.entityId }, ...(inc.tenant ? { tenant: inc.tenant } : {}), source: 'anomaly', incident_id: inc.id, pattern: inc.pattern, severity: inc.severity, reason: `${inc.pattern} on ${inc.kind} ${inc.entityId} is back to normal` } });
    out.incidents.push({ ...inc, action: describeAction(o.actions[inc.severity]), shadow: o.shadow });
  }
  // Enforcement events follow the incident events: the incident is stored before its action shows on the list.
  out.events.push(...enforced);
  return out;
}
