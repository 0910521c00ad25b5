import type { FastifyInstance } from 'fastify';
import { apiPlugin } from '../api/index.ts';
import type { AuthorizeOptions } from '../api/authorize-answer.ts';
import type { Notifier } from '../detector/alerts/notifier.ts';
import type { Bus } from '../detector/bus.ts';
import type { Enforcement } from '../detector/enforcement.ts';
import type { GatewayMirror } from '../detector/gateway-mirror.ts';
import { createIdempotency } from '../detector/idempotency.ts';
import { createQuotaStatus } from '../detector/quota-status.ts';
import { replay } from '../detector/replay.ts';
import type { Admission } from '../detector/reservations-service.ts';
import { webAssets } from '../dashboards/web/build.ts';
import type { AnomalyRepo } from '../store/anomaly-repo.ts';
import { createFreshRepo } from '../store/fresh-repo.ts';
import { createIdempotencyRepo } from '../store/idempotency-repo.ts';
import type { QuotaRepo } from '../store/quota-repo.ts';
import { createUsageReportRepo } from '../store/usage-report-repo.ts';
import { createUsageViewsRepo } from '../store/usage-views-repo.ts';
import { detectorSettings } from './detector-settings.ts';
import type { Wiring } from './wiring.ts';

/** The detector's services the API listener answers from. */
export interface ApiParts {
  enforcement: Enforcement;
  gatewayMirror: GatewayMirror;
  bus: Bus;
  notifier: Notifier;
  admission: Admission;
  quotaRepo: QuotaRepo;
  anomalyRepo: AnomalyRepo;
  authorize: AuthorizeOptions;
}

/** The API listener (admin API, gateway routes on the API port, web UI), given the detector's services and the store's repositories. */
export async function wireApi(w: Wiring, p: ApiParts): Promise<FastifyInstance> {
  const { config, store, logger, now, app } = w;
  const api = w.listener();
  await api.register(apiPlugin, {
    admission: p.admission,
    tokens: w.authTokens,
    metrics: app.metrics.registry,
    ready: w.ready,
    now,
    enforcement: p.enforcement,
    gatewayMirror: p.gatewayMirror,
    idempotency: createIdempotency({ repo: createIdempotencyRepo(store), scope: 'enforcement', windowMs: 24 * 3_600_000, now }),
    bus: p.bus,
    policies: w.policies,
    quotaStatus: createQuotaStatus({ quotaRepo: p.quotaRepo, policies: w.policies }),
    incidents: p.anomalyRepo,
    usageReports: createUsageReportRepo(store),
    ingestStats: w.ingestStatsRepo,
    ingestTokens: w.ingestTokens,
    store,
    pricer: w.pricer,
    authorize: p.authorize,
    alerts: p.notifier,
    usageViews: createUsageViewsRepo(store),
    // The CLI's replay (live minus side effects) for one trial policy or the active ones; detection only when asked.
    replay: async (r) => {
      const settings = detectorSettings(config);
      const result = await replay({
        settings: r.anomaly ? settings : { ...settings, anomaly: null },
        policies: { active: () => r.policies, limitsFor: (policy, entity) => w.policies.limitsFor(policy, entity) },
        quotaRepo: p.quotaRepo,
        anomalyRepo: p.anomalyRepo,
        fresh: { mode: 'replay', repo: createFreshRepo(store) },
        // What replay would revoke is its answer, not news for the server log.
        logger: logger.child({ component: 'replay' }, { level: 'warn' }),
        from: r.from,
        to: r.to,
        stepMs: r.stepMs,
        progress: r.progress,
      });
      return result.rows;
    },
    replayBudgetMs: config.server.timeouts.replay,
    webAssets,
  });
  api.addHook('onResponse', async (request, reply) => {
    if (request.url.startsWith('/api/policies') && request.method !== 'GET') w.refreshKeep();
    else if (request.routeOptions.url === '/v1/revocations') app.metrics.polled(reply.statusCode);
  });
  return api;
}
