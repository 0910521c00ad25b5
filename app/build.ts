import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { listenerOptions } from '../api/index.ts';
import type { Config } from '../core/config/load.ts';
import { createPricer } from '../core/pricing/pricer.ts';
import type { Policy } from '../core/quota/policy.ts';
import { ENTITY_KINDS } from '../core/usage/types.ts';
import { createPolicyService } from '../detector/policies.ts';
import { RESERVATION_ATTRIBUTE } from '../detector/reservations-rows.ts';
import { openClickHouse } from '../store/clickhouse.ts';
import { lockDataDir } from '../store/data-lock.ts';
import { createIngestStatsRepo } from '../store/ingest-stats-repo.ts';
import { isMigrated, migrate } from '../store/migrate.ts';
import { createPolicyRepo } from '../store/policy-repo.ts';
import { repairRollupsAfterCrash } from './crash-repair.ts';
import { connectionCap, connectionLimits } from './http-limits.ts';
import { loadIngestTokens } from './ingest-tokens.ts';
import { createMetrics } from './metrics.ts';
import { assertSharedHashKey, ensureTokens } from './tokens.ts';
import type { BuildOptions, Tollkeeper } from './tollkeeper.ts';
import { wireCollector } from './wire-collector.ts';
import { wireDetector } from './wire-detector.ts';
import type { Wiring } from './wiring.ts';

export type { BuildOptions, Role, Tollkeeper } from './tollkeeper.ts';

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

/**
 * The composition root: one place that knows every adapter. It opens what every role shares (store, tokens,
 * policies, metrics); the roles pick which parts run (wire-collector.ts, wire-detector.ts).
 */
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
    assertSharedHashKey({ role, server: !useChdb, secretAttributes: config.identity.secret_attributes, hashKey: config.identity.hash_key, dataDir: config.dataDir });
    const t = ensureTokens(config.dataDir, { ...config.auth, ...(config.identity.hash_key ? { hash_key: config.identity.hash_key } : {}) });
    const store = config.store.clickhouse
      ? await openClickHouse({ kind: 'server', url: config.store.clickhouse.url, database: o.database ?? config.store.clickhouse.database, username: config.store.clickhouse.username, password: config.store.clickhouse.password })
      : await openClickHouse({ kind: 'chdb', path: join(config.dataDir, 'clickhouse'), database: o.database ?? 'tollkeeper' });
    cleanups.unshift(() => store.close());
    await migrate(store);
    // Embedded engine only: its data directory belongs to this process (lock), and a kill can cut an insert short.
    if (useChdb) cleanups.splice(cleanups.indexOf(releaseLock), 0, await repairRollupsAfterCrash(store, config.dataDir, now, logger.child({ component: 'store' })));
    const pricer = createPricer(config.pricing);
    const policies = createPolicyService({ repo: createPolicyRepo(store), configPolicies: config.policies, now });
    await policies.load();
    // Refreshed as API policies change (also in a separate collector process, which polls the policy table).
    const keep = keptAttributes(config, policies.active());
    const refreshKeep = () => void keep.splice(0, keep.length, ...keptAttributes(config, policies.active()));
    const ready = async () => ((await store.ping()) && (await isMigrated(store)) ? { ok: true } : { ok: false, reason: 'store unreachable or not migrated' });
    const tokens = { admin: t.tokens.admin_token, gateway: t.tokens.gateway_token };
    const { set: tokenSet, service: ingestTokens } = await loadIngestTokens(config, store, now);
    const metrics = createMetrics();
    const app: Tollkeeper = { config, store, metrics, ingestTokens, tokens: { ...tokens, path: t.path }, listen: async () => ({}), close: async () => undefined };
    const fastifyOpts = {
      loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
      forceCloseConnections: true,
      logController: new LogController({ disableRequestLogging: true }),
      ...listenerOptions,
      ...connectionLimits(config.server),
    };
    const cap = connectionCap(config.server.max_connections);
    const listener = (): FastifyInstance => {
      const f = Fastify(fastifyOpts);
      f.server.maxConnections = cap;
      return f;
    };
    const w: Wiring = {
      config, role, now, logger, store, useChdb, app, cleanups, listener, cap, tokens,
      authTokens: { ...tokens, metrics: config.auth.metrics_token },
      hashKey: t.tokens.hash_key,
      tokenSet, ingestTokens, ready, pricer, policies, keep, refreshKeep,
      ingestStatsRepo: createIngestStatsRepo(store),
      links: {
        onIngested: () => undefined,
        // Where operators reach the API until it is bound.
        apiBase: `http://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${config.server.api_port}`,
      },
    };
    if (role !== 'detector') await wireCollector(w);
    if (role !== 'collector') await wireDetector(w);

    let closed = false;
    app.listen = async () => {
      const host = config.server.host;
      const urls: { otlpUrl?: string; apiUrl?: string; gatewayUrl?: string } = {};
      if (app.otlp) urls.otlpUrl = await app.otlp.listen({ host, port: config.server.otlp_port });
      if (app.api) urls.apiUrl = w.links.apiBase = await app.api.listen({ host, port: config.server.api_port });
      if (w.links.startGateway) urls.gatewayUrl = await w.links.startGateway();
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
