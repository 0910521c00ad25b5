-- Per-hour usage: the rollup that long ranges read (30-day dashboards, monthly quota periods). The same columns,
-- kinds and engine as usage_minute, summed per hour, plus a `model` kind (entity = the provider's model name, '' skipped)
-- so the by-model panels need not scan the raw events. Merges are lazy: always read it with sum() ... GROUP BY.
CREATE TABLE IF NOT EXISTS {{db}}.usage_hour
(
    kind               LowCardinality(String),
    entity             String,
    hour               DateTime('UTC'),
    tenant             String,
    events             UInt64,
    requests           UInt64,
    tool_calls         UInt64,
    input_tokens       UInt64,
    output_tokens      UInt64,
    cache_read_tokens  UInt64,
    cache_write_tokens UInt64,
    reasoning_tokens   UInt64,
    compute_seconds    Float64,
    cost_usd           Float64,
    unpriced_requests  Int64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (kind, entity, hour, tenant);

-- Fed by the same inserts into usage_events as usage_minute_mv, block for block: whatever the writer stores (and
-- any duplicate that slips past its dedupe) lands in both rollups alike. The re-rating path rebuilds both.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.usage_hour_mv TO {{db}}.usage_hour AS
SELECT
    e.1 AS kind,
    e.2 AS entity,
    toStartOfHour(time) AS hour,
    tenant,
    count() AS events,
    sum(requests) AS requests,
    sum(tool_calls) AS tool_calls,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_write_tokens) AS cache_write_tokens,
    sum(reasoning_tokens) AS reasoning_tokens,
    sum(compute_seconds) AS compute_seconds,
    sum(cost_usd) AS cost_usd,
    toInt64(sumIf(ue.requests, ue.cost_source = 'unpriced')) AS unpriced_requests
FROM {{db}}.usage_events AS ue
ARRAY JOIN [('api_key', api_key), ('user', user), ('tenant', tenant), ('agent', agent), ('conversation', conversation), ('service', service), ('model', model)] AS e
WHERE e.2 != ''
GROUP BY kind, entity, hour, tenant;

-- Backfill: insert, per (kind, entity, hour, tenant), what the source holds minus what usage_hour already holds.
-- The view above exists first, so rows written meanwhile are in both sides and cancel out; re-running after a
-- crash (the migration reruns every statement) inserts only what is still missing, i.e. nothing once complete.
-- The six entity kinds come from usage_minute (exactly the rows the minute rollup has, re-rated ranges included);
-- the model kind, which usage_minute lacks, from the raw events as the view would have summed them.
INSERT INTO {{db}}.usage_hour
SELECT kind, entity, hour, tenant,
       toUInt64(d_events), toUInt64(d_requests), toUInt64(d_tool_calls), toUInt64(d_input), toUInt64(d_output),
       toUInt64(d_cache_read), toUInt64(d_cache_write), toUInt64(d_reasoning), d_compute, d_cost, d_unpriced
FROM
(
    SELECT kind, entity, hour, tenant,
           sum(events) AS d_events, sum(requests) AS d_requests, sum(tool_calls) AS d_tool_calls, sum(input_tokens) AS d_input,
           sum(output_tokens) AS d_output, sum(cache_read_tokens) AS d_cache_read, sum(cache_write_tokens) AS d_cache_write,
           sum(reasoning_tokens) AS d_reasoning, sum(compute_seconds) AS d_compute, sum(cost_usd) AS d_cost, sum(unpriced_requests) AS d_unpriced
    FROM
    (
        SELECT kind, entity, toStartOfHour(minute) AS hour, tenant,
               toInt64(events) AS events, toInt64(requests) AS requests, toInt64(tool_calls) AS tool_calls, toInt64(input_tokens) AS input_tokens,
               toInt64(output_tokens) AS output_tokens, toInt64(cache_read_tokens) AS cache_read_tokens, toInt64(cache_write_tokens) AS cache_write_tokens,
               toInt64(reasoning_tokens) AS reasoning_tokens, compute_seconds, cost_usd, unpriced_requests
        FROM {{db}}.usage_minute
        UNION ALL
        SELECT 'model', model, toStartOfHour(time), tenant,
               1, toInt64(requests), toInt64(tool_calls), toInt64(input_tokens), toInt64(output_tokens), toInt64(cache_read_tokens),
               toInt64(cache_write_tokens), toInt64(reasoning_tokens), compute_seconds, cost_usd, toInt64(if(cost_source = 'unpriced', requests, 0))
        FROM {{db}}.usage_events
        WHERE model != ''
        UNION ALL
        SELECT kind, entity, hour, tenant,
               -toInt64(events), -toInt64(requests), -toInt64(tool_calls), -toInt64(input_tokens), -toInt64(output_tokens), -toInt64(cache_read_tokens),
               -toInt64(cache_write_tokens), -toInt64(reasoning_tokens), -compute_seconds, -cost_usd, -unpriced_requests
        FROM {{db}}.usage_hour
    )
    GROUP BY kind, entity, hour, tenant
)
-- Only what is missing: counts never go below what is stored (a row written between the two reads of a racing
-- insert is left to the view), and float noise under a millionth of a dollar or second is not a difference.
WHERE d_events >= 0 AND d_requests >= 0 AND d_tool_calls >= 0 AND d_input >= 0 AND d_output >= 0 AND d_cache_read >= 0
  AND d_cache_write >= 0 AND d_reasoning >= 0
  AND (d_events != 0 OR d_requests != 0 OR d_tool_calls != 0 OR d_input != 0 OR d_output != 0 OR d_cache_read != 0
       OR d_cache_write != 0 OR d_reasoning != 0 OR d_unpriced != 0 OR abs(d_cost) > 1e-6 OR abs(d_compute) > 1e-6);
