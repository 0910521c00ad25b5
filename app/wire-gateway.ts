import { createAuthorizeAnswerer, type AuthorizeOptions } from '../api/authorize-answer.ts';
import { startGatewayListener } from '../api/gateway-listener.ts';
import { createGatewayPriority } from '../api/gateway-priority.ts';
import type { GatewayFeed } from '../detector/gateway-feed.ts';
import { httpLimits } from './http-limits.ts';
import type { Wiring } from './wiring.ts';

/**
 * The gateway listener: `/v1/authorize` and `/v1/revocations` on their own port, answered by a worker (a process
 * of its own, or a thread) from its copy of the feed. Returns how to start it (on listen), or nothing when it is off.
 */
export function gatewayStarter(w: Wiring, feed: GatewayFeed, authorize: AuthorizeOptions): (() => Promise<string>) | undefined {
  const { config, app } = w;
  const { listener } = config.gateway;
  if (listener === 'off') return undefined;
  return async () => {
    const logger = w.logger.child({ component: 'gateway' });
    // The other threads yield the CPU to the gateway worker, so ingest and the engine do not delay its answers.
    const priority = createGatewayPriority({ offset: config.gateway.background_nice, logger, onOutcome: (p) => app.metrics.gatewayPriority(p) });
    const gateway = await startGatewayListener({
      isolation: listener === 'thread' ? 'thread' : 'process',
      host: config.gateway.host ?? config.server.host,
      port: config.gateway.port,
      // The metrics token too, so the worker refuses it as the API port does (403) rather than not knowing it (401).
      tokens: { ...w.tokens, metrics: config.auth.metrics_token },
      headers: config.gateway.headers,
      nginxMode: config.gateway.nginx_mode,
      hashKey: w.hashKey,
      maxStalenessMs: config.gateway.max_staleness,
      failMode: config.gateway.fail_mode,
      limits: { ...httpLimits(config.server), maxConnections: w.cap },
      subscribe: (send) => feed.subscribe(send),
      // Requests with an admission estimate: the worker asks the main thread, where the ledger is.
      authorize: createAuthorizeAnswerer(authorize),
      onCounts: (c) => app.metrics.gatewayCounted(c),
      onRestart: () => app.metrics.gatewayRestarted(),
      onWorkerListening: (w) => priority.workerStarted(w),
      logger,
    });
    app.gateway = gateway;
    w.cleanups.unshift(() => gateway.close());
    return gateway.url;
  };
}
