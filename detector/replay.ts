import type { AnomalyConfig, Incident } from '../core/anomaly/index.ts';
import { evaluatePolicy } from '../core/quota/evaluate.ts';
import { periodAt, periodKey } from '../core/quota/period.ts';
import type { Policy } from '../core/quota/policy.ts';
import type { AnomalyRepo } from '../store/anomaly-repo.ts';
import type { QuotaRepo } from '../store/quota-repo.ts';
import { createDetection } from './detection.ts';

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
  let open: Incident[] = [];
  const periodResets = (now: number) => [...new Set(o.policies.filter((p) => p.period.kind !== 'rolling').map((p) => periodAt(p.period, now).start))];
  // Every baseline is built before judging (no time budget): replay is not racing a live tick.
  const detection = o.anomaly ? createDetection({ repo: o.anomalyRepo, config: o.anomaly, quietMs: 120_000, periodResets, baselineBudgetMs: Infinity }) : null;
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
    if (detection) {
      const before = new Map(open.map((inc) => [inc.id, inc.severity]));
      const rec = await detection.step(open, now);
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
