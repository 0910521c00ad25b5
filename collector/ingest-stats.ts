import type { Logger } from 'pino';
import type { StatRow } from '../store/ingest-stats-repo.ts';
import type { WriterStats } from './write-outcome.ts';
import type { IngestCounters } from './ingest.ts';

export interface StatsFlusherOptions {
  counters: IngestCounters;
  writerStats: () => WriterStats;
  insert: (rows: readonly StatRow[]) => Promise<void>;
  logger: Logger;
  now: () => number;
  /** `hostname:pid`: which collector the rows come from. */
  instance: string;
  intervalMs?: number;
}

type Snapshot = Map<string, number>;

const CLOSE_BOUND_MS = 5_000;

/** Counter names and labels as stored: `name` + NUL + `label`. */
const key = (name: string, label = '') => `${name}\u0000${label}`;

/** Every counter of the collector, flattened to name/label pairs (the names the stats table and the dashboards use). */
function snapshot(c: IngestCounters): Snapshot {
  const s: Snapshot = new Map([
    [key('spans_received'), c.spansReceived],
    [key('spans_ignored'), c.spansIgnored],
    [key('events_accepted'), c.eventsAccepted],
    [key('spans_superseded'), c.spansSuperseded],
    [key('call_collisions'), c.callCollisions],
    [key('call_discrepancies'), c.callDiscrepancies],
    [key('call_late_evidence'), c.callLateEvidence],
  ]);
  for (const [label, v] of Object.entries(c.rejectedByReason)) s.set(key('spans_rejected', label), v);
  for (const [label, v] of Object.entries(c.unrecognizedUsage)) s.set(key('unrecognized_usage_attribute', label), v);
  for (const [label, v] of Object.entries(c.callsWithoutCounts)) s.set(key('calls_without_counts', label), v);
  for (const [label, v] of Object.entries(c.spansByToken)) s.set(key('token_spans_received', label), v);
  // Token names carry no `/` (letters, digits, _ . -): `token/reason` splits back unambiguously.
  for (const [token, reasons] of Object.entries(c.rejectedByToken)) for (const [reason, v] of Object.entries(reasons)) s.set(key('token_spans_rejected', `${token}/${reason}`), v);
  for (const [label, v] of Object.entries(c.unauthorized)) s.set(key('ingest_unauthorized', label), v);
  for (const [label, v] of Object.entries(c.requestsRefused)) s.set(key('requests_refused', label), v);
  return s;
}

/**
 * Flushes the collector's counters to the store every interval (10 s) and on close, as the increments since the last
 * flush that succeeded, one row per counter name and label, plus gauges sampled at the flush. A failing flush
 * changes nothing for ingest: the increments are kept and go with the next one (their labels are bounded).
 */
export function createStatsFlusher(o: StatsFlusherOptions) {
  let flushed: Snapshot = new Map();
  let running: Promise<void> | undefined;
  let failing = false;

  function rows(now: number, current: Snapshot): StatRow[] {
    const out: StatRow[] = [];
    for (const [k, v] of current) {
      const delta = v - (flushed.get(k) ?? 0);
      if (delta === 0) continue;
      const [name, label] = k.split('\u0000') as [string, string];
      out.push({ ts: now, instance: o.instance, name, label, value: delta });
    }
    const w = o.writerStats();
    const gauges: [string, number][] = [
      ['spool_bytes', w.spoolBytes],
      ['spool_files', w.spoolFiles],
      ['dead_events', w.deadEvents],
      ['writer_queue', w.queued],
      ['writer_lag_ms', Math.round(w.lagMs)],
    ];
    for (const [name, value] of gauges) out.push({ ts: now, instance: o.instance, name, label: '', value });
    return out;
  }

  async function flushOnce(): Promise<void> {
    const current = snapshot(o.counters);
    try {
      await o.insert(rows(o.now(), current));
      flushed = current;
      if (failing) o.logger.info('ingest stats flushed again');
      failing = false;
    } catch (err) {
      if (!failing) o.logger.warn({ err }, 'cannot flush ingest stats; keeping the counts for the next flush');
      failing = true;
    }
  }

  /** One flush at a time: a slow store delays the next, it never piles them up. */
  function flush(): Promise<void> {
    running ??= flushOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => void flush(), o.intervalMs ?? 10_000);
  let closed = false;
  timer.unref();

  return {
    flush,
    /** Stops the timer and flushes what is left (after the writer has settled its last batches); once. */
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      // A store that no longer answers must not hold shutdown: the last counts are then lost (logged), not the events.
      let timeout: NodeJS.Timeout | undefined;
      const bound = new Promise<'timeout'>((resolve) => (timeout = setTimeout(() => resolve('timeout'), CLOSE_BOUND_MS)));
      const done = (async () => {
        if (running) await running;
        await flush();
      })();
      if ((await Promise.race([done, bound])) === 'timeout') o.logger.warn('ingest stats not flushed at shutdown: the store did not answer in time');
      clearTimeout(timeout);
    },
  };
}
export type StatsFlusher = ReturnType<typeof createStatsFlusher>;
