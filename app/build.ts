import { hostname } from 'node:os';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { apiPlugin, listenerOptions, registerConventions } from '../api/index.ts';
import { healthRoutes } from '../api/health.ts';
import { backfilledEntities } from '../collector/backfill-notice.ts';
import { freshEvents } from './fresh-wiring.ts';
import { createFreshRepo } from '../store/fresh-repo.ts';
import { createBatchWriter, type BatchWriter } from '../collector/batch-writer.ts';
import { createIngest, type Ingest } from '../collector/ingest.ts';
import { createStatsFlusher, type StatsFlusher } from '../collector/ingest-stats.ts';
import { createIngestStatsRepo } from '../store/ingest-stats-repo.ts';
import { collectorPlugin } from '../collector/plugin.ts';
import { createMetricsIngest, type MetricsIngest } from '../collector/metrics-ingest.ts';
import { createMetricSeriesRepo } from '../store/metric-series-repo.ts';
import { openSpool } from '../collector/spool.ts';
import type { Config } from '../core/config/load.ts';
import { createPricer } from '../core/pricing/pricer.ts';
import type { Policy } from '../core/quota/policy.ts';
import { DEFAULT_IDENTITY, type IdentityConfig } from '../core/usage/identity.ts';
import { ENTITY_KINDS } from '../core/usage/types.ts';
import { createNotifier, type Notifier } from '../detector/alerts/notifier.ts';
import { createBus } from '../detector/bus.ts';
import { createOutboxRepo } from '../store/outbox-repo.ts';
import { spendSeries } from '../store/spend-series.ts';
import { alertSettings } from './alerts-config.ts';
import { createEnforcement, type Enforcement } from '../detector/enforcement.ts';
import { createIdempotency } from '../detector/idempotency.ts';
import { createIdempotencyRepo } from '../store/idempotency-repo.ts';
import { createTickLoop } from '../detector/loop.ts';
import { createTickStats } from '../detector/tick-stats.ts';
import type { createAnomalyJob } from '../detector/anomaly-job.ts';
import { createDetectorJobs } from '../detector/jobs.ts';
import { createAnomalyRepo } from '../store/anomaly-repo.ts';
import { detectorSettings } from './detector-settings.ts';
import { createPolicyService } from '../detector/policies.ts';
import { createQuotaStatus } from '../detector/quota-status.ts';
import { createPolicyRepo } from '../store/policy-repo.ts';
import { openClickHouse } from '../store/clickhouse.ts';
import { lockDataDir } from '../store/data-lock.ts';
import { repairRollupsAfterCrash } from './crash-repair.ts';
import { createEnforcementRepo } from '../store/enforcement-repo.ts';
import { createFiringsRepo } from '../store/firings-repo.ts';
import { createDetectorStatsRepo } from '../store/health-stats-repo.ts';
import { isMigrated, migrate } from '../store/migrate.ts';
import type { ClickHouse } from '../store/port.ts';
import { createQuotaRepo } from '../store/quota-repo.ts';
import { createUsageRepo } from '../store/usage-repo.ts';
import { createUsageReportRepo } from '../store/usage-report-repo.ts';
import { ensureTokens } from './tokens.ts';
import { connectionCap, connectionLimits, httpLimits } from './http-limits.ts';
import { secretHasher } from '../core/usage/secret-hash.ts';
import { createForwardAuth, type ForwardAuth } from '../detector/forward-auth.ts';
import { createQuotaRemaining } from '../detector/quota-remaining.ts';
import { createAdmissionUsage } from '../detector/reservations-usage.ts';
import { RESERVATION_ATTRIBUTE } from '../detector/reservations-rows.ts';
import type { Admission, AdmissionRequest } from '../detector/reservations-service.ts';
import { startAdmission, tickListeners } from './admission.ts';
import { createGatewayFeed } from '../detector/gateway-feed.ts';
import { createGatewayMirror, type GatewayMirror } from '../detector/gateway-mirror.ts';
import { startGatewayListener, type GatewayListener } from '../api/gateway-listener.ts';
import { createAuthorizeAnswerer } from '../api/authorize-answer.ts';
import { webAssets } from '../dashboards/web/build.ts';
import { replay } from '../detector/replay.ts';
import { createUsageViewsRepo } from '../store/usage-views-repo.ts';
import { metricsRoutes } from '../api/metrics.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { bump } from '../collector/ingest.ts';
import type { IngestTokenService } from '../detector/ingest-tokens.ts';
import { loadIngestTokens, refreshIngestTokens } from './ingest-tokens.ts';
import { assertIngestGuarded } from './ingest-guard.ts';

