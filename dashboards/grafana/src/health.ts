// "tollkeeper — health": what the collectors ingest, refuse and hold back, and how the detector keeps up.
// Both tables get one row per (name, label) per instance about every 10 s; counters hold the increment of the
// interval, gauges the value sampled at the flush.
import { dashboard, Format, pickable, queryVariable, steps, whenPicked, type PanelSpec } from './kit.ts';

const INSTANCE = whenPicked('instance', 'instance');

/** The frame of a health panel over time: 8 high, in buckets of at least the 10 s the figures are flushed at. */
function series10s(title: string, description: string, w: number, unit: string) {
  return { type: 'timeseries', title, description, format: Format.TimeSeries, w, h: 8, unit, interval: '10s' } as const;
}

/** Counters as a rate per second: the bucket's increments over the bucket's length. */
function rate(title: string, description: string, table: string, names: string[], series: 'name' | 'label', w = 12): PanelSpec {
  return {
    ...series10s(title, description, w, 'reqps'),
    displayName: `\${__field.labels.${series}}`,
    query: `
SELECT $__timeInterval(ts) AS time, ${series === 'name' ? 'name' : "if(label = '', '(none)', label) AS label"}, sum(value) / $__interval_s AS per_second
FROM ${table}
WHERE $__timeFilter(ts) AND name IN (${names.map((n) => `'${n}'`).join(', ')}) AND ${INSTANCE}
GROUP BY time, ${series}
ORDER BY time`,
  };
}

/** Gauges: the largest sample of each instance in the bucket, summed over instances (total spool, queue). */
function gauge(title: string, description: string, names: string[], unit: string, combine: 'sum' | 'max', w = 8): PanelSpec {
  return {
    ...series10s(title, description, w, unit),
    displayName: '${__field.labels.name}',
    query: `
SELECT time, name, ${combine}(v) AS value
FROM (
  SELECT $__timeInterval(ts) AS time, instance, name, max(value) AS v
  FROM ingest_stats
  WHERE $__timeFilter(ts) AND name IN (${names.map((n) => `'${n}'`).join(', ')}) AND ${INSTANCE}
  GROUP BY time, instance, name
)
GROUP BY time, name
ORDER BY time`,
  };
}

