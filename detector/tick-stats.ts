import type { Logger } from 'pino';
import type { StatRow } from '../store/health-stats-repo.ts';

/** What one tick reports: its duration, how many jobs failed, and what each job returned. */
export interface TickReport {
  at: number;
  tookMs: number;
  failures: number;
  results: readonly unknown[];
}

export interface TickStatsOptions {
  instance: string;
  /** Writes one batch; may reject (the batch is then kept for the next flush, up to `maxPendingRows`). */
  write: (rows: readonly StatRow[]) => Promise<void>;
  logger: Logger;
  /** Rows are flushed when a tick ends at least this long after the last flush (default 10 s). */
  flushMs?: number;
  maxPendingRows?: number;
}

interface JobStats {
  findingLabels?: unknown;
  entitiesScored?: unknown;
}

/** A job result that carries detection figures (the anomaly job's): the labels `<pattern>/<severity>` and a count. */
export function detectionFigures(result: unknown): { labels: string[]; scored: number } | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as JobStats;
  const labels = Array.isArray(r.findingLabels) ? r.findingLabels.filter((l): l is string => typeof l === 'string') : [];
  const scored = typeof r.entitiesScored === 'number' && Number.isFinite(r.entitiesScored) ? r.entitiesScored : undefined;
  if (labels.length === 0 && scored === undefined) return undefined;
  return { labels, scored: scored ?? 0 };
}

/**
 * Accumulates the detector's health figures between flushes and writes them in one batch about every 10 s.
 * Recording never awaits the store: a slow or failing write can neither delay nor fail a tick.
 */
export function createTickStats(o: TickStatsOptions) {
  const flushMs = o.flushMs ?? 10_000;
  const maxPending = o.maxPendingRows ?? 10_000;
  let acc = { ticks: 0, failures: 0, maxMs: 0, scored: 0, findings: new Map<string, number>() };
  let lastFlush: number | undefined;
  let pending: StatRow[] = [];
  let writing: Promise<void> | undefined;
  let dropped = 0;

  function drain(at: number): StatRow[] {
    const base = { ts: at, instance: o.instance };
    const rows: StatRow[] = [
      { ...base, name: 'ticks', label: '', value: acc.ticks },
      { ...base, name: 'tick_failures', label: '', value: acc.failures },
      { ...base, name: 'tick_duration_ms', label: '', value: acc.maxMs },
      { ...base, name: 'entities_scored', label: '', value: acc.scored },
      ...[...acc.findings].map(([label, value]) => ({ ...base, name: 'findings', label, value })),
    ];
    acc = { ticks: 0, failures: 0, maxMs: 0, scored: 0, findings: new Map() };
    return rows;
  }

  function startWrite(): void {
    if (writing || pending.length === 0) return;
    const batch = pending;
    pending = [];
    writing = o
      .write(batch)
      .catch((err: unknown) => {
        // Keep the batch for the next flush; past the cap the oldest rows go, and the count is logged.
        pending = [...batch, ...pending];
        const over = pending.length - maxPending;
        if (over > 0) {
          pending = pending.slice(over);
          dropped += over;
        }
        o.logger.warn({ err, pendingRows: pending.length, droppedRows: dropped }, 'detector stats not written; kept for the next flush');
      })
      .finally(() => {
        writing = undefined;
      });
  }

  return {
    /** Called by the tick loop after every tick. */
    record(t: TickReport): void {
      acc.ticks++;
      acc.failures += t.failures;
      acc.maxMs = Math.max(acc.maxMs, t.tookMs);
      for (const r of t.results) {
        const f = detectionFigures(r);
        if (!f) continue;
        acc.scored += f.scored;
        for (const l of f.labels) acc.findings.set(l, (acc.findings.get(l) ?? 0) + 1);
      }
      lastFlush ??= t.at;
      if (t.at - lastFlush >= flushMs) {
        lastFlush = t.at;
        pending.push(...drain(t.at));
        startWrite();
      }
    },
    /** Writes what was recorded since the last flush and waits for it (shutdown, tests). */
    async flush(at: number): Promise<void> {
      if (writing) await writing;
      if (acc.ticks > 0) pending.push(...drain(at));
      lastFlush = at;
      startWrite();
      if (writing) await writing;
    },
  };
}
export type TickStatsRecorder = ReturnType<typeof createTickStats>;
