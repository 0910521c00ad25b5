import type { UsageRepo } from '../store/usage-repo.ts';
import type { RecentIds } from './recent-ids.ts';
import type { Row } from './rows.ts';

/** Ids per dedup lookup: ~300 KB of query parameters, well inside a server's URL limit. */
const LOOKUP_SLICE = 5000;

/**
 * The batch writer's dedup step: drops rows whose ids were written before (by this process, per its recent
 * ids, or by any process, per the store): exactly-once per event id. `storedUpTo` is set when this process is
 * the store's only writer (see BatchWriterOptions).
 */
export function freshRows(repo: Pick<UsageRepo, 'existingIds'>, recent: RecentIds, storedUpTo: number | undefined) {
  return async function fresh(rows: readonly Row[]): Promise<Row[]> {
    const seen = new Set<string>();
    const candidates: Row[] = [];
    for (const row of rows) {
      if (seen.has(row.key) || recent.hasKey(row.key)) continue;
      seen.add(row.key);
      candidates.push(row);
    }
    if (candidates.length === 0) return [];
    // With a single writer, only events that an earlier run, or this run before forgetting them, could have
    // written need the store lookup: those ending no later than what was stored at start, or than the latest
    // evicted recent id.
    const horizon = storedUpTo === undefined ? Infinity : Math.max(storedUpTo, recent.forgottenUpTo);
    const unsure = horizon === Infinity ? candidates : candidates.filter((c) => c.time <= horizon);
    if (unsure.length === 0) return candidates;
    const stored = new Set<string>();
    // In slices: a server gets the ids in its URL (query parameters), which it caps at 1 MiB by default.
    for (let i = 0; i < unsure.length; i += LOOKUP_SLICE) {
      const slice = unsure.slice(i, i + LOOKUP_SLICE);
      let lo = Infinity;
      let hi = -Infinity;
      for (const e of slice) {
        lo = Math.min(lo, e.time);
        hi = Math.max(hi, e.time);
      }
      for (const id of await repo.existingIds(
        slice.map((r) => r.id),
        lo,
        hi,
      )) {
        stored.add(id);
      }
    }
    return stored.size === 0 ? candidates : candidates.filter((c) => !stored.has(c.id));
  };
}
