import type { IngestScope } from '../core/ingest/scope.ts';
import type { StoredToken } from '../core/ingest/tokens.ts';
import type { ClickHouse } from './port.ts';
import { chTime, fromChTime } from './time.ts';

/** One change of an API-created ingest token (its SHA-256, never the secret). */
export interface IngestTokenChange extends StoredToken {
  actor: string;
}

/** The scope as stored: snake_case lists, each only when it limits something. */
function scopeJson(s: IngestScope): string {
  return JSON.stringify({ ...(s.tenants ? { tenants: s.tenants } : {}), ...(s.apiKeys ? { api_keys: s.apiKeys } : {}), ...(s.services ? { services: s.services } : {}) });
}

function scopeOf(json: string): IngestScope {
  const v = JSON.parse(json) as { tenants?: string[]; api_keys?: string[]; services?: string[] };
  return { ...(v.tenants ? { tenants: v.tenants } : {}), ...(v.api_keys ? { apiKeys: v.api_keys } : {}), ...(v.services ? { services: v.services } : {}) };
}

export interface IngestTokenRepo {
  append(c: IngestTokenChange): Promise<void>;
  /** The newest version of every token ever created, revoked ones included, by name. */
  latest(): Promise<IngestTokenChange[]>;
}

/** Versioned storage of API-created ingest tokens (`ingest_tokens`): a row per change, the newest per name wins. */
export function createIngestTokenRepo(ch: ClickHouse): IngestTokenRepo {
  const table = ch.table('ingest_tokens');
  return {
    async append(c) {
      await ch.insert(
        'ingest_tokens',
        [{ name: c.name, version: c.version, token_hash: c.digest, scope: scopeJson(c.scope), revoked: c.revoked ? 1 : 0, changed_at: chTime(c.changedAt), actor: c.actor }],
        { tag: 'ingest_tokens.append' },
      );
    },
    async latest() {
      const rows = await ch.query<{ name: string; v: number; h: string; s: string; r: number; at: string; who: string }>(
        `SELECT name, max(version) AS v, argMax(token_hash, version) AS h, argMax(scope, version) AS s,
                argMax(revoked, version) AS r, toString(argMax(changed_at, version)) AS at, argMax(actor, version) AS who
         FROM ${table} GROUP BY name ORDER BY name`,
        undefined,
        { tag: 'ingest_tokens.latest' },
      );
      return rows.map((r) => ({
        name: r.name,
        version: Number(r.v),
        digest: r.h,
        scope: scopeOf(r.s),
        revoked: Number(r.r) === 1,
        changedAt: fromChTime(r.at),
        actor: r.who,
      }));
    },
  };
}

/** The in-memory twin (tests of the token service and routes without a store of their own). */
export function createMemoryIngestTokenRepo(): IngestTokenRepo & { changes: IngestTokenChange[] } {
  const changes: IngestTokenChange[] = [];
  return {
    changes,
    async append(c) {
      changes.push({ ...c });
    },
    async latest() {
      const newest = new Map<string, IngestTokenChange>();
      for (const c of changes) if ((newest.get(c.name)?.version ?? -1) < c.version) newest.set(c.name, c);
      return [...newest.values()].sort((a, b) => a.name.localeCompare(b.name));
    },
  };
}
