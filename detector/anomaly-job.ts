import type { Logger } from 'pino';
import type { Incident, Severity } from '../core/anomaly/index.ts';
import type { Cause } from '../core/enforcement/types.ts';
import type { PolicyAction } from '../core/quota/policy.ts';
import type { IncidentRow } from '../store/anomaly-repo.ts';
import type { Bus, BusEvent } from './bus.ts';
import { createDetection, type DetectionOptions } from './detection.ts';
import type { Enforcement } from './enforcement.ts';

export interface AnomalyJobOptions extends DetectionOptions {
  enforcement: Enforcement;
  bus: Bus;
  logger: Logger;
  actions: Record<Severity, PolicyAction>;
  shadow: boolean;
  ttlMs: number | undefined;
}

function describeAction(a: PolicyAction): string {
  if (a.type !== 'throttle') return a.type;
  return `throttle(${[a.requestsPerMinute ? `${a.requestsPerMinute} rpm` : '', a.tokensPerMinute ? `${a.tokensPerMinute} tpm` : ''].filter(Boolean).join(', ')})`;
}

/** Each tick: a detection step (detection.ts) → incidents stored → actions per severity, events on the bus. */
export function createAnomalyJob(opts: AnomalyJobOptions) {
  const o = opts;
  const detection = createDetection(o);
  let open: Incident[] | undefined;
  /** Severity whose action was applied per incident, so an escalation acts once more and a restart does not re-act. */
  const acted = new Map<string, Severity>();
  let version = 0;
  const nextVersion = (now: number) => (version = Math.max(version + 1, now * 1000));

  async function act(inc: Incident, now: number): Promise<{ action: string; events: BusEvent[] }> {
    const action = o.actions[inc.severity];
    const data = { entity: { kind: inc.kind, id: inc.entityId }, ...(inc.tenant ? { tenant: inc.tenant } : {}), source: 'anomaly' as const, incident_id: inc.id, pattern: inc.pattern, severity: inc.severity, observed: inc.observed, expected: inc.expected, metric: inc.metric, reason: inc.explanation };
    const label = describeAction(action);
    if (acted.get(inc.id) === inc.severity || (acted.get(inc.id) === 'critical' && inc.severity === 'warning')) return { action: label, events: [] };
    acted.set(inc.id, inc.severity);
    if (action.type === 'alert' || o.shadow) return { action: label, events: [] };
    const cause: Cause = {
      action: action.type,
      ...(action.type === 'throttle' ? { limit: { ...(action.requestsPerMinute ? { requests_per_minute: action.requestsPerMinute } : {}), ...(action.tokensPerMinute ? { tokens_per_minute: action.tokensPerMinute } : {}) } } : {}),
      reason: inc.explanation,
      source: 'anomaly',
      ref: inc.id,
      created_at: new Date(now).toISOString(),
      ...(o.ttlMs ? { expires_at: new Date(now + o.ttlMs).toISOString() } : {}),
    };
    await o.enforcement.addCause(inc.kind, inc.entityId, cause, `incident:${inc.id}`);
    return { action: label, events: [{ type: action.type === 'revoke' ? 'key.revoked' : 'key.throttled', timestamp: cause.created_at, data: { ...data, action: action.type } }] };
  }

  return {
    /** Baselines held and entities waiting for theirs (cold start progress). */
    stats: () => ({ ...detection.stats(), openIncidents: open?.length ?? 0 }),
    async run(now: number): Promise<{ findings: number; findingLabels: string[]; entitiesScored: number; opened: Incident[]; resolved: Incident[] }> {
      if (!open) {
        open = await o.repo.listIncidents({ status: 'open', limit: 100_000 });
        for (const inc of open as IncidentRow[]) acted.set(inc.id, inc.severity);
      }
      const rec = await detection.step(open, now);
      open = rec.open;
      const events: BusEvent[] = [];
      const rows: IncidentRow[] = [];
      const ts = new Date(now).toISOString();
      const toAct: Incident[] = [];
      for (const inc of [...rec.opened, ...rec.updated]) {
        if (!acted.has(inc.id)) {
          events.push({ type: 'anomaly.detected', timestamp: ts, data: { entity: { kind: inc.kind, id: inc.entityId }, ...(inc.tenant ? { tenant: inc.tenant } : {}), source: 'anomaly', incident_id: inc.id, pattern: inc.pattern, severity: inc.severity, observed: inc.observed, expected: inc.expected, metric: inc.metric, action: (o.shadow ? 'shadow:' : '') + describeAction(o.actions[inc.severity]), reason: inc.explanation } });
        }
        toAct.push(inc);
        rows.push({ ...inc, action: describeAction(o.actions[inc.severity]), shadow: o.shadow });
      }
      for (const inc of rec.resolved) {
        acted.delete(inc.id);
        events.push({ type: 'anomaly.resolved', timestamp: ts, data: { entity: { kind: inc.kind, id: inc.entityId }, source: 'anomaly', incident_id: inc.id, pattern: inc.pattern, severity: inc.severity, reason: `${inc.pattern} on ${inc.kind} ${inc.entityId} is back to normal` } });
        rows.push({ ...inc, action: describeAction(o.actions[inc.severity]), shadow: o.shadow });
      }
      // The incident is stored before its action shows on the revocation list, so whoever sees the entry finds its incident.
      if (rows.length > 0) await o.repo.saveIncidents(rows, nextVersion(now));
      for (const inc of toAct) events.push(...(await act(inc, now)).events);
      o.bus.publish(events);
      // findingLabels and entitiesScored feed the detector's health figures (tick-stats.ts).
      return { findings: rec.findings, findingLabels: rec.findingLabels, entitiesScored: rec.entitiesScored, opened: rec.opened, resolved: rec.resolved };
    },
  };
}
