// "tollkeeper — usage and spend": spend and tokens over time by key, tenant, agent and model, top spenders,
// quotas, incidents, the revocation list and unpriced usage.
import { customVariable, dashboard, Format, pickable, queryVariable, steps, whenPicked } from './kit.ts';
import { byKind, byModel, total } from './usage-panels.ts';
import { CURRENT_LIST, EVENT_FILTERS, HOURLY_FILTER, INCIDENTS_IN_RANGE, LONG_RANGE, rollupRows } from './usage-sql.ts';

const SPEND_PANELS = ['Spend by API key', 'Spend by tenant', 'Spend by agent', 'Spend by model'];

export const usageDashboard = dashboard({
  uid: 'tollkeeper-usage',
  title: 'tollkeeper — usage and spend',
  description: 'LLM spend and tokens by key, tenant, agent and model; quotas, incidents and the revocation list.',
  tags: ['tollkeeper'],
  time: 'now-24h',
  variables: [
    queryVariable('tenant', 'Tenant', `SELECT DISTINCT ${pickable('entity')} FROM ${rollupRows("kind = 'tenant'", 'entity')} ORDER BY text LIMIT 1000`),
    queryVariable('api_key', 'API key', `SELECT DISTINCT ${pickable('entity')} FROM ${rollupRows(`kind = 'api_key' AND ${whenPicked('tenant', 'tenant')}`, 'entity')} ORDER BY text LIMIT 1000`),
    queryVariable('agent', 'Agent', `SELECT DISTINCT ${pickable('entity')} FROM ${rollupRows(`kind = 'agent' AND ${whenPicked('tenant', 'tenant')}`, 'entity')} ORDER BY text LIMIT 1000`),
    queryVariable(
      'model',
      'Model',
      `SELECT DISTINCT ${pickable('model')} FROM (
  SELECT model FROM usage_events WHERE $__timeFilter(time) AND model != '' AND ${whenPicked('tenant', 'tenant')} AND NOT (${LONG_RANGE})
  UNION ALL
  SELECT entity AS model FROM usage_hour WHERE kind = 'model' AND ${HOURLY_FILTER} AND ${whenPicked('tenant', 'tenant')}
) ORDER BY text`,
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
