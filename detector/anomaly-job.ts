import type { Logger } from 'pino';
import {
  buildBaseline,
  buildPeerBaseline,
  detect,
  emptyDetectorState,
  entityKey,
  peerBaselineFromObservations,
  reconcileIncidents,
  type AnomalyConfig,
  type Baseline,
  type DetectorState,
  type EntityObservation,
  type Incident,
  type PeerBaseline,
  type Severity,
} from '../core/anomaly/index.ts';
import type { Cause } from '../core/enforcement/types.ts';
import type { PolicyAction } from '../core/quota/policy.ts';
import type { EntityKind } from '../core/usage/types.ts';
import type { AnomalyRepo, IncidentRow } from '../store/anomaly-repo.ts';
import type { Bus, BusEvent } from './bus.ts';
import type { Enforcement } from './enforcement.ts';

const HOUR = 3_600_000;
/** Per-minute series the patterns look at (slow drip needs hours). */
export const OBSERVATION_MINUTES = 360;
/** Entities with activity this recently are scored. */
const ACTIVE_MINUTES = 30;
const HISTORY_HOURS = 28 * 24;

export interface AnomalyJobOptions {
  repo: AnomalyRepo;
  enforcement: Enforcement;
  bus: Bus;
  logger: Logger;
  config: AnomalyConfig;
  actions: Record<Severity, PolicyAction>;
  shadow: boolean;
  ttlMs: number | undefined;
  quietMs: number;
  /** Starts of the current quota periods (timezone-aware): spend right after a reset is not an attack. */
  periodResets?: (now: number) => number[];
  /** Wall-clock time one tick may spend loading history and building baselines (default 500 ms). */
  baselineBudgetMs?: number;
}

function describeAction(a: PolicyAction): string {
  if (a.type !== 'throttle') return a.type;
  return `throttle(${[a.requestsPerMinute ? `${a.requestsPerMinute} rpm` : '', a.tokensPerMinute ? `${a.tokensPerMinute} tpm` : ''].filter(Boolean).join(', ')})`;
}

/**
 * Each tick: per-minute series of active entities from ClickHouse → baselines (rebuilt hourly from the hourly
 * history, so a restart loses nothing) → findings → incidents (stored) → actions per severity.
 */
