-- Collector counters, flushed every 10 s by each collector process as increments for the interval (one row per
-- counter name and label), plus gauges sampled at the flush. Read with sum() ... GROUP BY; the API and the
-- dashboards see every collector, also when the collector and the API run in different processes.
CREATE TABLE IF NOT EXISTS {{db}}.ingest_stats (ts DateTime('UTC'), instance LowCardinality(String), name LowCardinality(String), label String, value Float64) ENGINE = SummingMergeTree ORDER BY (name, label, instance, ts) TTL ts + INTERVAL 35 DAY;
