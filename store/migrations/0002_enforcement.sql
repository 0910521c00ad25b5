-- Append-only log of revocation list changes; replaying it in version order rebuilds the list after a restart.
CREATE TABLE IF NOT EXISTS {{db}}.enforcement_log
(
    version  UInt64,
    at       DateTime64(3, 'UTC'),
    op       LowCardinality(String),
    kind     LowCardinality(String),
    id       String,
    entry    String,
    actor    String,
    source   LowCardinality(String),
    reason   String
)
ENGINE = MergeTree
ORDER BY version;

-- Quota thresholds already fired, so each fires once per entity, policy and period, also across restarts.
CREATE TABLE IF NOT EXISTS {{db}}.quota_firings
(
    policy     String,
    scope      LowCardinality(String),
    entity     String,
    period_key String,
    threshold  Float64,
    fired_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (policy, scope, entity, period_key, threshold);