export type Role = 'all' | 'collector' | 'detector';


export interface Tollkeeper {
  config: Config;
  store: ClickHouse;
  otlp?: FastifyInstance;
  api?: FastifyInstance;
  ingest?: Ingest;
  /** Token usage metrics ingest (POST /v1/metrics): its counters include points skipped for services that send spans. */
  metricsIngest?: MetricsIngest;
  writer?: BatchWriter;
  /** The collector's counters flushed to `ingest_stats` every 10 s and on close. */
  stats?: StatsFlusher;
  /** Ingest tokens (config file and admin API) and the set the collector checks requests against. */
  ingestTokens: IngestTokenService;
  enforcement?: Enforcement;
  forwardAuth?: ForwardAuth;
  /** Admission with reservations (the detector's side). */
  admission?: Admission;
  /** The API port's copy of the gateway-facing state (long-polls there wait on it). */
  gatewayMirror?: GatewayMirror;
  /** The gateway listener (a worker thread), once listening. */
  gateway?: GatewayListener;
  loop?: ReturnType<typeof createTickLoop>;
  anomaly?: ReturnType<typeof createAnomalyJob>;
  /** Outbound alerts (webhooks, chat, email) and their outbox. */
  notifier?: Notifier;
  /** The process's Prometheus metrics, served at GET /metrics on each listener it has. */
  metrics: Metrics;
  tokens: { admin: string; gateway: string; path: string };
  /** Starts listening and the detector loop; returns the bound URLs. */
  listen(): Promise<{ otlpUrl?: string; apiUrl?: string; gatewayUrl?: string }>;
  /** Graceful: stop accepting, flush batches, stop the loop, close the store, release the data lock. */
  close(): Promise<void>;
}

export interface BuildOptions {
  role?: Role;
  logger: Logger;
  now?: () => number;
  /** Override the database name (tests use one per test). */
  database?: string;
  /** Start the detector loop on listen (default true). */
  startLoop?: boolean;
}

/** Policies' match keys and attribute scopes must be kept on events to be selectable later. */
function keptAttributes(config: Config, policies: readonly Policy[]): string[] {
  // A gateway's reservation id rides on the call's usage row: it commits the reservation.
  const keep = new Set([...config.identity.attributes, RESERVATION_ATTRIBUTE]);
  for (const p of policies) {
    for (const k of Object.keys(p.match)) keep.add(k);
    if (!(ENTITY_KINDS as readonly string[]).includes(p.scope)) keep.add(p.scope);
  }
  return [...keep];
}

