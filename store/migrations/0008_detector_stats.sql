-- Detector health, written by the tick loop about every 10 s: one row per (name, label) per flush.
-- Counters (ticks, tick_failures, findings, entities_scored) hold the increment for the interval;
-- tick_duration_ms holds the slowest tick of the interval. Summing merges fold counters of the same second,
-- so read counters with sum() and the duration with max().
CREATE TABLE IF NOT EXISTS {{db}}.detector_stats
(
    ts       DateTime('UTC'),
    instance LowCardinality(String),
    name     LowCardinality(String),
    label    String,
    value    Float64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (name, label, instance, ts)
TTL ts + INTERVAL 35 DAY;
