import type { ClickHouse } from './port.ts';
import { insertStatRows, type StatRow } from './stat-rows.ts';

export type { StatRow } from './stat-rows.ts';

/** Writes the detector's health figures into `detector_stats` (read by the Grafana health dashboard). */
export function createDetectorStatsRepo(ch: ClickHouse) {
  return {
    insert: (rows: readonly StatRow[]): Promise<void> => insertStatRows(ch, 'detector_stats', rows, 'detector_stats.insert'),
  };
}
