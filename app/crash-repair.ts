import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ClickHouse } from '../store/port.ts';
import { rebuildRollup } from '../store/reprice.ts';

/** Margin for the events table's own clock (`ingested_at`) against this process's. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * Embedded ClickHouse writes an insert's rows and then its rollups (the materialized views): a process killed
 * between the two leaves the rollups short of events the events table holds, and the writer's resend then finds
 * those events stored and skips them. A marker file in the data directory says a run is in progress; a start that
 * finds one knows the previous run did not stop cleanly, and rebuilds the rollups of every minute that run wrote
 * from the events (idempotent). Returns the function that removes the marker once the store is closed cleanly.
 */
export async function repairRollupsAfterCrash(store: ClickHouse, dataDir: string, now: () => number, logger: Logger): Promise<() => void> {
  const marker = join(dataDir, 'running');
  if (existsSync(marker)) {
    const since = Number(readFileSync(marker, 'utf8').trim());
    if (Number.isFinite(since)) {
      const [r] = await store.query<{ lo: string; hi: string; n: string }>(
        `SELECT toString(toUnixTimestamp64Milli(min(time))) AS lo, toString(toUnixTimestamp64Milli(max(time))) AS hi, toString(count()) AS n
         FROM ${store.table('usage_events')} WHERE ingested_at >= fromUnixTimestamp64Milli(toInt64({since:Int64}), 'UTC')`,
        { since: Math.max(0, since - CLOCK_MARGIN_MS) },
      );
      if (r && Number(r.n) > 0) {
        const range = { from: Number(r.lo), to: Number(r.hi) + 60_000 };
        logger.warn({ events: Number(r.n), from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() }, 'the previous run did not stop cleanly: rebuilding the usage rollups of the minutes it wrote');
        await rebuildRollup(store, range);
      }
    }
  }
  writeFileSync(marker, String(now()));
  return () => rmSync(marker, { force: true });
}
