// "tollkeeper — usage and spend": spend and tokens over time by key, tenant, agent and model, top spenders,
// quotas, incidents, the revocation list and unpriced usage.
import { customVariable, dashboard, Format, queryVariable, steps, whenPicked, type PanelSpec } from './kit.ts';

/** Every filter the raw events support (the by-model and unpriced panels, the totals). */
const EVENT_FILTERS = ['tenant', 'api_key', 'agent', 'model'].map((v) => `AND ${whenPicked(v, v)}`).join('\n  ');

/** The rollup has one row per entity of a kind and minute, with the tenant: it filters by tenant and by its own kind. */
function rollupFilters(kind: string): string {
  return kind === 'tenant' ? `AND ${whenPicked('entity', 'tenant')}` : `AND ${whenPicked('tenant', 'tenant')}\n  AND ${whenPicked('entity', kind)}`;
}

/**
 * Ranges longer than two days read the hourly rollup (usage_hour), shorter ones the per-minute one. Every query
 * that reads a rollup has one UNION ALL branch per table, guarded by this constant condition so that exactly one
 * branch reads data. The hourly branch buckets by at least an hour and takes the range's first hour whole.
 */
export const LONG_RANGE = 'dateDiff(\'hour\', $__fromTime, $__toTime) > 48';
const HOURLY_FILTER = `hour >= toStartOfHour($__fromTime) AND hour <= $__toTime AND ${LONG_RANGE}`;
const MINUTE_FILTER = `$__timeFilter(minute) AND NOT (${LONG_RANGE})`;
const HOURLY_BUCKET = 'toStartOfInterval(hour, INTERVAL greatest($__interval_s, 3600) second)';

/** Rows of the rollup for the range, from the table the range picks: `t` (the bucket) plus the columns given. */
function rollupRows(where: string, columns: string): string {
  return `(
  SELECT $__timeInterval(minute) AS t, ${columns} FROM usage_minute
  WHERE ${where} AND ${MINUTE_FILTER}
  UNION ALL
  SELECT ${HOURLY_BUCKET} AS t, ${columns} FROM usage_hour
  WHERE ${where} AND ${HOURLY_FILTER}
)`;
}

const METRICS = {
  spend: { expr: 'sum(cost_usd)', columns: 'cost_usd', unit: 'currencyUSD', word: 'Spend' },
  tokens: { expr: 'sum(input_tokens + output_tokens)', columns: 'input_tokens, output_tokens', unit: 'short', word: 'Tokens' },
} as const;
type Metric = keyof typeof METRICS;

/** Stacked series for the 10 biggest entities of a kind in the range, the rest summed as "other". Reads the rollup. */
function byKind(metric: Metric, kind: 'api_key' | 'tenant' | 'agent', noun: string): PanelSpec {
  const m = METRICS[metric];
  const where = `kind = '${kind}' ${rollupFilters(kind).replaceAll('\n', ' ')}`;
  return {
    type: 'timeseries',
    title: `${m.word} by ${noun}`,
    description: `${m.word} per time bucket, stacked, for the 10 ${noun}s with the most ${metric} in the range; the rest is summed as "other". Reads the per-minute rollup, the hourly one for ranges over two days.`,
    format: Format.TimeSeries,
    w: 12,
    h: 9,
    unit: m.unit,
    stack: 'areas',
    interval: '1m',
    displayName: `\${__field.labels.${kind}}`,
    query: `
SELECT
  t AS time,
  if(entity IN (
    SELECT entity FROM ${rollupRows(where, `entity, ${m.columns}`).replaceAll('\n', '\n    ')}
    GROUP BY entity ORDER BY ${m.expr} DESC LIMIT 10
  ), entity, 'other') AS ${kind},
  ${m.expr} AS ${metric}
FROM ${rollupRows(where, `entity, ${m.columns}`)}
GROUP BY time, ${kind}
ORDER BY time`,
  };
}

/** Only these filters are "All": the hourly rollup's model rows carry the tenant and the model, nothing else. */
const MODEL_ROWS_SUFFICE = ['api_key', 'agent'].map((v) => `($__conditionalAll(0, $${v}))`).join(' AND ');

/**
 * Per model: over long ranges with at most the tenant and model filtered, the hourly rollup's `model` rows; else the
 * raw events (every filter applies). Calls without a model name have no model row: the raw path shows them as "(none)".
 */
