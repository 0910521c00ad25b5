import type { ClickHouse } from './port.ts';

/** One row of `detector_stats`: the increment (or, for tick_duration_ms, the maximum) over one flush interval. */
export interface StatRow {
  ts: number;
  instance: string;
  name: string;
  label: string;
  value: number;
}

/** DateTime('UTC') text (whole seconds) for epoch milliseconds. */
function chSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Writes the detector's health figures into `detector_stats` (read by the Grafana health dashboard). */
export function createDetectorStatsRepo(ch: ClickHouse) {
  return {
    async insert(rows: readonly StatRow[]): Promise<void> {
      if (rows.length === 0) return;
      await ch.insert(
        'detector_stats',
        rows.map((r) => ({ ts: chSeconds(r.ts), instance: r.instance, name: r.name, label: r.label, value: r.value })),
        { tag: 'detector_stats.insert' },
      );
    },
  };
}
