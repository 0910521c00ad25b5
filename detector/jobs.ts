import type { AnomalyConfig } from '../core/anomaly/index.ts';
import type { AnomalyActOptions } from '../core/anomaly/step.ts';
import { restoredEvents } from '../core/enforcement/restored.ts';
import { periodAt } from '../core/quota/period.ts';
import type { Policy } from '../core/quota/policy.ts';
import type { QuotaRepo } from '../store/quota-repo.ts';
import { createAnomalyJob, type AnomalyJobOptions } from './anomaly-job.ts';
import type { Bus } from './bus.ts';
import type { Enforcement } from './enforcement.ts';
import { createFreshFeed, type FreshFeedOptions, type FreshMode } from './fresh-feed.ts';
import type { Job } from './loop.ts';
import { createQuotaJob, type FiringsLog, type QuotaJobDeps } from './quota-job.ts';

/** What the detector decides with, from the config (app/detector-settings.ts builds it for live and replay alike). */
export interface DetectorSettings {
  shadow: boolean;
  /** null when detection is off. */
  anomaly: (Omit<AnomalyActOptions, 'shadow'> & { config: AnomalyConfig; quietMs: number; maxEntitiesPerKind?: number; fresh?: { bucketMs: number; windowMs: number } | null }) | null;
}

export interface DetectorJobsDeps {
  settings: DetectorSettings;
  /** Config-file and API policies, and per-entity overrides (detector/policies.ts). */
  policies: { active(): readonly Policy[]; limitsFor(policy: Policy, entity: string): Policy['limits'] };
  quotaRepo: Pick<QuotaRepo, 'usageByEntity'>;
  firings: FiringsLog;
  anomalyRepo: AnomalyJobOptions['repo'];
  enforcement: Pick<Enforcement, 'snapshot' | 'apply' | 'expire'>;
  bus: Bus;
  /** Live only: what is left of each quota, for forward-auth. */
  remaining?: QuotaJobDeps['remaining'];
  /** Wall-clock time one tick may spend building baselines (live: 500 ms; replay: no limit). */
  baselineBudgetMs?: number;
  /** The fresh path: how its counters are fed (push: in the collector's process; poll: apart; replay) and read. */
  fresh?: { mode: FreshMode; repo: FreshFeedOptions['repo'] };
}

/** The detector's jobs in tick order: quotas, detection, expiry. Live (the tick loop) and replay run this same list. */
export function createDetectorJobs(deps: DetectorJobsDeps): { jobs: Job[]; anomaly: ReturnType<typeof createAnomalyJob> | undefined } {
  const { settings, policies, enforcement, bus } = deps;
  const quota = createQuotaJob({
    policies: () => policies.active(),
    limitsFor: (p, entity) => policies.limitsFor(p, entity),
    quotaRepo: deps.quotaRepo,
    firings: deps.firings,
    enforcement,
    bus,
    shadow: settings.shadow,
    ...(deps.remaining ? { remaining: deps.remaining } : {}),
  });
  const jobs: Job[] = [{ name: 'quota', run: (n) => quota.run(n) }];
  let anomaly: ReturnType<typeof createAnomalyJob> | undefined;
  if (settings.anomaly) {
    const { fresh: freshSettings, ...anomalySettings } = settings.anomaly;
    const kinds = [...new Set([...anomalySettings.config.scopes, 'api_key' as const])];
    const freshFeed = freshSettings && deps.fresh ? createFreshFeed({ ...freshSettings, mode: deps.fresh.mode, repo: deps.fresh.repo, kinds, ...(anomalySettings.maxEntitiesPerKind !== undefined ? { maxPerKind: anomalySettings.maxEntitiesPerKind } : {}) }) : undefined;
    anomaly = createAnomalyJob({
      ...anomalySettings,
      ...(freshFeed ? { freshFeed } : {}),
      shadow: settings.shadow,
      repo: deps.anomalyRepo,
      enforcement,
      bus,
      // Spend right after a calendar quota resets is not an attack.
      periodResets: (n) => [...new Set(policies.active().filter((p) => p.period.kind !== 'rolling').map((p) => periodAt(p.period, n).start))],
      ...(deps.baselineBudgetMs !== undefined ? { baselineBudgetMs: deps.baselineBudgetMs } : {}),
    });
    jobs.push({ name: 'anomaly', run: (n) => anomaly!.run(n) });
  }
  jobs.push({
    name: 'expiry',
    run: async (n) => {
      void bus.publish(restoredEvents(await enforcement.expire(), n));
    },
  });
  return { jobs, anomaly };
}