function byModel(metric: Metric): PanelSpec {
  const m = METRICS[metric];
  return {
    type: 'timeseries',
    title: `${m.word} by model`,
    description: `${m.word} per time bucket, stacked by provider model. Reads the hourly rollup's model rows for ranges over two days when only tenant and model are filtered, else the raw events.`,
    format: Format.TimeSeries,
    w: 12,
    h: 9,
    unit: m.unit,
    stack: 'areas',
    interval: '1m',
    displayName: '${__field.labels.model}',
    query: `
SELECT time, model, ${m.expr} AS ${metric}
FROM (
  SELECT $__timeInterval(time) AS time, if(model = '', '(none)', model) AS model, ${m.columns}
  FROM usage_events
  WHERE $__timeFilter(time)
    ${EVENT_FILTERS.replaceAll('\n', '\n  ')}
    AND NOT (${LONG_RANGE} AND ${MODEL_ROWS_SUFFICE})
  UNION ALL
  SELECT ${HOURLY_BUCKET} AS time, entity AS model, ${m.columns}
  FROM usage_hour
  WHERE kind = 'model' AND ${HOURLY_FILTER}
    AND ${whenPicked('tenant', 'tenant')} AND ${whenPicked('entity', 'model')}
    AND ${MODEL_ROWS_SUFFICE}
)
GROUP BY time, model
ORDER BY time`,
  };
}

/** Sums every variable but tenant leaves on "All" ($__conditionalAll writes 1=1 for "All", else the 0 given here). */
const ONLY_TENANT_FILTERED = ['api_key', 'agent', 'model'].map((v) => `($__conditionalAll(0, $${v}))`).join(' AND ');

/**
 * A total over the range. Every event carries a service (unknown_service when the sender set none), so the
 * rollup's `service` rows count each event once: they answer when only the tenant is filtered (per minute, or per
 * hour for long ranges); the raw events answer for the other filters. Exactly one branch reads data: the others'
 * conditions fold to a constant 0.
 */
function total(title: string, expr: string, rollupExpr: string, unit: string, description: string, thresholds?: PanelSpec['thresholds']): PanelSpec {
  return {
    type: 'stat',
    title,
    description,
    format: Format.Table,
    w: 4,
    h: 4,
    unit,
    ...(thresholds ? { thresholds } : {}),
    query: `
SELECT sum(v) AS value
FROM (
  SELECT ${rollupExpr} AS v
  FROM usage_minute
  WHERE kind = 'service' AND ${MINUTE_FILTER}
    AND ${whenPicked('tenant', 'tenant')}
    AND ${ONLY_TENANT_FILTERED}
  UNION ALL
  SELECT ${rollupExpr} AS v
  FROM usage_hour
  WHERE kind = 'service' AND ${HOURLY_FILTER}
    AND ${whenPicked('tenant', 'tenant')}
    AND ${ONLY_TENANT_FILTERED}
  UNION ALL
  SELECT ${expr} AS v
  FROM usage_events
  WHERE $__timeFilter(time)
    ${EVENT_FILTERS.replaceAll('\n', '\n  ')}
    AND NOT (${ONLY_TENANT_FILTERED})
)`,
  };
}

/** The current revocation list: the newest change per (kind, id) in the append-only log, entries not removed or expired. */
const CURRENT_LIST = `
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
const INCIDENTS_IN_RANGE = `FROM incidents FINAL
WHERE started_at <= $__toTime AND (resolved_at IS NULL OR resolved_at >= $__fromTime)
  AND ${whenPicked('tenant', 'tenant')}`;

const SPEND_PANELS = ['Spend by API key', 'Spend by tenant', 'Spend by agent', 'Spend by model'];

export const usageDashboard = dashboard({
  uid: 'tollkeeper-usage',
  title: 'tollkeeper — usage and spend',
  description: 'LLM spend and tokens by key, tenant, agent and model; quotas, incidents and the revocation list.',
  tags: ['tollkeeper'],
  time: 'now-24h',
  variables: [
    queryVariable('tenant', 'Tenant', `SELECT DISTINCT entity FROM ${rollupRows("kind = 'tenant'", 'entity')} ORDER BY entity LIMIT 1000`),
    queryVariable('api_key', 'API key', `SELECT DISTINCT entity FROM ${rollupRows(`kind = 'api_key' AND ${whenPicked('tenant', 'tenant')}`, 'entity')} ORDER BY entity LIMIT 1000`),
    queryVariable('agent', 'Agent', `SELECT DISTINCT entity FROM ${rollupRows(`kind = 'agent' AND ${whenPicked('tenant', 'tenant')}`, 'entity')} ORDER BY entity LIMIT 1000`),
    queryVariable(
      'model',
      'Model',
      `SELECT DISTINCT model FROM (
  SELECT model FROM usage_events WHERE $__timeFilter(time) AND model != '' AND ${whenPicked('tenant', 'tenant')} AND NOT (${LONG_RANGE})
  UNION ALL
  SELECT entity AS model FROM usage_hour WHERE kind = 'model' AND ${HOURLY_FILTER} AND ${whenPicked('tenant', 'tenant')}
) ORDER BY model`,
    ),
    customVariable('top_kind', 'Top spenders by', [
      ['api_key', 'API key'],
      ['tenant', 'tenant'],
      ['agent', 'agent'],
      ['user', 'user'],
      ['conversation', 'conversation'],
      ['service', 'service'],
    ]),
  ],
  annotations: [
    {
      name: 'Incidents',
      iconColor: 'red',
      panelTitles: SPEND_PANELS,
      query: `
