-- Raw usage events: one row per metered span. The event id (trace id + span id) is the dedup key;
-- the writer filters ids already stored, and ReplacingMergeTree folds any duplicate that slips past a race.
CREATE TABLE IF NOT EXISTS {{db}}.usage_events
(
    event_id          String,
    trace_id          String,
    span_id           String,
    parent_span_id    String,
    time              DateTime64(3, 'UTC'),
    start_time        DateTime64(3, 'UTC'),
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    service           LowCardinality(String),
    api_key           String,
    user              String,
    tenant            String,
    agent             String,
    conversation      String,
    attributes        Map(String, String),
    family            LowCardinality(String),
    provider          LowCardinality(String),
    model             LowCardinality(String),
    operation         LowCardinality(String),
    span_name         String,
    input_tokens      UInt64,
    output_tokens     UInt64,
    cache_read_tokens UInt64,
    cache_write_tokens UInt64,
    reasoning_tokens  UInt64,
    requests          UInt32,
    tool_calls        UInt32,
    tool_name         String,
    compute_seconds   Float64,
    cost_usd          Float64,
    span_cost         Nullable(Float64),
    cost_source       LowCardinality(String),
    price_version     LowCardinality(String),
    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 4,
    INDEX idx_tenant tenant TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(time)
ORDER BY (api_key, time, event_id);

-- Per-minute usage of every entity of every kind: the rollup that quotas, detection and dashboards read.
-- Merges are lazy: always read it with sum() ... GROUP BY.
CREATE TABLE IF NOT EXISTS {{db}}.usage_minute
(
    kind               LowCardinality(String),
    entity             String,
    minute             DateTime('UTC'),
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
PARTITION BY toYYYYMM(minute)
ORDER BY (kind, entity, minute, tenant);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.usage_minute_mv TO {{db}}.usage_minute AS
SELECT
    e.1 AS kind,
    e.2 AS entity,
    toStartOfMinute(time) AS minute,
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
ARRAY JOIN [('api_key', api_key), ('user', user), ('tenant', tenant), ('agent', agent), ('conversation', conversation), ('service', service)] AS e
WHERE e.2 != ''
GROUP BY kind, entity, minute, tenant;
