-- Denial-of-wallet incidents: one row per incident id; each update is a new version, the newest wins.
CREATE TABLE IF NOT EXISTS {{db}}.incidents
(
    id              String,
    version         UInt64,
    kind            LowCardinality(String),
    entity          String,
    tenant          String,
    pattern         LowCardinality(String),
    severity        LowCardinality(String),
    score           Float64,
    metric          LowCardinality(String),
    observed        Float64,
    expected        Float64,
    expected_spread Float64,
    started_at      DateTime64(3, 'UTC'),
    detected_at     DateTime64(3, 'UTC'),
    updated_at      DateTime64(3, 'UTC'),
    resolved_at     Nullable(DateTime64(3, 'UTC')),
    window_start    DateTime64(3, 'UTC'),
    window_end      DateTime64(3, 'UTC'),
    explanation     String,
    action          LowCardinality(String),
    shadow          UInt8
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY id;
