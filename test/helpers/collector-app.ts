import { createHmac } from 'node:crypto';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { createLogger } from '../../app/logger.ts';
import { createBatchWriter, type BatchWriter } from '../../collector/batch-writer.ts';
import { BodyBudget, defaultBudgetBytes } from '../../collector/body-budget.ts';
import { createIngest } from '../../collector/ingest.ts';
import { collectorPlugin } from '../../collector/plugin.ts';
import { openSpool, type Spool } from '../../collector/spool.ts';
import { createPricer } from '../../core/pricing/pricer.ts';
import { DEFAULT_IDENTITY } from '../../core/usage/identity.ts';
import { healthRoutes } from '../../api/health.ts';
import { listenerOptions, registerConventions } from '../../api/index.ts';
import type { UsageRepo } from '../../store/usage-repo.ts';

export interface CollectorOptions {
  repo: UsageRepo;
  spoolDir: string;
  spoolMaxBytes: number;
  batchSize: number;
  flushIntervalMs: number;
  maxQueued: number;
  maxQueuedBytes?: number;
  bodyLimit?: number;
  maxInflightBytes?: number;
  /** `ingest.answer_within`: longest wait for the store before a 503 (default: none). */
  answerWithinMs?: number;
  /** Puts faults between the writer and the real spool (e.g. a disk that answers ENOSPC). */
  wrapSpool?: (spool: Spool) => Spool;
}

export interface TestCollector {
  url: string;
  writer: BatchWriter;
  /** Bytes of request bodies held at once (being read, decoded or ingested). */
  bodyBudget: BodyBudget;
  close(): Promise<void>;
}

/**
 * The collector's HTTP side as app/build.ts composes it (health routes, collectorPlugin, ingest, batch writer,
 * spool), listening on 127.0.0.1, but with the repo and limits chosen by the test: a way to put a real server
 * in front of a store that is down or slow.
 */
export async function startCollector(o: CollectorOptions): Promise<TestCollector> {
  const logger = createLogger(process.env.TOLLKEEPER_TEST_LOG ?? 'silent');
  const real = await openSpool(o.spoolDir, o.spoolMaxBytes);
  const spool = o.wrapSpool ? o.wrapSpool(real) : real;
  const writer = createBatchWriter({ repo: o.repo, spool, logger, batchSize: o.batchSize, flushIntervalMs: o.flushIntervalMs, maxQueued: o.maxQueued, ...(o.maxQueuedBytes !== undefined ? { maxQueuedBytes: o.maxQueuedBytes } : {}), drainIntervalMs: 25 });
  const ingest = createIngest({
    mapping: {
      identity: { lists: DEFAULT_IDENTITY, secretAttributes: [], required: [], keep: [], hash: (v) => 'h:' + createHmac('sha256', 'test-key').update(v).digest('hex').slice(0, 32) },
      computeOperations: [],
      maxAgeMs: 35 * 86_400_000,
      maxFutureMs: 5 * 60_000,
    },
    pricer: createPricer({ overrides: [], fallback: null }),
    writer,
    logger,
    now: Date.now,
  });
  // Typed as build.ts does, so the instance is the plain FastifyInstance that healthRoutes takes.
  const fastifyOpts = { loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger, forceCloseConnections: true, ...listenerOptions };
  const app = Fastify(fastifyOpts);
  await registerConventions(app, { admin: 'test-admin-token-0123456789' });
  await app.register(healthRoutes, { ready: async () => ({ ok: true }) });
  const bodyLimit = o.bodyLimit ?? 8 * 1024 * 1024;
  const bodyBudget = new BodyBudget(o.maxInflightBytes ?? defaultBudgetBytes(bodyLimit));
  await app.register(collectorPlugin, {
    ingest,
    bodyLimit,
    bodyBudget,
    refusal: () => writer.refusal(),
    ...(o.answerWithinMs !== undefined ? { answerWithinMs: o.answerWithinMs } : {}),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    writer,
    bodyBudget,
    async close() {
      await app.close();
      await writer.close();
    },
  };
}
