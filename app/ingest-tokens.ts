import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../core/config/load.ts';
import { keyedDigest } from '../core/ingest/token-hash.ts';
import { IngestTokenSet } from '../core/ingest/tokens.ts';
import { createIngestTokenService, definedTokens, type IngestTokenService } from '../detector/ingest-tokens.ts';
import { createIngestTokenRepo } from '../store/ingest-token-repo.ts';
import type { ClickHouse } from '../store/port.ts';

/** How often a collector running on its own reads the ingest tokens again (a revocation takes effect within it). */
const REFRESH_MS = 5_000;

/**
 * The ingest tokens of the config file and the store, loaded, and the set the collector's auth checks. Digests are
 * looked up under a random key of this process (core/ingest/token-hash.ts): nothing to share between processes.
 */
export async function loadIngestTokens(config: Config, store: ClickHouse, now: () => number): Promise<{ set: IngestTokenSet; service: IngestTokenService }> {
  const lookupKey = randomBytes(32);
  const set = new IngestTokenSet((digest) => keyedDigest(lookupKey, digest));
  const service = createIngestTokenService({
    repo: createIngestTokenRepo(store),
    defined: definedTokens(config.auth.otlp_token, config.ingest.tokens),
    set,
    now,
    newSecret: () => 'tki_' + randomBytes(24).toString('base64url'),
  });
  await service.load();
  return { set, service };
}

/** In a collector running apart from the API, reads the tokens again every 5 s; returns the stop. */
export function refreshIngestTokens(service: IngestTokenService, logger: Logger): () => void {
  const timer = setInterval(() => void service.load().catch((err: unknown) => logger.warn({ err }, 'cannot refresh ingest tokens; keeping the last set')), REFRESH_MS);
  timer.unref();
  return () => clearInterval(timer);
}
