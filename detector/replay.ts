import type { Logger } from 'pino';
import type { IncidentRecord } from '../core/anomaly/step.ts';
import type { BusEvent } from '../core/events.ts';
import type { Firing } from '../core/quota/step.ts';
import type { LoggedChange } from '../store/enforcement-repo.ts';
import { createMemoryEnforcementRepo, createMemoryFiringsRepo, createMemoryIncidentRepo } from '../store/memory-repos.ts';
import { createBus } from './bus.ts';
import { createEnforcement } from './enforcement.ts';
import { createDetectorJobs, type DetectorJobsDeps } from './jobs.ts';

export interface ReplayRow {
  at: number;
  source: 'quota' | 'anomaly' | 'enforcement';
  what: string;
  entity: string;
  level: string;
  action: string;
  detail: string;
}

export interface ReplayResult {
  /** Thresholds that would have fired, in order. */
  firings: Firing[];
  /** Every incident in its last state (resolvedAt null when still open at the end). */
  incidents: IncidentRecord[];
  /** The revocation list changes that would have been made (causes added, lifted, expired), in order. */
  changes: LoggedChange[];
  events: BusEvent[];
  /** The same, one line per thing that happened, for the terminal. */
  rows: ReplayRow[];
}

/**
 * Runs the detector's own jobs (quotas, detection, expiry; detector/jobs.ts) over stored usage as if it had
 * ticked every `stepMs` in [from, to], against in-memory firings, revocation list, incidents and bus: live minus
 * side effects. Reads see the store as of each tick (usage after it is left out).
 */
export async function replay(o: {
  settings: DetectorJobsDeps['settings'];
  policies: DetectorJobsDeps['policies'];
  quotaRepo: DetectorJobsDeps['quotaRepo'];
  anomalyRepo: Pick<DetectorJobsDeps['anomalyRepo'], 'observations' | 'observationsOf' | 'minutesSince' | 'histories' | 'withHistory'>;
  /** The fresh path's reads (mode `replay`: each tick reads its window as of that tick). */
  fresh?: DetectorJobsDeps['fresh'];
  logger: Logger;
  from: number;
  to: number;
  stepMs: number;
  progress?: (done: number, total: number) => void;
}): Promise<ReplayResult> {
  let clock = o.from;
  const firings = createMemoryFiringsRepo();
  const log = createMemoryEnforcementRepo();
  const enforcement = createEnforcement({ repo: log, logger: o.logger, now: () => clock });
  const events: BusEvent[] = [];
  const incidents = createMemoryIncidentRepo();
  const rows: ReplayRow[] = [];
  const severity = new Map<string, string>();
  const { jobs } = createDetectorJobs({
    settings: o.settings,
    policies: o.policies,
    quotaRepo: { usageByEntity: (policy, window) => o.quotaRepo.usageByEntity(policy, { start: window.start, end: Math.min(window.end, clock + 1) }) },
    firings,
    ...(o.fresh ? { fresh: o.fresh } : {}),
    anomalyRepo: {
      observations: (...a) => o.anomalyRepo.observations(...a),
      observationsOf: (...a) => o.anomalyRepo.observationsOf(...a),
      minutesSince: (...a) => o.anomalyRepo.minutesSince(...a),
      histories: (...a) => o.anomalyRepo.histories(...a),
      withHistory: (...a) => o.anomalyRepo.withHistory(...a),
      listIncidents: (filter) => incidents.listIncidents(filter),
      async saveIncidents(saved, version) {
        await incidents.saveIncidents(saved, version);
        for (const inc of saved) {
          const entity = `${inc.kind} ${inc.entityId}`;
          if (inc.resolvedAt !== null) rows.push({ at: clock, source: 'anomaly', what: inc.pattern, entity, level: 'resolved', action: '-', detail: 'back to normal' });
          else if (severity.get(inc.id) !== inc.severity) rows.push({ at: clock, source: 'anomaly', what: inc.pattern, entity, level: inc.severity, action: (inc.shadow ? 'shadow:' : '') + inc.action, detail: inc.explanation });
          severity.set(inc.id, inc.severity);
        }
      },
    },
    enforcement: {
      snapshot: () => enforcement.snapshot(),
      // Causes added show on the firing or incident row that added them; lifts and expiries get rows of their own.
      async apply(d) {
        const r = await enforcement.apply(d);
        for (const l of r.lifted) rows.push({ at: clock, source: 'enforcement', what: l.source, entity: `${l.kind} ${l.id}`, level: 'lifted', action: 'restore', detail: l.reason });
        return r;
      },
      async expire() {
        const before = log.changes.length;
        const left = await enforcement.expire();
        for (const c of log.changes.slice(before)) rows.push({ at: clock, source: 'enforcement', what: 'expiry', entity: `${c.kind} ${c.id}`, level: 'expired', action: c.op === 'remove' ? 'restore' : (c.entry?.action ?? '-'), detail: c.reason });
        return left;
      },
    },
    bus: createBus([(e) => events.push(...e)]),
    // Every baseline is built before judging: replay is not racing a live tick.
    baselineBudgetMs: Infinity,
  });
  const total = Math.max(1, Math.ceil((o.to - o.from) / o.stepMs));
  for (let i = 0; clock <= o.to && i <= total; i++, clock += o.stepMs) {
    const fired = firings.firings.length;
    const published = events.length;
    for (const job of jobs) await job.run(clock);
    const quotaEvents = events.slice(published).filter((e) => e.type === 'quota.threshold' || e.type === 'quota.exceeded');
    firings.firings.slice(fired).forEach((f, k) => {
      const e = quotaEvents[k];
      rows.push({ at: clock, source: 'quota', what: f.policy, entity: `${f.scope} ${f.entity}`, level: `${Math.round(f.threshold * 100)}%`, action: e?.data.action ?? '-', detail: e?.data.reason ?? '' });
    });
    o.progress?.(i + 1, total + 1);
  }
  return { firings: firings.firings, incidents: incidents.all(), changes: log.changes, events, rows };
}

/** A fixed-width table for the terminal. */
export function formatReplay(rows: readonly ReplayRow[]): string {
  const header = ['time (UTC)', 'source', 'policy/pattern', 'entity', 'level', 'action', 'detail'];
  const table = rows.map((r) => [new Date(r.at).toISOString().slice(0, 19).replace('T', ' '), r.source, r.what, r.entity, r.level, r.action, r.detail]);
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...table.map((row) => row[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.slice(0, widths[i]).padEnd(widths[i]!))).join('  ');
  return [line(header), ...table.map(line)].join('\n') + '\n';
}

/**
 * The end a replay runs to: usage after now is not stored yet, so a `to` in the future is clamped to now and the
 * note says so (what the caller sees must not look like a quiet future). A `from` at or after now leaves nothing
 * to replay: an error.
 */
export function replayEnd(from: number, to: number, now: number): { ok: true; to: number; note?: string } | { ok: false; error: string } {
  if (to <= now) return { ok: true, to };
  if (from >= now) return { ok: false, error: `from (${new Date(from).toISOString()}) is not in the past: there is no stored usage to replay yet` };
  return { ok: true, to: now, note: `to (${new Date(to).toISOString()}) is in the future: replayed up to now, ${new Date(now).toISOString()}` };
}
