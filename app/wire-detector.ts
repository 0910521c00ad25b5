import { hostname } from 'node:os';
import type { AuthorizeOptions } from '../api/authorize-answer.ts';
import { secretHasher } from '../core/usage/secret-hash.ts';
import { createEnforcement } from '../detector/enforcement.ts';
import { createForwardAuth } from '../detector/forward-auth.ts';
import { createGatewayFeed } from '../detector/gateway-feed.ts';
import { createGatewayMirror } from '../detector/gateway-mirror.ts';
import { createDetectorJobs } from '../detector/jobs.ts';
import { createTickLoop } from '../detector/loop.ts';
import { createQuotaRemaining } from '../detector/quota-remaining.ts';
import { createAdmissionUsage } from '../detector/reservations-usage.ts';
import type { AdmissionRequest } from '../detector/reservations-service.ts';
import { createTickStats } from '../detector/tick-stats.ts';
import { createAnomalyRepo, LIVE_AHEAD_MS } from '../store/anomaly-repo.ts';
import { createEnforcementRepo } from '../store/enforcement-repo.ts';
import { createFiringsRepo } from '../store/firings-repo.ts';
import { createFreshRepo } from '../store/fresh-repo.ts';
import { createDetectorStatsRepo } from '../store/health-stats-repo.ts';
import { createQuotaRepo } from '../store/quota-repo.ts';
import { startAdmission, tickListeners } from './admission.ts';
import { detectorSettings } from './detector-settings.ts';
import { wireAlerts } from './wire-alerts.ts';
import { wireApi } from './wire-api.ts';
import { gatewayStarter } from './wire-gateway.ts';
import type { Wiring } from './wiring.ts';

/**
 * The detector role: the revocation list, alerts, the tick loop and its jobs, what gateways are answered from,
 * admission, the API listener and the gateway listener.
 */
export async function wireDetector(w: Wiring): Promise<void> {
  const { config, store, logger, now, app, cleanups } = w;
  const { metrics } = app;
  const enforcement = createEnforcement({ repo: createEnforcementRepo(store), logger: logger.child({ component: 'enforcement' }), now });
  await enforcement.load();
  const { bus, notifier } = await wireAlerts(w);
  const quotaRepo = createQuotaRepo(store);
  // What gateways are answered from reaches them through the feed: the API port's mirror and the gateway worker's.
  const feed = createGatewayFeed({ list: enforcement, currentAt: () => Math.max(enforcement.loadedAt, loop.stats.lastOkAt), now });
  w.links.gatewayUsage = feed;
  const remaining = createQuotaRemaining({ overrides: (name) => w.policies.effectiveOverrides(name), onCommit: (s) => feed.remaining(s) });
  const admissionUsage = createAdmissionUsage();
  const anomalyRepo = createAnomalyRepo(store, { aheadMs: LIVE_AHEAD_MS });
  const { jobs, anomaly } = createDetectorJobs({
    settings: detectorSettings(config),
    policies: w.policies,
    remaining: tickListeners(remaining, admissionUsage),
    quotaRepo,
    firings: createFiringsRepo(store),
    anomalyRepo,
    enforcement,
    bus,
    // In one process the writer tells the detector what it stored; apart, the detector reads it each tick.
    fresh: { mode: w.role === 'all' ? 'push' : 'poll', repo: createFreshRepo(store) },
  });
  if (anomaly) app.anomaly = anomaly;
  const statsRepo = createDetectorStatsRepo(store);
  const tickStats = createTickStats({ instance: hostname(), write: (rows) => statsRepo.insert(rows), logger: logger.child({ component: 'detector-stats' }) });
  const loop = createTickLoop({
    jobs,
    intervalMs: config.detector.interval,
    logger: logger.child({ component: 'detector' }),
    now,
    // After each tick the gateway copies learn how current the detector's view is.
    recorder: metrics.recordTicks({ record: (r) => { tickStats.record(r); feed.tick(); }, flush: (at) => tickStats.flush(at) }),
  });
  const gatewayMirror = createGatewayMirror();
  feed.subscribe(gatewayMirror.apply);
  metrics.watchDetector({ enforcement, outbox: notifier.outbox });
  const forwardAuth = metrics.countAuthorize(createForwardAuth({
    enforcement: gatewayMirror,
    remaining: gatewayMirror,
    currentAt: gatewayMirror.currentAt,
    now,
    maxStalenessMs: config.gateway.max_staleness,
    failMode: config.gateway.fail_mode,
  }));
  const authorize: AuthorizeOptions = { forwardAuth, headers: config.gateway.headers, nginxMode: config.gateway.nginx_mode, hashSecret: secretHasher(w.hashKey), admit: (r: AdmissionRequest) => adm.admission.admit(r) };
  const adm = await startAdmission({ config, store, usage: admissionUsage, policies: w.policies, forwardAuth, enforcement, pricer: w.pricer, logger: logger.child({ component: 'admission' }), now, collectorElsewhere: w.role === 'detector' });
  cleanups.unshift(() => adm.close());
  const api = await wireApi(w, { enforcement, gatewayMirror, bus, notifier, admission: adm.admission, quotaRepo, anomalyRepo, authorize });
  Object.assign(app, { api, enforcement, loop, forwardAuth, notifier, admission: adm.admission, gatewayMirror });
  const startGateway = gatewayStarter(w, feed, authorize);
  if (startGateway) w.links.startGateway = startGateway;
  w.links.onIngested = () => loop.nudge();
  cleanups.unshift(() => loop.stop());
  cleanups.unshift(async () => {
    // Parked long polls are answered first (gateways then see an answer, not a reset), then the listener closes,
    // which cuts whatever connection is left.
    gatewayMirror.releaseWaiters();
    await new Promise((resolve) => setImmediate(resolve));
    await api.close();
  });
}
