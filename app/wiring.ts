import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Tokens } from '../api/auth.ts';
import type { HealthOptions } from '../api/health.ts';
import type { Config } from '../core/config/load.ts';
import type { IngestTokenSet } from '../core/ingest/tokens.ts';
import type { Pricer } from '../core/pricing/types.ts';
import type { GatewayFeed } from '../detector/gateway-feed.ts';
import type { IngestTokenService } from '../detector/ingest-tokens.ts';
import type { PolicyService } from '../detector/policies.ts';
import type { IngestStatsRepo } from '../store/ingest-stats-repo.ts';
import type { ClickHouse } from '../store/port.ts';
import type { Role, Tollkeeper } from './tollkeeper.ts';

/**
 * What buildTollkeeper opened and decided before the roles are wired (the store, tokens, policies, the app being
 * assembled). Each role's wiring reads it, sets its parts on `app` and puts its cleanups first in `cleanups`.
 */
export interface Wiring {
  config: Config;
  role: Role;
  now: () => number;
  logger: Logger;
  store: ClickHouse;
  /** Embedded ClickHouse: the data directory, and so the store, belongs to this process alone. */
  useChdb: boolean;
  app: Tollkeeper;
  /** Run in order on close; a part's cleanup goes first, so what was wired last closes first. */
  cleanups: (() => Promise<void> | void)[];
  /** A fastify instance with the options and the connection cap every listener of the process shares. */
  listener: () => FastifyInstance;
  /** Connections per listener. */
  cap: number;
  tokens: { admin: string; gateway: string };
  /** The tokens the listeners check (admin, gateway, metrics). */
  authTokens: Tokens;
  /** The HMAC key secret identity values are stored under. */
  hashKey: string;
  tokenSet: IngestTokenSet;
  ingestTokens: IngestTokenService;
  ready: HealthOptions['ready'];
  pricer: Pricer;
  policies: PolicyService;
  /** Attributes kept on events (policies' match keys and scopes); `refreshKeep` updates it in place. */
  keep: string[];
  refreshKeep: () => void;
  ingestStatsRepo: IngestStatsRepo;
  /** Links between the roles of one process, filled in as the parts are wired and the listeners bind. */
  links: {
    /** Fresh usage was accepted (the detector nudges its loop when it runs in this process). */
    onIngested: () => void;
    /** Where operators reach the API (restore calls in alerts); the bound address once listening. */
    apiBase: string;
    /** Starts the gateway listener when it is on; its URL. */
    startGateway?: () => Promise<string>;
    /** Where stored usage of entities throttled by tokens per minute goes (the detector's gateway feed, in this process). */
    gatewayUsage?: Pick<GatewayFeed, 'wantsUsage' | 'usage'>;
  };
}
