import type { ClickHouse } from './port.ts';
import { chTime } from './time.ts';

/**
 * One row of a health-figures table (`ingest_stats` from collectors, `detector_stats` from detectors): one counter's
 * increment, or one gauge's sample (for tick_duration_ms, the maximum), of one process over one flush interval.
 */
export interface StatRow {
  ts: number;
  instance: string;
  name: string;
  label: string;
  value: number;
}

/** Inserts stat rows into `table` (the tables' `ts` is a DateTime: whole seconds). */
export async function insertStatRows(ch: ClickHouse, table: 'ingest_stats' | 'detector_stats', rows: readonly StatRow[], tag: string): Promise<void> {
  if (rows.length === 0) return;
  await ch.insert(
    table,
    rows.map((r) => ({ ts: chTime(Math.floor(r.ts / 1000) * 1000).slice(0, 19), instance: r.instance, name: r.name, label: r.label, value: r.value })),
    { tag },
  );
}