SELECT started_at AS time, coalesce(resolved_at, now64(3)) AS timeEnd,
  concat(severity, ' ', pattern, ' on ', kind, ' ', entity, ': ', explanation) AS text,
  [severity, pattern, kind] AS tags
${INCIDENTS_IN_RANGE}
ORDER BY time`,
    },
    {
      name: 'Revocations and throttles',
      iconColor: 'orange',
      panelTitles: SPEND_PANELS,
      query: `
SELECT at AS time, concat(JSONExtractString(entry, 'action'), ' ', kind, ' ', id, ' (', source, '): ', reason) AS text, [JSONExtractString(entry, 'action'), source] AS tags
FROM enforcement_log
WHERE op = 'upsert' AND $__timeFilter(at)
ORDER BY time`,
    },
  ],
  rows: [
    {
      title: 'Overview',
      panels: [
        total('Spend', 'sum(cost_usd)', 'sum(cost_usd)', 'currencyUSD', 'Priced spend of every usage event in the range that matches the filters.'),
        total('Tokens', 'sum(input_tokens + output_tokens)', 'sum(input_tokens + output_tokens)', 'short', 'Input plus output tokens (input includes cached, output includes reasoning).'),
        total('LLM requests', 'sum(requests)', 'sum(requests)', 'short', 'Inference calls (chat, completion, embeddings…).'),
        total(
          'Unpriced requests',
          "sumIf(requests, cost_source = 'unpriced')",
          'toUInt64(sum(unpriced_requests))',
          'short',
          'Requests whose model has no known price: their spend is missing from every spend figure.',
          steps(['green', null], ['orange', 1]),
        ),
        {
          type: 'stat',
          title: 'Open incidents',
          description: 'Denial-of-wallet incidents not yet resolved.',
          format: Format.Table,
          w: 4,
          h: 4,
          thresholds: steps(['green', null], ['red', 1]),
          query: `SELECT count() AS value FROM incidents FINAL WHERE resolved_at IS NULL AND ${whenPicked('tenant', 'tenant')}`,
        },
        {
          type: 'stat',
          title: 'Revoked or throttled',
          description: 'Entities on the revocation list now.',
          format: Format.Table,
          w: 4,
          h: 4,
          thresholds: steps(['green', null], ['orange', 1]),
          query: `SELECT count() AS value FROM (${CURRENT_LIST})`,
        },
      ],
    },
    { title: 'Spend over time', panels: [byKind('spend', 'api_key', 'API key'), byKind('spend', 'tenant', 'tenant'), byKind('spend', 'agent', 'agent'), byModel('spend')] },
    { title: 'Tokens over time', panels: [byKind('tokens', 'api_key', 'API key'), byKind('tokens', 'tenant', 'tenant'), byKind('tokens', 'agent', 'agent'), byModel('tokens')] },
    {
      title: 'Top spenders and quotas',
      panels: [
        {
          type: 'table',
          title: 'Top spenders',
          description: 'The 20 entities of the chosen kind with the most spend in the range, with their share of it. Reads the per-minute rollup, the hourly one for ranges over two days.',
          format: Format.Table,
          w: 12,
          h: 10,
          overrides: [
            { matcher: { id: 'byName', options: 'spend' }, properties: [{ id: 'unit', value: 'currencyUSD' }] },
            { matcher: { id: 'byName', options: 'share' }, properties: [{ id: 'unit', value: 'percentunit' }, { id: 'custom.cellOptions', value: { type: 'gauge', mode: 'basic' } }] },
          ],
          query: `
SELECT
  entity,
  arrayStringConcat(arraySort(groupUniqArray(3)(tenant)), ', ') AS tenants,
  sum(cost_usd) AS spend,
  spend / nullIf(sum(spend) OVER (), 0) AS share,
  sum(input_tokens + output_tokens) AS tokens,
  sum(requests) AS requests,
  sum(unpriced_requests) AS unpriced_requests
