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
  type Incident,
  type PeerBaseline,
} from '../core/anomaly/index.ts';
import { evaluatePolicy } from '../core/quota/evaluate.ts';
import { periodAt, periodKey } from '../core/quota/period.ts';
import type { Policy } from '../core/quota/policy.ts';
import type { EntityKind } from '../core/usage/types.ts';
import type { AnomalyRepo } from '../store/anomaly-repo.ts';
import type { QuotaRepo } from '../store/quota-repo.ts';
import { OBSERVATION_MINUTES } from './anomaly-job.ts';

const HOUR = 3_600_000;

export interface ReplayRow {
  at: number;
  source: 'quota' | 'anomaly';
  what: string;
  entity: string;
  level: string;
  action: string;
  detail: string;
}

/**
 * Runs quotas and detection over stored usage as if the detector had ticked every `stepMs` in [from, to]
 * (SPEC §4.6), without acting: returns what would have fired, and when.
 */
export async function replay(o: {
  quotaRepo: QuotaRepo;
  anomalyRepo: AnomalyRepo;
  policies: readonly Policy[];
  anomaly: AnomalyConfig | null;
  actions: { warning: string; critical: string };
  from: number;
  to: number;
  stepMs: number;
  progress?: (done: number, total: number) => void;
}): Promise<ReplayRow[]> {
  const rows: ReplayRow[] = [];
  const fired = new Set<string>();
  let state = emptyDetectorState();
  let open: Incident[] = [];
  const baselines = new Map<string, Baseline>();
  const total = Math.max(1, Math.ceil((o.to - o.from) / o.stepMs));
  for (let i = 0, now = o.from; now <= o.to && i <= total; i++, now += o.stepMs) {
    for (const policy of o.policies) {
      const window = periodAt(policy.period, now);
      const key = periodKey(policy.period, window);
      const usages = await o.quotaRepo.usageByEntity(policy, { start: window.start, end: Math.min(window.end, now + 1) });
      const crossings = evaluatePolicy({ policy, limitsFor: () => policy.limits, window, periodKey: key, usages, fired: (e, t) => fired.has(`${policy.name}|${e}|${key}|${t}`) });
      for (const c of crossings) {
        fired.add(`${policy.name}|${c.entity}|${key}|${c.threshold}`);
        rows.push({
          at: now,
          source: 'quota',
          what: policy.name,
          entity: `${c.scope} ${c.entity}`,
          level: `${Math.round(c.threshold * 100)}%`,
          action: c.hard ? policy.action.type : 'alert',
          detail: `${c.dimension} ${Math.round(c.used * 1e4) / 1e4} of ${c.limit}`,
        });
      }
    }
    if (o.anomaly) {
      const kinds: EntityKind[] = o.anomaly.scopes.includes('tenant') && !o.anomaly.scopes.includes('api_key') ? [...o.anomaly.scopes, 'api_key'] : o.anomaly.scopes;
      const obs = await o.anomalyRepo.observations(kinds, now, OBSERVATION_MINUTES, 30);
      const hour = Math.floor(now / HOUR);
      const stale = new Map<EntityKind, string[]>();
      for (const ob of obs) {
        const b = baselines.get(entityKey(ob.kind, ob.id));
        if (!b || Math.floor(b.builtAt / HOUR) !== hour) stale.set(ob.kind, [...(stale.get(ob.kind) ?? []), ob.id]);
      }
      for (const [kind, ids] of stale) for (const h of await o.anomalyRepo.histories(kind, ids, now, 28 * 24)) baselines.set(entityKey(kind, h.id), buildBaseline(h, now));
      const peers = new Map<EntityKind, PeerBaseline>();
      for (const kind of o.anomaly.scopes) {
        const p = buildPeerBaseline(kind, baselines.values()) ?? peerBaselineFromObservations(kind, obs);
        if (p) peers.set(kind, p);
      }
      const periodResets = [...new Set(o.policies.filter((p) => p.period.kind !== 'rolling').map((p) => periodAt(p.period, now).start))];
      const r = detect(state, { now, observations: obs, baselines, peers, config: o.anomaly, periodResets });
      state = r.state;
      const rec = reconcileIncidents(open, r.findings, now);
      const before = new Map(open.map((inc) => [inc.id, inc.severity]));
      open = rec.open;
      for (const inc of [...rec.opened, ...rec.updated]) {
        if (before.get(inc.id) === inc.severity) continue;
        rows.push({ at: now, source: 'anomaly', what: inc.pattern, entity: `${inc.kind} ${inc.entityId}`, level: inc.severity, action: o.actions[inc.severity], detail: inc.explanation });
      }
      for (const inc of rec.resolved) rows.push({ at: now, source: 'anomaly', what: inc.pattern, entity: `${inc.kind} ${inc.entityId}`, level: 'resolved', action: '-', detail: 'back to normal' });
    }
    o.progress?.(i + 1, total + 1);
  }
  return rows;
}

/** A fixed-width table for the terminal. */
export function formatReplay(rows: readonly ReplayRow[]): string {
  const header = ['time (UTC)', 'source', 'policy/pattern', 'entity', 'level', 'action', 'detail'];
  const table = rows.map((r) => [new Date(r.at).toISOString().slice(0, 19).replace('T', ' '), r.source, r.what, r.entity, r.level, r.action, r.detail]);
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...table.map((row) => row[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.slice(0, widths[i]).padEnd(widths[i]!))).join('  ');
  return [line(header), ...table.map(line)].join('\n') + '\n';
}