/** The composition root: one place that knows every adapter; roles pick which parts run. */
export async function buildTollkeeper(config: Config, o: BuildOptions): Promise<Tollkeeper> {
  const role = o.role ?? 'all';
  const now = o.now ?? Date.now;
  const logger = o.logger;
  const useChdb = !config.store.clickhouse;
  const releaseLock = useChdb ? await lockDataDir(config.dataDir) : () => undefined;
  const cleanups: (() => Promise<void> | void)[] = [releaseLock];
  try {
    // The HMAC key of secret identity values is configured under identity (every process of a split deployment
    // must share it); the tokens under auth.
    const t = ensureTokens(config.dataDir, { ...config.auth, ...(config.identity.hash_key ? { hash_key: config.identity.hash_key } : {}) });
    const store = config.store.clickhouse
      ? await openClickHouse({ kind: 'server', url: config.store.clickhouse.url, database: o.database ?? config.store.clickhouse.database, username: config.store.clickhouse.username, password: config.store.clickhouse.password })
      : await openClickHouse({ kind: 'chdb', path: join(config.dataDir, 'clickhouse'), database: o.database ?? 'tollkeeper' });
    cleanups.unshift(() => store.close());
    await migrate(store);
    // Embedded engine only: its data directory belongs to this process (lock), and a kill can cut an insert short.
    if (useChdb) cleanups.splice(cleanups.indexOf(releaseLock), 0, await repairRollupsAfterCrash(store, config.dataDir, now, logger.child({ component: 'store' })));
    const pricer = createPricer(config.pricing);
    let onIngested = (): void => undefined;
    const policyService = createPolicyService({ repo: createPolicyRepo(store), configPolicies: config.policies, now });
    await policyService.load();
    // Refreshed as API policies change (also in a separate collector process, which polls the policy table).
    const keep = keptAttributes(config, policyService.active());
    const refreshKeep = () => keep.splice(0, keep.length, ...keptAttributes(config, policyService.active()));
    const ready = async () => ((await store.ping()) && (await isMigrated(store)) ? { ok: true } : { ok: false, reason: 'store unreachable or not migrated' });
    const tokens = { admin: t.tokens.admin_token, gateway: t.tokens.gateway_token };
    const { set: tokenSet, service: ingestTokens } = await loadIngestTokens(config, store, now);
    // Where operators reach the API (restore calls in alerts); the bound address once listening.
    let apiBase = `http://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${config.server.api_port}`;
    const metrics = createMetrics();
    const app: Tollkeeper = { config, store, metrics, ingestTokens, tokens: { ...tokens, path: t.path }, listen: async () => ({}), close: async () => undefined };
    const authTokens = { ...tokens, metrics: config.auth.metrics_token };
    const fastifyOpts = {
      loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
      forceCloseConnections: true,
      logController: new LogController({ disableRequestLogging: true }),
      ...listenerOptions,
      ...connectionLimits(config.server),
    };
    const cap = connectionCap(config.server.max_connections);
    let startGateway: (() => Promise<string>) | undefined;

    const ingestStatsRepo = createIngestStatsRepo(store);
    if (role !== 'detector') {
      assertIngestGuarded({ host: config.server.host, port: config.server.otlp_port, tokenRequired: tokenSet.required, insecure: config.ingest.insecure });
      const spool = await openSpool(join(config.dataDir, 'spool'), config.ingest.spool_max_mib * 1024 * 1024);
      const usageRepo = createUsageRepo(store);
      const writer = createBatchWriter({
        repo: usageRepo,
        spool,
        logger: logger.child({ component: 'writer' }),
        batchSize: config.ingest.batch_size,
        flushIntervalMs: config.ingest.flush_interval,
        // Events waiting for the store, past which requests get 429: ~200k events is a few hundred MB of heap.
        maxQueued: Math.max(200_000, config.ingest.batch_size * 4),
        // …and bytes: memory under overload stays bounded whatever the events' size (docs/operations.md).
        maxQueuedBytes: config.ingest.max_queue_mib * 1024 * 1024,
        // Embedded ClickHouse belongs to this process alone (data-directory lock): see BatchWriterOptions.
        ...(useChdb ? { storedUpTo: await usageRepo.maxTime() } : {}),
        // History older than the current hour (a migration, a replay) makes the detector rebuild those baselines now;
        // fresh usage feeds the detector's sub-minute counters.
        onStored: (rows) => {
          app.admission?.stored(rows.map((r) => r.line));
          if (!app.anomaly) return;
          const entities = backfilledEntities(rows, Math.floor(now() / 3_600_000) * 3_600_000);
          if (entities.length > 0) app.anomaly.invalidate(entities);
          app.anomaly.fresh(freshEvents(rows), now());
        },
      });
      const identity: IdentityConfig = {
        lists: { ...DEFAULT_IDENTITY, ...Object.fromEntries(ENTITY_KINDS.filter((k) => config.identity[k]).map((k) => [k, config.identity[k]])) },
        secretAttributes: config.identity.secret_attributes,
        required: config.identity.required,
        keep,
        hash: secretHasher(t.tokens.hash_key),
      };
      const ingest = createIngest({
        mapping: { identity, computeOperations: config.ingest.compute_operations, maxAgeMs: config.ingest.max_age, maxFutureMs: 5 * 60_000 },
        pricer,
        writer,
        logger: logger.child({ component: 'ingest' }),
        now,
      });
      const stats = createStatsFlusher({
        counters: ingest.counters,
        writerStats: () => writer.stats(),
        insert: (rows) => ingestStatsRepo.insert(rows),
        logger: logger.child({ component: 'ingest-stats' }),
        now,
        instance: `${hostname()}:${process.pid}`,
      });
      // Closed after the writer (cleanups run in reverse): the last flush holds the last batches' counts.
      cleanups.unshift(() => stats.close());
      const otlp = Fastify(fastifyOpts);
      otlp.server.maxConnections = cap;
      await registerConventions(otlp, { ...authTokens, ingest: { set: tokenSet, onDenied: (reason) => bump(ingest.counters.unauthorized, reason) } });
      await otlp.register(healthRoutes, { ready });
      await otlp.register(metricsRoutes, { registry: metrics.registry });
      metrics.watchCollector({ counters: ingest.counters, writer });
      // In one process, fresh usage nudges the detector to tick early (quota overspend stays a fraction of a tick).
      const nudging: Ingest = { ...ingest, ingest: async (spans, decoderRejected, token) => {
        const r = await ingest.ingest(spans, decoderRejected, token);
        if (r.outcome.ok) onIngested();
        return r;
      } };
      const metricsIngest = createMetricsIngest({ ingest: nudging, series: createMetricSeriesRepo(store), logger: logger.child({ component: 'metrics-ingest' }), now });
      await otlp.register(collectorPlugin, {
        ingest: nudging,
        metrics: metricsIngest,
        bodyLimit: config.ingest.body_limit_mib * 1024 * 1024,
        refusal: () => writer.refusal(),
        onAnswer: (status) => metrics.otlpAnswered(status),
      });
      Object.assign(app, { otlp, ingest, writer, stats, metricsIngest });
      if (role === 'collector') {
        const timer = setInterval(() => void policyService.load().then(refreshKeep, (err: unknown) => logger.warn({ err }, 'cannot refresh policies')), 30_000);
        timer.unref();
        cleanups.unshift(() => clearInterval(timer));
        // Tokens created or revoked through the detector's API reach this process within the interval.
        cleanups.unshift(refreshIngestTokens(ingestTokens, logger));
      }
      cleanups.unshift(() => writer.close());
      cleanups.unshift(() => otlp.close());
    }

    if (role !== 'collector') {
      const enforcement = createEnforcement({ repo: createEnforcementRepo(store), logger: logger.child({ component: 'enforcement' }), now });
      await enforcement.load();
      const bus = createBus([(events) => { for (const e of events) logger.info({ event: e.type, data: e.data }, e.data.reason); }]);
      const notifier = createNotifier({
        settings: alertSettings(config, () => apiBase),
        repo: createOutboxRepo(store),
        spend: (kind, id, from, to, bucketMs) => spendSeries(store, { kind, id, from, to, bucketMs }),
        logger: logger.child({ component: 'alerts' }),
        now,
      });
      await notifier.start();
      bus.subscribe((events) => notifier.onEvents(events));
      cleanups.unshift(() => notifier.close());
      const quotaRepo = createQuotaRepo(store);
      // What gateways are answered from reaches them through the feed: the API port's mirror and the gateway worker's.
      const feed = createGatewayFeed({ list: enforcement, currentAt: () => Math.max(enforcement.loadedAt, loop.stats.lastOkAt), now });
      const remaining = createQuotaRemaining({ overrides: (p) => policyService.listOverrides(p), onCommit: (s) => feed.remaining(s) });
      const admissionUsage = createAdmissionUsage();
      const anomalyRepo = createAnomalyRepo(store);
      const { jobs, anomaly } = createDetectorJobs({
        settings: detectorSettings(config),
        policies: policyService,
        remaining: tickListeners(remaining, admissionUsage),
        quotaRepo,
        firings: createFiringsRepo(store),
        anomalyRepo,
        enforcement,
        bus,
        // In one process the writer tells the detector what it stored; apart, the detector reads it each tick.
        fresh: { mode: role === 'all' ? 'push' : 'poll', repo: createFreshRepo(store) },
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
      const api = Fastify(fastifyOpts);
      api.server.maxConnections = cap;
      metrics.watchDetector({ enforcement, outbox: notifier.outbox });
      const forwardAuth = metrics.countAuthorize(createForwardAuth({
        enforcement: gatewayMirror,
        remaining: gatewayMirror,
        currentAt: gatewayMirror.currentAt,
        now,
        maxStalenessMs: config.gateway.max_staleness,
        failMode: config.gateway.fail_mode,
      }));
      const authorizeOptions = { forwardAuth, headers: config.gateway.headers, nginxMode: config.gateway.nginx_mode, hashSecret: secretHasher(t.tokens.hash_key), admit: (r: AdmissionRequest) => adm.admission.admit(r) };
      const adm = await startAdmission({ config, store, usage: admissionUsage, policies: policyService, forwardAuth, enforcement, pricer, logger: logger.child({ component: 'admission' }), now, collectorElsewhere: role === 'detector' });
      cleanups.unshift(() => adm.close());
      await api.register(apiPlugin, {
        admission: adm.admission,
        tokens: authTokens,
        metrics: metrics.registry,
        ready,
        now,
        enforcement,
        gatewayMirror,
        idempotency: createIdempotency({ repo: createIdempotencyRepo(store), scope: 'enforcement', windowMs: 24 * 3_600_000, now }),
        bus,
        policies: policyService,
        quotaStatus: createQuotaStatus({ quotaRepo, policies: policyService }),
        incidents: anomalyRepo,
        usageReports: createUsageReportRepo(store),
        ingestStats: ingestStatsRepo,
        ingestTokens,
        store,
        pricer,
        authorize: authorizeOptions,
        alerts: notifier,
        usageViews: createUsageViewsRepo(store),
        // The CLI's replay (live minus side effects) for one trial policy or the active ones; detection only when asked.
        replay: async (r) => {
          const settings = detectorSettings(config);
          const result = await replay({
            settings: r.anomaly ? settings : { ...settings, anomaly: null },
            policies: { active: () => r.policies, limitsFor: (p, entity) => policyService.limitsFor(p, entity) },
            quotaRepo,
            anomalyRepo,
            fresh: { mode: 'replay', repo: createFreshRepo(store) },
            // What replay would revoke is its answer, not news for the server log.
            logger: logger.child({ component: 'replay' }, { level: 'warn' }),
            from: r.from,
            to: r.to,
            stepMs: r.stepMs,
          });
          return result.rows;
        },
        webAssets,
      });
      api.addHook('onResponse', async (request, reply) => {
        if (request.url.startsWith('/api/policies') && request.method !== 'GET') refreshKeep();
        else if (request.routeOptions.url === '/v1/revocations') metrics.polled(reply.statusCode);
      });
      Object.assign(app, { api, enforcement, loop, forwardAuth, notifier, admission: adm.admission, gatewayMirror });
      if (config.gateway.listener === 'worker') {
        startGateway = async () => {
          const gateway = await startGatewayListener({
            host: config.gateway.host ?? config.server.host,
            port: config.gateway.port,
            tokens,
            headers: config.gateway.headers,
            nginxMode: config.gateway.nginx_mode,
            hashKey: t.tokens.hash_key,
            maxStalenessMs: config.gateway.max_staleness,
            failMode: config.gateway.fail_mode,
            limits: { ...httpLimits(config.server), maxConnections: cap },
            subscribe: (send) => feed.subscribe(send),
            // Requests with an admission estimate: the worker asks the main thread, where the ledger is.
            authorize: createAuthorizeAnswerer(authorizeOptions),
            logger: logger.child({ component: 'gateway' }),
          });
          app.gateway = gateway;
          cleanups.unshift(() => gateway.close());
          return gateway.url;
        };
      }
      onIngested = () => loop.nudge();
      cleanups.unshift(() => loop.stop());
      cleanups.unshift(() => api.close());
    }

    let closed = false;
    app.listen = async () => {
      const host = config.server.host;
      const urls: { otlpUrl?: string; apiUrl?: string; gatewayUrl?: string } = {};
      if (app.otlp) urls.otlpUrl = await app.otlp.listen({ host, port: config.server.otlp_port });
      if (app.api) urls.apiUrl = apiBase = await app.api.listen({ host, port: config.server.api_port });
      if (startGateway) urls.gatewayUrl = await startGateway();
      if (app.loop && o.startLoop !== false) app.loop.start();
      return urls;
    };
    app.close = async () => {
      if (closed) return;
      closed = true;
      for (const c of cleanups) await c();
    };
    return app;
  } catch (err) {
    for (const c of cleanups) await c();
    throw err;
  }
}
