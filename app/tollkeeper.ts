import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../core/config/load.ts';
import type { BatchWriter } from '../collector/batch-writer.ts';
import type { BodyBudget } from '../collector/body-budget.ts';
import type { MemoryLimiter } from '../collector/memory-limiter.ts';
import type { Ingest } from '../collector/ingest.ts';
import type { StatsFlusher } from '../collector/ingest-stats.ts';
import type { MetricsIngest } from '../collector/metrics-ingest.ts';
import type { Notifier } from '../detector/alerts/notifier.ts';
import type { createAnomalyJob } from '../detector/anomaly-job.ts';
import type { Enforcement } from '../detector/enforcement.ts';
import type { ForwardAuth } from '../detector/forward-auth.ts';
import type { GatewayMirror } from '../detector/gateway-mirror.ts';
import type { IngestTokenService } from '../detector/ingest-tokens.ts';
import type { createTickLoop } from '../detector/loop.ts';
import type { Admission } from '../detector/reservations-service.ts';
import type { GatewayListener } from '../api/gateway-listener.ts';
import type { ClickHouse } from '../store/port.ts';
import type { Metrics } from './metrics.ts';

/* What buildTollkeeper returns and takes: the running parts of a process, and how to build one. */

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
  /** Bytes of OTLP request bodies held at once, until answered (`ingest.max_inflight_mib`). */
  bodyBudget?: BodyBudget;
  /** Refuses new ingest requests while resident memory is over `ingest.memory_limit_mib` less its spike margin (absent at 0). */
  memoryLimiter?: MemoryLimiter | undefined;
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
  /** The gateway listener (a worker process, or thread), once listening. */
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
