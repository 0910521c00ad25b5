import type { FastifyInstance, FastifySchema } from 'fastify';
import fp from 'fastify-plugin';
import type { PriceInput, PriceResult } from '../core/pricing/types.ts';
import type { Notifier } from '../detector/alerts/notifier.ts';
import type { Bus } from '../detector/bus.ts';
import type { Enforcement } from '../detector/enforcement.ts';
import type { GatewayMirror } from '../detector/gateway-mirror.ts';
import type { PolicyService } from '../detector/policies.ts';
import type { QuotaStatus } from '../detector/quota-status.ts';
import type { AnomalyRepo } from '../store/anomaly-repo.ts';
import type { ClickHouse } from '../store/port.ts';
import type { IngestStatsRepo } from '../store/ingest-stats-repo.ts';
import type { UsageReportRepo } from '../store/usage-report-repo.ts';
import type { Admission } from '../detector/reservations-service.ts';
import { admissionRoutes } from './admission.ts';
import { alertRoutes } from './alerts.ts';
import { authPlugin, type AuthLevel, type Tokens } from './auth.ts';
import authorizePlugin, { type AuthorizeOptions } from './authorize.ts';
import type { Idempotency } from '../detector/idempotency.ts';
import { enforcementRoutes } from './enforcement.ts';
import { answerClientError } from './client-error.ts';
import { answerRoutingError, errorsPlugin, MAX_PARAM_LENGTH } from './errors.ts';
import { healthRoutes, type HealthOptions } from './health.ts';
import { incidentRoutes } from './incidents.ts';
import { ingestStatsRoutes } from './ingest-stats.ts';
import { metricsRoutes, type MetricsOptions } from './metrics.ts';
import { ingestTokenRoutes } from './ingest-tokens.ts';
import type { IngestTokenService } from '../detector/ingest-tokens.ts';
import { docsRoutes, openapiPlugin } from './openapi.ts';
import { policyRoutes } from './policies.ts';
import { quotaRoutes } from './quotas.ts';
import { revocationRoutes } from './revocations.ts';
import { usageRoutes } from './usage.ts';
import { replayRoutes, type ReplayOptions } from './replay.ts';
import { securityHeadersPlugin } from './security-headers.ts';
import { usageViewRoutes } from './usage-views.ts';
import { webUiRoutes, type WebUiOptions } from './web-ui.ts';
import type { UsageViewsRepo } from '../store/usage-views-repo.ts';

/** What the API's areas need; the composition root (app/build.ts) provides it. */
export interface ApiDeps {
  tokens: Tokens;
  ready: HealthOptions['ready'];
  now: () => number;
  enforcement: Enforcement;
  /** The API port's copy of what gateways are answered from (the revocation list, remaining quota, staleness). */
  gatewayMirror: GatewayMirror;
  /** Idempotency-Key answers of POST /v1/enforcement (kept in the store). */
  idempotency: Idempotency;
  bus: Bus;
  policies: PolicyService;
  quotaStatus: QuotaStatus;
  incidents: AnomalyRepo;
  usageReports: UsageReportRepo;
  /** What the collectors flushed to `ingest_stats` (every collector process, wherever it runs). */
  ingestStats: IngestStatsRepo;
  /** Ingest tokens of the config file and the admin API. */
  ingestTokens: IngestTokenService;
  store: ClickHouse;
  pricer: { price(i: PriceInput): PriceResult };
  authorize: AuthorizeOptions;
  alerts: Notifier;
  usageViews: UsageViewsRepo;
  /** The CLI's replay, for POST /api/replay. */
  replay: ReplayOptions['run'];
  /** Longest an API replay may run (server.timeouts.replay). */
  replayBudgetMs: number;
  webAssets: WebUiOptions['assets'];
  /** The process's Prometheus registry, served at GET /metrics. */
  metrics: MetricsOptions['registry'];
  /** Admission with reservations (POST /v1/admission). */
  admission: Admission;
}

/**
 * Fastify options every listener takes. Requests are validated by TypeBox (api/errors.ts); ajv only picks the
 * branch of a union while serializing a response, where checking string formats again would only cost time (and
 * some of ours, like `duration`, mean something else to ajv). Requests refused before routing (by the HTTP parser,
 * or a URL the router cannot read) get the same coded error answers as the routes' own. Path parameters are as
 * long as their schemas allow (an entity id up to 256 characters): the router's own limit sits above every schema's.
 */
export const listenerOptions = {
  serializerOpts: { ajv: { validateFormats: false } },
  routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  clientErrorHandler: answerClientError,
  frameworkErrors: answerRoutingError,
};

/** The conventions every listener shares (errors, validation, auth); the OTLP listener registers only these and health. */
export async function registerConventions(app: FastifyInstance, tokens: Tokens): Promise<void> {
  await app.register(errorsPlugin);
  await app.register(authPlugin, tokens);
}

/** A route as registered, for the route table tests and the API description check. */
export interface RouteInfo {
  method: string;
  url: string;
  auth: AuthLevel;
  schema: FastifySchema | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of this listener, collected as it is registered. */
    routeTable: RouteInfo[];
  }
}

/**
 * The API listener: conventions, the OpenAPI collector, one plugin per area, then the docs. A new area is one more
 * `register` line among the areas.
 */
export const apiPlugin = fp(
  async (app: FastifyInstance, d: ApiDeps) => {
    const table: RouteInfo[] = [];
    app.decorate('routeTable', table);
    app.addHook('onRoute', (r) => {
      // Read lazily: a later onRoute hook of an inner plugin may still set the route's auth level.
      for (const method of [r.method].flat()) table.push({ method, url: r.url, get auth() { return r.config?.auth ?? 'admin'; }, get schema() { return r.schema; } });
    });
    await registerConventions(app, d.tokens);
    await app.register(securityHeadersPlugin);
    await app.register(openapiPlugin);
    await app.register(healthRoutes, { ready: d.ready });
    await app.register(metricsRoutes, { registry: d.metrics });
    await app.register(revocationRoutes, { mirror: d.gatewayMirror });
    await app.register(authorizePlugin, d.authorize);
    await app.register(admissionRoutes, { admission: d.admission });
    await app.register(enforcementRoutes, { enforcement: d.enforcement, bus: d.bus, now: d.now, idempotency: d.idempotency });
    await app.register(policyRoutes, { policies: d.policies });
    await app.register(quotaRoutes, { status: d.quotaStatus, now: d.now });
    await app.register(incidentRoutes, { repo: d.incidents });
    await app.register(usageRoutes, { reports: d.usageReports, store: d.store, pricer: d.pricer, now: d.now });
    await app.register(alertRoutes, { notifier: d.alerts });
    await app.register(ingestStatsRoutes, { repo: d.ingestStats, now: d.now });
    await app.register(ingestTokenRoutes, { tokens: d.ingestTokens });
    await app.register(usageViewRoutes, { repo: d.usageViews, now: d.now });
    await app.register(replayRoutes, { policies: () => d.policies.active(), run: d.replay, budgetMs: d.replayBudgetMs, now: d.now });
    await app.register(webUiRoutes, { assets: d.webAssets });
    await app.register(docsRoutes);
  },
  { name: 'tollkeeper-api' },
);