FROM ${rollupRows(`kind = '\${top_kind}' AND ${whenPicked('tenant', 'tenant')}`, 'entity, tenant, cost_usd, input_tokens, output_tokens, requests, unpriced_requests')}
GROUP BY entity
ORDER BY spend DESC
LIMIT 20`,
        },
        {
          type: 'bargauge',
          title: 'Quota utilization reached',
          description:
            'Highest quota threshold each entity crossed in the range (1 = the limit), by policy and period. Live utilization of every entity is on the quota status API and the built-in UI.',
          format: Format.Table,
          w: 12,
          h: 10,
          unit: 'percentunit',
          min: 0,
          max: 1,
          thresholds: steps(['green', null], ['yellow', 0.5], ['orange', 0.8], ['red', 1]),
          options: { reduceOptions: { calcs: ['lastNotNull'], fields: '/^utilization$/', values: true } },
          query: `
SELECT concat(scope, ' ', entity, ' · ', policy, ' · ', period_key) AS quota, max(threshold) AS utilization, max(fired_at) AS last_crossed
FROM quota_firings
WHERE $__timeFilter(fired_at)
GROUP BY scope, entity, policy, period_key
ORDER BY utilization DESC, last_crossed DESC
LIMIT 20`,
        },
      ],
    },
    {
      title: 'Incidents and enforcement',
      panels: [
        {
          type: 'timeseries',
          title: 'Incidents started',
          description: 'Denial-of-wallet incidents by the time they started, stacked by severity.',
          format: Format.TimeSeries,
          w: 8,
          h: 9,
          stack: 'bars',
          interval: '1m',
          displayName: '${__field.labels.severity}',
          query: `
SELECT $__timeInterval(started_at) AS time, severity, count() AS incidents
FROM incidents FINAL
WHERE $__timeFilter(started_at) AND ${whenPicked('tenant', 'tenant')}
GROUP BY time, severity
ORDER BY time`,
        },
        {
          type: 'table',
          title: 'Incidents',
          description: 'Incidents active at any time in the range, newest first (open ones have no resolved time), with the spend from onset to enforcement in dollars and in usual hours (while an incident only warns: the spend so far, no enforced time).',
          format: Format.Table,
          w: 16,
          h: 9,
          query: `
SELECT started_at, resolved_at, if(resolved_at IS NULL, 'open', 'resolved') AS status, severity, pattern, kind, entity, tenant,
  round(score, 1) AS score, observed, expected, round(spend_usd, 2) AS spend_before_enforcement_usd,
  round(spend_usd / nullIf(usual_hourly_usd, 0), 1) AS usual_hours, enforced_at, action, explanation
${INCIDENTS_IN_RANGE}
ORDER BY started_at DESC
LIMIT 200`,
        },
        {
          type: 'table',
          title: 'Revocation list',
          description: 'What gateways block or throttle now, with the strongest cause of each entry.',
          format: Format.Table,
          w: 24,
          h: 8,
          query: `${CURRENT_LIST}\nORDER BY since DESC\nLIMIT 500`,
        },
      ],
    },
    {
      title: 'Unpriced usage',
      panels: [
        {
          type: 'timeseries',
          title: 'Unpriced requests over time',
          description: 'Requests that could not be priced (unknown model, no span cost), by model: their spend is missing from the spend panels.',
          format: Format.TimeSeries,
          w: 12,
          h: 8,
          stack: 'bars',
          interval: '1m',
          displayName: '${__field.labels.model}',
          query: `
SELECT $__timeInterval(time) AS time, concat(provider, '/', model) AS model, sum(requests) AS unpriced_requests
FROM usage_events
WHERE $__timeFilter(time) AND cost_source = 'unpriced'
  ${EVENT_FILTERS}
GROUP BY time, model
ORDER BY time`,
        },
        {
          type: 'table',
          title: 'Unpriced models',
          description: 'Models seen without a price in the range: add them to the price overrides to have their spend counted.',
          format: Format.Table,
          w: 12,
          h: 8,
          query: `
SELECT provider, model, family, sum(requests) AS requests, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, min(time) AS first_seen, max(time) AS last_seen
FROM usage_events
WHERE $__timeFilter(time) AND cost_source = 'unpriced'
  ${EVENT_FILTERS}
GROUP BY provider, model, family
ORDER BY requests DESC
LIMIT 100`,
        },
      ],
    },
  ],
});