export function createAnomalyJob(opts: AnomalyJobOptions) {
  const o = { baselineBudgetMs: 500, ...opts };
  let state: DetectorState = emptyDetectorState();
  let open: Incident[] | undefined;
  const baselines = new Map<string, Baseline>();
  const lastSeen = new Map<string, number>();
  /** Severity whose action was applied per incident, so an escalation acts once more and a restart does not re-act. */
  const acted = new Map<string, Severity>();
  let version = 0;
  // A tenant spike is judged against its keys, so keys are observed whenever tenants are.
  const observedKinds: EntityKind[] = o.config.scopes.includes('tenant') && !o.config.scopes.includes('api_key') ? [...o.config.scopes, 'api_key'] : o.config.scopes;
  const nextVersion = (now: number) => (version = Math.max(version + 1, now * 1000));

  /** Entities whose baseline is still to be built although they have history: judged from next tick on. */
  const deferred = new Set<string>();

  async function refreshBaselines(obs: readonly EntityObservation[], now: number): Promise<void> {
    const hour = Math.floor(now / HOUR);
    const stale = new Map<EntityKind, string[]>();
    for (const ob of obs) {
      const key = entityKey(ob.kind, ob.id);
      lastSeen.set(key, now);
      const b = baselines.get(key);
      if (!b || Math.floor(b.builtAt / HOUR) !== hour) stale.set(ob.kind, [...(stale.get(ob.kind) ?? []), ob.id]);
    }
    // Building baselines reads 4 weeks of hourly history per entity: bounded per tick so a cold start with many
    // entities never stalls the loop (entities still without one are judged against their peers meanwhile).
    const deadline = Date.now() + o.baselineBudgetMs;
    deferred.clear();
    for (const [kind, ids] of stale) {
      let i = 0;
      for (; i < ids.length && Date.now() < deadline; i += 100) {
        for (const h of await o.repo.histories(kind, ids.slice(i, i + 100), now, HISTORY_HOURS)) baselines.set(entityKey(kind, h.id), buildBaseline(h, now));
      }
      // Out of budget: an entity with history but no baseline yet must not be judged against peers (a big,
      // well-known key would look like an attack right after a restart); one without history is new, and peers apply.
      const missing = ids.slice(i).filter((id) => !baselines.has(entityKey(kind, id)));
      if (missing.length > 0) for (const id of await o.repo.withHistory(kind, missing, now, HISTORY_HOURS, now - 6 * HOUR)) deferred.add(entityKey(kind, id));
    }
    for (const [key, seen] of lastSeen) {
      if (now - seen > 24 * HOUR) {
        lastSeen.delete(key);
        baselines.delete(key);
      }
    }
  }

  /** Short-lived kinds (conversations) never build baselines: their peers come from the whole observation window. */
  const windowPeers = new Map<EntityKind, { at: number; peer: PeerBaseline | null }>();
  async function peers(obs: readonly EntityObservation[], now: number): Promise<Map<EntityKind, PeerBaseline>> {
    const out = new Map<EntityKind, PeerBaseline>();
    for (const kind of o.config.scopes) {
      let p = buildPeerBaseline(kind, baselines.values());
      if (!p) {
        const cached = windowPeers.get(kind);
        if (!cached || now - cached.at > 5 * 60_000) {
          const all = await o.repo.observations([kind], now, OBSERVATION_MINUTES, OBSERVATION_MINUTES);
          windowPeers.set(kind, { at: now, peer: peerBaselineFromObservations(kind, all) ?? peerBaselineFromObservations(kind, obs) });
        }
        p = windowPeers.get(kind)!.peer;
      }
      if (p) out.set(kind, p);
    }
    return out;
  }

  async function act(inc: Incident, now: number): Promise<{ action: string; events: BusEvent[] }> {
    const action = o.actions[inc.severity];
    const data = { entity: { kind: inc.kind, id: inc.entityId }, ...(inc.tenant ? { tenant: inc.tenant } : {}), source: 'anomaly' as const, incident_id: inc.id, pattern: inc.pattern, severity: inc.severity, observed: inc.observed, expected: inc.expected, reason: inc.explanation };
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
    stats: () => ({ baselines: baselines.size, deferred: deferred.size, openIncidents: open?.length ?? 0 }),
    async run(now: number): Promise<{ findings: number; opened: Incident[]; resolved: Incident[] }> {
      if (!open) {
        open = await o.repo.listIncidents({ status: 'open', limit: 100_000 });
        for (const inc of open as IncidentRow[]) acted.set(inc.id, inc.severity);
      }
      const obs = await o.repo.observations(observedKinds, now, OBSERVATION_MINUTES, ACTIVE_MINUTES);
      await refreshBaselines(obs, now);
      const judged = deferred.size > 0 ? obs.filter((ob) => !deferred.has(entityKey(ob.kind, ob.id))) : obs;
      // No calendar quota: the core's default reset (UTC midnight) applies.
      const resets = o.periodResets?.(now);
      const periodResets = resets && resets.length > 0 ? resets : undefined;
      const r = detect(state, { now, observations: judged, baselines, peers: await peers(judged, now), config: o.config, ...(periodResets ? { periodResets } : {}) });
      state = r.state;
      const rec = reconcileIncidents(open, r.findings, now, { quietMs: o.quietMs });
      open = rec.open;
      const events: BusEvent[] = [];
      const rows: IncidentRow[] = [];
      const ts = new Date(now).toISOString();
      const toAct: Incident[] = [];
      for (const inc of [...rec.opened, ...rec.updated]) {
        if (!acted.has(inc.id)) {
          events.push({ type: 'anomaly.detected', timestamp: ts, data: { entity: { kind: inc.kind, id: inc.entityId }, ...(inc.tenant ? { tenant: inc.tenant } : {}), source: 'anomaly', incident_id: inc.id, pattern: inc.pattern, severity: inc.severity, observed: inc.observed, expected: inc.expected, action: (o.shadow ? 'shadow:' : '') + describeAction(o.actions[inc.severity]), reason: inc.explanation } });
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
      return { findings: r.findings.length, opened: rec.opened, resolved: rec.resolved };
    },
  };
}
