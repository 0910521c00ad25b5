// SQL building blocks of the usage dashboard: filters from the dashboard's variables, the rollup a range reads,
// the current revocation list and the incidents of a range.
import { whenPicked } from './kit.ts';

/** Every filter the raw events support (the by-model and unpriced panels, the totals). */
export const EVENT_FILTERS = ['tenant', 'api_key', 'agent', 'model'].map((v) => `AND ${whenPicked(v, v)}`).join('\n  ');

/** The rollup has one row per entity of a kind and minute, with the tenant: it filters by tenant and by its own kind. */
export function rollupFilters(kind: string): string {
  return kind === 'tenant' ? `AND ${whenPicked('entity', 'tenant')}` : `AND ${whenPicked('tenant', 'tenant')}\n  AND ${whenPicked('entity', kind)}`;
}

/**
 * Ranges longer than two days read the hourly rollup (usage_hour), shorter ones the per-minute one. Every query
 * that reads a rollup has one UNION ALL branch per table, guarded by this constant condition so that exactly one
 * branch reads data. The hourly branch buckets by at least an hour and takes the range's first hour whole.
 */
export const LONG_RANGE = 'dateDiff(\'hour\', $__fromTime, $__toTime) > 48';
export const HOURLY_FILTER = `hour >= toStartOfHour($__fromTime) AND hour <= $__toTime AND ${LONG_RANGE}`;
export const MINUTE_FILTER = `$__timeFilter(minute) AND NOT (${LONG_RANGE})`;
export const HOURLY_BUCKET = 'toStartOfInterval(hour, INTERVAL greatest($__interval_s, 3600) second)';

/** Rows of the rollup for the range, from the table the range picks: `t` (the bucket) plus the columns given. */
export function rollupRows(where: string, columns: string): string {
  return `(
  SELECT $__timeInterval(minute) AS t, ${columns} FROM usage_minute
  WHERE ${where} AND ${MINUTE_FILTER}
  UNION ALL
  SELECT ${HOURLY_BUCKET} AS t, ${columns} FROM usage_hour
  WHERE ${where} AND ${HOURLY_FILTER}
)`;
}

/** The current revocation list: the newest change per (kind, id) in the append-only log, entries not removed or expired. */
export const CURRENT_LIST = `
SELECT kind, id, action, source, reason, since, expires_at
FROM (
  SELECT
    kind, id,
    argMax(op, version) AS last_op,
    argMax(entry, version) AS last_entry,
    JSONExtractString(last_entry, 'action') AS action,
    JSONExtractString(last_entry, 'source') AS source,
    JSONExtractString(last_entry, 'reason') AS reason,
    parseDateTime64BestEffortOrNull(JSONExtractString(last_entry, 'created_at'), 3, 'UTC') AS since,
    parseDateTime64BestEffortOrNull(JSONExtractString(last_entry, 'expires_at'), 3, 'UTC') AS expires_at
  FROM enforcement_log
  GROUP BY kind, id
)
WHERE last_op = 'upsert' AND (expires_at IS NULL OR expires_at > now64(3))`;

/** Incidents that overlap the range (started before its end, not resolved before its start), newest version each. */
export const INCIDENTS_IN_RANGE = `FROM incidents FINAL
WHERE started_at <= $__toTime AND (resolved_at IS NULL OR resolved_at >= $__fromTime)
  AND ${whenPicked('tenant', 'tenant')}`;
