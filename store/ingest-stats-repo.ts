import type { ClickHouse } from './port.ts';
import { insertStatRows, type StatRow } from './stat-rows.ts';
import { chTime } from './time.ts';

export type { StatRow } from './stat-rows.ts';

/** Gauges are samples, not increments: summed over a range they mean nothing, so reads take their latest value. */
export const GAUGES = ['spool_bytes', 'spool_files', 'dead_events', 'writer_queue', 'writer_lag_ms'] as const;

/** Reads and writes `ingest_stats`: what every collector counted, in both deployment modes. */
export function createIngestStatsRepo(store: ClickHouse) {
  const table = store.table('ingest_stats');
  return {
    insert: (rows: readonly StatRow[]): Promise<void> => insertStatRows(store, 'ingest_stats', rows, 'collector.ingest_stats'),

    /** Usage attribute names no family vocabulary knows, with how many spans carried them and when last. */
    async unrecognized(from: number, to: number): Promise<{ attribute: string; spans: number; last_seen: string }[]> {
      const rows = await store.query<{ attribute: string; spans: number; last_seen: string }>(
        `SELECT label AS attribute, sum(value) AS spans, toString(max(ts)) AS last_seen FROM ${table}
         WHERE name = 'unrecognized_usage_attribute' AND ts >= {from:DateTime} AND ts < {to:DateTime}
         GROUP BY label HAVING spans > 0 ORDER BY spans DESC, attribute LIMIT 1000`,
        { from: chSecond(from), to: chSecond(to, true) },
        { tag: 'api.ingest_stats.unrecognized' },
      );
      return rows.map((r) => ({ attribute: r.attribute, spans: Number(r.spans), last_seen: r.last_seen.replace(' ', 'T') + 'Z' }));
    },

    /** Counters summed over the range per name and label; gauges as the latest sample per instance, summed over instances. */
    async totals(from: number, to: number): Promise<{ name: string; label: string; value: number }[]> {
      const rows = await store.query<{ name: string; label: string; value: number }>(
        `SELECT name, label, sum(value) AS value FROM ${table}
         WHERE name NOT IN {gauges:Array(String)} AND ts >= {from:DateTime} AND ts < {to:DateTime}
         GROUP BY name, label
         UNION ALL
         SELECT name, label, sum(v) AS value FROM (
           SELECT name, label, instance, argMax(value, ts) AS v FROM ${table}
           WHERE name IN {gauges:Array(String)} AND ts >= {from:DateTime} AND ts < {to:DateTime}
           GROUP BY name, label, instance
         ) GROUP BY name, label`,
        { gauges: [...GAUGES], from: chSecond(from), to: chSecond(to, true) },
        { tag: 'api.ingest_stats.totals' },
      );
      return rows.map((r) => ({ name: r.name, label: r.label, value: Number(r.value) }));
    },
  };
}
export type IngestStatsRepo = ReturnType<typeof createIngestStatsRepo>;

/** Rows are stamped to the second: a range ending inside a second includes that second's flush. */
const chSecond = (ms: number, up = false) => chTime((up ? Math.ceil(ms / 1000) : Math.floor(ms / 1000)) * 1000).slice(0, 19);
