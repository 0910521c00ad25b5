import type { Incident, Severity } from '../core/anomaly/index.ts';
import { anomalyStep, type AnomalyActOptions } from '../core/anomaly/step.ts';
import type { AnomalyRepo } from '../store/anomaly-repo.ts';
import type { Bus } from './bus.ts';
import { createDetection, type DetectionOptions } from './detection.ts';
import type { FreshFeed } from './fresh-feed.ts';
import type { Enforcement } from './enforcement.ts';

export interface AnomalyJobOptions extends Omit<DetectionOptions, 'fresh'>, AnomalyActOptions {
  /** The fresh path's counters (detector/fresh-feed.ts); detection reads them each tick. */
  freshFeed?: FreshFeed;
  repo: Pick<AnomalyRepo, 'observations' | 'observationsOf' | 'minutesSince' | 'histories' | 'withHistory' | 'listIncidents' | 'saveIncidents'>;
  enforcement: Pick<Enforcement, 'apply'>;
  bus: Bus;
}

/**
 * Each tick: a detection step (detection.ts: reads, then the pure core) → anomalyStep (core, pure) → incidents
 * stored, causes added, events published. Replay runs this same job with in-memory writes.
 */
export function createAnomalyJob(o: AnomalyJobOptions) {
  const detection = createDetection({ ...o, ...(o.freshFeed ? { fresh: o.freshFeed } : {}) });
  let open: Incident[] | undefined;
  /** Severity whose action was applied per open incident, so an escalation acts once more and a restart does not re-act. */
  let acted = new Map<string, Severity>();
  let version = 0;
  const nextVersion = (now: number) => (version = Math.max(version + 1, now * 1000));

  return {
    /** Baselines held, entities waiting for theirs (cold start progress), series held (`held`) and fresh counters held. */
    stats: () => ({ ...detection.stats(), fresh: o.freshFeed?.stats().entities ?? 0, openIncidents: open?.length ?? 0 }),
    /** Events the batch writer just stored (in-process fresh path); ignored unless the fresh feed is pushed to. */
    fresh: (events: Parameters<NonNullable<AnomalyJobOptions['freshFeed']>['push']>[0], now: number) => o.freshFeed?.push(events, now),
    /** Backfilled history for these entities: rebuild their baselines on the next tick. */
    invalidate: (entities: Parameters<typeof detection.invalidate>[0]) => detection.invalidate(entities),
    baseline: (kind: Parameters<typeof detection.baseline>[0], id: string) => detection.baseline(kind, id),
    async run(now: number): Promise<{ findings: number; findingLabels: string[]; entitiesScored: number; opened: Incident[]; resolved: Incident[] }> {
      if (!open) {
        const stored = await o.repo.listIncidents({ status: 'open', limit: 100_000 });
        for (const inc of stored) acted.set(inc.id, inc.severity);
        open = stored;
      }
      const rec = await detection.step(open, now);
      open = rec.open;
      const d = anomalyStep(acted, rec, now, o);
      acted = d.acted;
      // The incident is stored before its action shows on the revocation list, so whoever sees the entry finds its incident.
      if (d.incidents.length > 0) await o.repo.saveIncidents(d.incidents, nextVersion(now));
      await o.enforcement.apply({ add: d.add, lift: [] });
      void o.bus.publish(d.events);
      // findingLabels and entitiesScored feed the detector's health figures (tick-stats.ts).
      return { findings: rec.findings, findingLabels: rec.findingLabels, entitiesScored: rec.entitiesScored, opened: rec.opened, resolved: rec.resolved };
    },
  };
}
