-- The last cumulative point counted per OTLP metric series (resource + scope + metric + attributes + start time), so a
-- cumulative histogram keeps turning into deltas across our restarts. One row per counted point; the newest per
-- series wins (ReplacingMergeTree on time_nano; read with argMax, merges are lazy). Old series age out.
CREATE TABLE IF NOT EXISTS {{db}}.metric_series
(
    series_key  String,
    start_nano  UInt64,
    time_nano   UInt64,
    sum         Float64,
    count       UInt64,
    updated     DateTime('UTC')
)
ENGINE = ReplacingMergeTree(time_nano)
ORDER BY series_key
TTL updated + INTERVAL 30 DAY;
