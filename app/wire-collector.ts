import { hostname } from 'node:os';
import { join } from 'node:path';
import { registerConventions } from '../api/index.ts';
import { healthRoutes } from '../api/health.ts';
import { metricsRoutes } from '../api/metrics.ts';
import { backfilledEntities } from '../collector/backfill-notice.ts';
import { createBatchWriter } from '../collector/batch-writer.ts';
import { bump, createIngest, type Ingest } from '../collector/ingest.ts';
import { createStatsFlusher } from '../collector/ingest-stats.ts';
import { createMetricsIngest } from '../collector/metrics-ingest.ts';
import { BodyBudget, defaultBudgetBytes } from '../collector/body-budget.ts';
import { createMemoryLimiter, exposedGc } from '../collector/memory-limiter.ts';
import { collectorPlugin } from '../collector/plugin.ts';
import { openSpool } from '../collector/spool.ts';
import { DEFAULT_IDENTITY, type IdentityConfig } from '../core/usage/identity.ts';
import { secretHasher } from '../core/usage/secret-hash.ts';
import { ENTITY_KINDS } from '../core/usage/types.ts';
import { createMetricSeriesRepo } from '../store/metric-series-repo.ts';
import { createUsageRepo } from '../store/usage-repo.ts';
import { freshEvents } from './fresh-wiring.ts';
import { assertIngestGuarded } from './ingest-guard.ts';
import { refreshIngestTokens } from './ingest-tokens.ts';
import type { Wiring } from './wiring.ts';

/** The collector role: the OTLP listener, span and metrics ingest, the batch writer and its spool, ingest stats. */
export async function wireCollector(w: Wiring): Promise<void> {
  const { config, store, logger, now, app, cleanups } = w;
  const metrics = app.metrics;
  assertIngestGuarded({ host: config.server.host, port: config.server.otlp_port, tokenRequired: w.tokenSet.required, insecure: config.ingest.insecure });
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
    ...(w.useChdb ? { storedUpTo: await usageRepo.maxTime() } : {}),
    // History older than the current hour (a migration, a replay) makes the detector rebuild those baselines now;
    // fresh usage feeds the detector's sub-minute counters, and the tokens of entities throttled by tokens per
    // minute the gateways' post-paid buckets (when the detector runs in this process).
    onStored: (rows) => {
      app.admission?.stored(rows.map((r) => r.line));
      const usage = w.links.gatewayUsage;
      const events = app.anomaly || usage?.wantsUsage() ? freshEvents(rows) : [];
      usage?.usage(events);
      if (!app.anomaly) return;
      const entities = backfilledEntities(rows, Math.floor(now() / 3_600_000) * 3_600_000);
      if (entities.length > 0) app.anomaly.invalidate(entities);
      app.anomaly.fresh(events, now());
    },
  });
  const identity: IdentityConfig = {
    lists: { ...DEFAULT_IDENTITY, ...Object.fromEntries(ENTITY_KINDS.filter((k) => config.identity[k]).map((k) => [k, config.identity[k]])) },
    secretAttributes: config.identity.secret_attributes,
    required: config.identity.required,
    keep: w.keep,
    hash: secretHasher(w.hashKey),
  };
  const ingest = createIngest({
    mapping: { identity, computeOperations: config.ingest.compute_operations, maxAgeMs: config.ingest.max_age, maxFutureMs: 5 * 60_000 },
    pricer: w.pricer,
    writer,
    logger: logger.child({ component: 'ingest' }),
    now,
  });
  const stats = createStatsFlusher({
    counters: ingest.counters,
    writerStats: () => writer.stats(),
    insert: (rows) => w.ingestStatsRepo.insert(rows),
    logger: logger.child({ component: 'ingest-stats' }),
    now,
    instance: `${hostname()}:${process.pid}`,
  });
  // Closed after the writer (cleanups run in reverse): the last flush holds the last batches' counts.
  cleanups.unshift(() => stats.close());
  const otlp = w.listener();
  await registerConventions(otlp, { ...w.authTokens, ingest: { set: w.tokenSet, onDenied: (reason) => bump(ingest.counters.unauthorized, reason) } });
  await otlp.register(healthRoutes, { ready: w.ready });
  await otlp.register(metricsRoutes, { registry: metrics.registry });
  const bodyLimit = config.ingest.body_limit_mib * 1024 * 1024;
  const bodyBudget = new BodyBudget(config.ingest.max_inflight_mib !== undefined ? config.ingest.max_inflight_mib * 1024 * 1024 : defaultBudgetBytes(bodyLimit));
  const MIB = 1024 * 1024;
  const memoryLimiter = config.ingest.memory_limit_mib > 0
    ? createMemoryLimiter({ limitBytes: config.ingest.memory_limit_mib * MIB, spikeBytes: config.ingest.memory_spike_mib * MIB, gc: exposedGc(), idle: () => bodyBudget.held === 0, logger: logger.child({ component: 'memory-limiter' }) })
    : undefined;
  if (memoryLimiter) cleanups.unshift(() => memoryLimiter.close());
  metrics.watchCollector({ counters: ingest.counters, writer, bodyBudget, ...(memoryLimiter ? { memoryLimiter } : {}) });
  // In one process, fresh usage nudges the detector to tick early (quota overspend stays a fraction of a tick).
  // Not async: an async function would keep the request's decoded spans alive until the store has the events.
  const nudging: Ingest = { ...ingest, ingest: (spans, decoderRejected, token) =>
    ingest.ingest(spans, decoderRejected, token).then((r) => {
      if (r.outcome.ok) w.links.onIngested();
      return r;
    }) };
  // On a server, other collectors may share the series: their state is read from the store on every export.
  const metricsIngest = createMetricsIngest({ ingest: nudging, series: createMetricSeriesRepo(store), logger: logger.child({ component: 'metrics-ingest' }), now, sharedSeries: !w.useChdb });
  metrics.watchMetricsIngest(metricsIngest.counters);
  await otlp.register(collectorPlugin, {
    ingest: nudging,
    metrics: metricsIngest,
    bodyLimit,
    bodyBudget,
    refusal: () => writer.refusal(),
    admission: () => {
      const refused = memoryLimiter?.refusal() ?? null;
      if (refused) bump(ingest.counters.requestsRefused, 'memory');
      return refused;
    },
    onAnswer: (status) => metrics.otlpAnswered(status),
    answerWithinMs: config.ingest.answer_within,
  });
  Object.assign(app, { otlp, ingest, writer, bodyBudget, stats, metricsIngest, memoryLimiter });
  if (w.role === 'collector') {
    const timer = setInterval(() => void w.policies.load().then(w.refreshKeep, (err: unknown) => logger.warn({ err }, 'cannot refresh policies')), 30_000);
    timer.unref();
    cleanups.unshift(() => clearInterval(timer));
    // Tokens created or revoked through the detector's API reach this process within the interval.
    cleanups.unshift(refreshIngestTokens(w.ingestTokens, logger));
  }
  cleanups.unshift(() => writer.close());
  cleanups.unshift(() => otlp.close());
}
