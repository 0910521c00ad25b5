import type { TestApp } from './app.ts';

/** Tables a refused request must never write to (policies, overrides, ingest tokens, the enforcement log). */
export const GUARDED_TABLES = ['policies', 'policy_overrides', 'ingest_tokens', 'enforcement_log'] as const;

/**
 * What the API's state looks like, as one string: the policies, ingest tokens and revocation list the API
 * answers, and the row count of every guarded table in the store. Equal before and after a refused request
 * means the request changed nothing, in memory nor in the store.
 */
export async function stateFingerprint(t: TestApp): Promise<string> {
  const api = t.app.api!;
  const get = async (url: string) => {
    const r = await api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.adminToken}` } });
    if (r.statusCode !== 200) throw new Error(`GET ${url} answered ${r.statusCode} while taking the state fingerprint: ${r.body}`);
    return JSON.parse(r.body) as unknown;
  };
  const [policies, tokens, revocations] = await Promise.all([get('/api/policies'), get('/api/ingest-tokens'), get('/v1/revocations')]);
  const store = t.app.store;
  const counts = await store.query<Record<string, string | number>>(`SELECT ${GUARDED_TABLES.map((name) => `(SELECT count() FROM ${store.table(name)}) AS ${name}`).join(', ')}`);
  return JSON.stringify({ policies, tokens, version: (revocations as { version: number }).version, rows: counts[0] });
}
