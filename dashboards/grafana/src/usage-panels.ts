// The usage dashboard's generated panels: spend and tokens by entity kind and by model over time, and totals.
import { Format, whenPicked, type PanelSpec } from './kit.ts';
import { EVENT_FILTERS, HOURLY_BUCKET, HOURLY_FILTER, LONG_RANGE, MINUTE_FILTER, rollupFilters, rollupRows } from './usage-sql.ts';

const METRICS = {
  spend: { expr: 'sum(cost_usd)', columns: 'cost_usd', unit: 'currencyUSD', word: 'Spend' },
  tokens: { expr: 'sum(input_tokens + output_tokens)', columns: 'input_tokens, output_tokens', unit: 'short', word: 'Tokens' },
} as const;
type Metric = keyof typeof METRICS;

/** The frame of a half-width panel of one metric over time, stacked per series (the query names the series). */
function stackedOverTime(m: (typeof METRICS)[Metric], title: string, description: string) {
  return { type: 'timeseries', title, description, format: Format.TimeSeries, w: 12, h: 9, unit: m.unit, stack: 'areas', interval: '1m' } as const;
}

/** Stacked series for the 10 biggest entities of a kind in the range, the rest summed as "other". Reads the rollup. */
export function byKind(metric: Metric, kind: 'api_key' | 'tenant' | 'agent', noun: string): PanelSpec {
  const m = METRICS[metric];
  const where = `kind = '${kind}' ${rollupFilters(kind).replaceAll('\n', ' ')}`;
  return {
    ...stackedOverTime(
      m,
      `${m.word} by ${noun}`,
      `${m.word} per time bucket, stacked, for the 10 ${noun}s with the most ${metric} in the range; the rest is summed as "other". Reads the per-minute rollup, the hourly one for ranges over two days.`,
    ),
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
export function byModel(metric: Metric): PanelSpec {
  const m = METRICS[metric];
  return {
    ...stackedOverTime(
      m,
      `${m.word} by model`,
      `${m.word} per time bucket, stacked by provider model. Reads the hourly rollup's model rows for ranges over two days when only tenant and model are filtered, else the raw events.`,
    ),
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

/** One rollup branch of a total: the `service` rows of `table` when only the tenant is filtered. */
function serviceRows(rollupExpr: string, table: string, rangeFilter: string): string {
  return `  SELECT ${rollupExpr} AS v
  FROM ${table}
  WHERE kind = 'service' AND ${rangeFilter}
    AND ${whenPicked('tenant', 'tenant')}
    AND ${ONLY_TENANT_FILTERED}`;
}

/**
 * A total over the range. Every event carries a service (unknown_service when the sender set none), so the
 * rollup's `service` rows count each event once: they answer when only the tenant is filtered (per minute, or per
 * hour for long ranges); the raw events answer for the other filters. Exactly one branch reads data: the others'
 * conditions fold to a constant 0.
 */
export function total(title: string, expr: string, rollupExpr: string, unit: string, description: string, thresholds?: PanelSpec['thresholds']): PanelSpec {
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
${serviceRows(rollupExpr, 'usage_minute', MINUTE_FILTER)}
  UNION ALL
${serviceRows(rollupExpr, 'usage_hour', HOURLY_FILTER)}
  UNION ALL
  SELECT ${expr} AS v
  FROM usage_events
  WHERE $__timeFilter(time)
    ${EVENT_FILTERS.replaceAll('\n', '\n  ')}
    AND NOT (${ONLY_TENANT_FILTERED})
)`,
  };
}
