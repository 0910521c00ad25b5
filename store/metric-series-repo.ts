import type { SeriesState } from '../core/usage/metric-delta.ts';
import type { ClickHouse } from './port.ts';
import { chTime } from './time.ts';

/** The last counted point of each cumulative metric series (docs/otlp-metrics.md), keyed by series key. */
export interface MetricSeriesRepo {
  /** States of the given series that are known; the others are absent from the map. */
  load(keys: readonly string[]): Promise<Map<string, SeriesState>>;
  save(states: ReadonlyMap<string, SeriesState>, now: number): Promise<void>;
}

export function createMetricSeriesRepo(store: ClickHouse): MetricSeriesRepo {
  const table = store.table('metric_series');
  return {
    async load(keys) {
      const out = new Map<string, SeriesState>();
      if (keys.length === 0) return out;
      const rows = await store.query<{ series_key: string; start_s: string; time_s: string; last_sum: number; count_s: string }>(
        `SELECT series_key, toString(argMax(start_nano, time_nano)) AS start_s, toString(max(time_nano)) AS time_s,
                argMax(sum, time_nano) AS last_sum, toString(argMax(count, time_nano)) AS count_s
         FROM ${table} WHERE series_key IN {keys:Array(String)} GROUP BY series_key`,
        { keys },
        { tag: 'collector.metric_series.load' },
      );
      for (const r of rows) out.set(r.series_key, { startNano: BigInt(r.start_s), timeNano: BigInt(r.time_s), sum: Number(r.last_sum), count: Number(r.count_s) });
      return out;
    },
    async save(states, now) {
      if (states.size === 0) return;
      const updated = chTime(now).slice(0, 19);
      const rows = [...states].map(([k, s]) => ({ series_key: k, start_nano: s.startNano.toString(), time_nano: s.timeNano.toString(), sum: s.sum, count: s.count, updated }));
      await store.insert('metric_series', rows, { tag: 'collector.metric_series.save' });
    },
  };
}

/** The in-memory twin (tests, and the shape the collector's cache keeps). */
export function createMemoryMetricSeriesRepo(): MetricSeriesRepo & { states: Map<string, SeriesState> } {
  const states = new Map<string, SeriesState>();
  return {
    states,
    async load(keys) {
      const out = new Map<string, SeriesState>();
      for (const k of keys) {
        const s = states.get(k);
        if (s) out.set(k, s);
      }
      return out;
    },
    async save(next) {
      for (const [k, s] of next) {
        const prev = states.get(k);
        if (!prev || s.timeNano >= prev.timeNano) states.set(k, s);
      }
    },
  };
}