export const healthDashboard = dashboard({
  uid: 'tollkeeper-health',
  title: 'tollkeeper — health',
  description: 'Ingest (spans/s, refusals, spool, writer) and detection (tick duration, findings) health.',
  tags: ['tollkeeper'],
  time: 'now-6h',
  variables: [
    queryVariable(
      'instance',
      'Instance',
      `SELECT DISTINCT ${pickable('instance')} FROM (SELECT instance FROM ingest_stats WHERE $__timeFilter(ts) UNION ALL SELECT instance FROM detector_stats WHERE $__timeFilter(ts)) ORDER BY text`,
    ),
  ],
  rows: [
    {
      title: 'Ingest',
      panels: [
        {
          type: 'stat',
          title: 'Spans received',
          description: 'Spans the collectors received in the range, and the share refused.',
          format: Format.Table,
          w: 6,
          h: 4,
          unit: 'short',
          query: `
SELECT sumIf(value, name = 'spans_received') AS received, sumIf(value, name = 'events_accepted') AS accepted
FROM ingest_stats
WHERE $__timeFilter(ts) AND ${INSTANCE}`,
        },
        {
          type: 'stat',
          title: 'Refused share',
          description: 'Spans rejected (bad counts, too old, no identity when required…) as a share of spans received.',
          format: Format.Table,
          w: 6,
          h: 4,
          unit: 'percentunit',
          thresholds: steps(['green', null], ['orange', 0.01], ['red', 0.05]),
          query: `
SELECT sumIf(value, name = 'spans_rejected') / nullIf(sumIf(value, name = 'spans_received'), 0) AS value
FROM ingest_stats
WHERE $__timeFilter(ts) AND ${INSTANCE}`,
        },
        {
          type: 'stat',
          title: 'Spool now',
          description: 'Bytes waiting on disk because ClickHouse was slow or down (latest sample per instance, summed).',
          format: Format.Table,
          w: 6,
          h: 4,
          unit: 'bytes',
          thresholds: steps(['green', null], ['orange', 1]),
          query: `
SELECT sum(v) AS value
FROM (SELECT instance, argMax(value, ts) AS v FROM ingest_stats WHERE $__timeFilter(ts) AND name = 'spool_bytes' AND ${INSTANCE} GROUP BY instance)`,
        },
        {
          type: 'stat',
          title: 'Dead events',
          description: 'Events the store refused for good (kept in the dead-letter file), latest sample summed over instances.',
          format: Format.Table,
          w: 6,
          h: 4,
          thresholds: steps(['green', null], ['red', 1]),
          query: `
SELECT sum(v) AS value
FROM (SELECT instance, argMax(value, ts) AS v FROM ingest_stats WHERE $__timeFilter(ts) AND name = 'dead_events' AND ${INSTANCE} GROUP BY instance)`,
        },
        rate('Spans per second', 'Received, accepted as usage events, ignored (no usage) and rejected, per second.', 'ingest_stats', ['spans_received', 'events_accepted', 'spans_ignored', 'spans_rejected'], 'name'),
        rate('Rejected spans by reason', 'Spans refused through partialSuccess, per second, by reason.', 'ingest_stats', ['spans_rejected'], 'label'),
        gauge('Spool depth', 'Bytes spooled to disk while the store lags (summed over instances).', ['spool_bytes'], 'bytes', 'sum'),
        gauge('Writer queue and spool files', 'Rows waiting in the batch writers, spool files and dead events (summed over instances).', ['writer_queue', 'spool_files', 'dead_events'], 'short', 'sum'),
        gauge('Writer lag', 'Age of the oldest row not yet written (the slowest instance).', ['writer_lag_ms'], 'ms', 'max'),
        {
          type: 'table',
          title: 'Data quality',
          description: 'Counts that deserve a look: superseded spans, call collisions, discrepancies and late evidence, usage attributes not recognized (by attribute), calls without token counts (by instrumentation family).',
          format: Format.Table,
          w: 24,
          h: 7,
          query: `
SELECT name, label, sum(value) AS count
FROM ingest_stats
WHERE $__timeFilter(ts) AND ${INSTANCE}
  AND name IN ('spans_superseded', 'call_collisions', 'call_discrepancies', 'call_late_evidence', 'unrecognized_usage_attribute', 'calls_without_counts')
GROUP BY name, label
ORDER BY count DESC
LIMIT 100`,
        },
      ],
    },
    {
      title: 'Detection',
      panels: [
        {
          type: 'timeseries',
          title: 'Tick duration',
          description: 'Slowest detector tick in each bucket, per instance. Ticks longer than the interval delay detection.',
          format: Format.TimeSeries,
          w: 12,
          h: 8,
          unit: 'ms',
          interval: '10s',
          displayName: '${__field.labels.instance}',
          query: `
SELECT $__timeInterval(ts) AS time, instance, max(value) AS tick_ms
FROM detector_stats
WHERE $__timeFilter(ts) AND name = 'tick_duration_ms' AND ${INSTANCE}
GROUP BY time, instance
ORDER BY time`,
        },
        {
          type: 'timeseries',
          title: 'Ticks and failures per minute',
          description: 'Detector ticks run and jobs failed, per minute. A failing job is retried at the next tick.',
          format: Format.TimeSeries,
          w: 12,
          h: 8,
          interval: '10s',
          displayName: '${__field.labels.name}',
          query: `
SELECT $__timeInterval(ts) AS time, name, sum(value) * 60 / $__interval_s AS per_minute
FROM detector_stats
WHERE $__timeFilter(ts) AND name IN ('ticks', 'tick_failures') AND ${INSTANCE}
GROUP BY time, name
ORDER BY time`,
        },
        {
          type: 'timeseries',
          title: 'Findings by severity',
          description: 'Anomaly findings per bucket, stacked by severity (a finding repeats at every tick while the anomaly lasts).',
          format: Format.TimeSeries,
          w: 8,
          h: 8,
          stack: 'bars',
          interval: '10s',
          displayName: '${__field.labels.severity}',
          query: `
SELECT $__timeInterval(ts) AS time, splitByChar('/', label)[2] AS severity, sum(value) AS findings
FROM detector_stats
WHERE $__timeFilter(ts) AND name = 'findings' AND ${INSTANCE}
GROUP BY time, severity
ORDER BY time`,
        },
        {
          type: 'table',
          title: 'Findings by pattern',
          description: 'Findings in the range by pattern and severity.',
          format: Format.Table,
          w: 8,
          h: 8,
          query: `
SELECT splitByChar('/', label)[1] AS pattern, splitByChar('/', label)[2] AS severity, sum(value) AS findings
FROM detector_stats
WHERE $__timeFilter(ts) AND name = 'findings' AND ${INSTANCE}
GROUP BY pattern, severity
ORDER BY findings DESC`,
        },
        {
          type: 'timeseries',
          title: 'Entities scored per tick',
          description: 'Active entities the anomaly job judged per tick (averaged over the bucket).',
          format: Format.TimeSeries,
          w: 8,
          h: 8,
          interval: '10s',
          displayName: '${__field.labels.instance}',
          query: `
SELECT $__timeInterval(ts) AS time, instance, sumIf(value, name = 'entities_scored') / nullIf(sumIf(value, name = 'ticks'), 0) AS entities
FROM detector_stats
WHERE $__timeFilter(ts) AND name IN ('entities_scored', 'ticks') AND ${INSTANCE}
GROUP BY time, instance
ORDER BY time`,
        },
      ],
    },
    {
      // The ClickHouse side of /metrics' outbox and revocation figures (tollkeeper_outbox_*, tollkeeper_revocation_list_*).
      title: 'Alerts and enforcement',
      panels: [
        {
          type: 'table',
          title: 'Alert deliveries by state',
          description: 'Deliveries created in the range by channel and current state (pending and failed wait for a retry; dead gave up). The outbox backlog is pending + failed.',
          format: Format.Table,
          w: 12,
          h: 8,
          query: `
SELECT channel, status, count() AS deliveries, sum(attempts) AS attempts
FROM alert_outbox FINAL
WHERE $__timeFilter(created_at)
GROUP BY channel, status
ORDER BY channel, status`,
        },
        {
          type: 'timeseries',
          title: 'Revocation list changes',
          description: 'Entries added or changed (upsert) and removed (restore, expiry) per bucket: each moves the list version gateways poll.',
          format: Format.TimeSeries,
          w: 12,
          h: 8,
          stack: 'bars',
          interval: '10s',
          displayName: '${__field.labels.op}',
          query: `
SELECT $__timeInterval(at) AS time, op, count() AS changes
FROM enforcement_log
WHERE $__timeFilter(at)
GROUP BY time, op
ORDER BY time`,
        },
      ],
    },
  ],
});
