-- Idempotency-Key answers of the inbound enforcement API, kept for their window so a request retried after a
-- restart answers the first result instead of acting again. One row per (scope, key); expired rows are dropped.
CREATE TABLE IF NOT EXISTS {{db}}.idempotency_keys
(
    scope       LowCardinality(String),
    key         String,
    fingerprint String,
    response    String,
    created_at  DateTime64(3, 'UTC'),
    expires_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY (scope, key)
TTL toDateTime(expires_at) + INTERVAL 1 DAY;
