-- The alerts outbox: one row per delivery (one webhook POST, one Slack message, one email); every state change
-- is a new version of the row and the newest wins. Rows are written when the decision is made, before any send.
CREATE TABLE IF NOT EXISTS {{db}}.alert_outbox
(
    id              String,
    version         UInt64,
    channel         LowCardinality(String),
    target          String,
    event_type      LowCardinality(String),
    entities        Array(String),
    entity_ids      Array(String),
    cooldown_keys   Array(String),
    payload         String,
    status          LowCardinality(String),
    attempts        UInt32,
    next_attempt_at DateTime64(3, 'UTC'),
    last_error      String,
    created_at      DateTime64(3, 'UTC'),
    updated_at      DateTime64(3, 'UTC'),
    delivered_at    Nullable(DateTime64(3, 'UTC'))
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY id;

-- Webhook subscribers switched off because they answered 410 Gone (kept across restarts until re-enabled).
CREATE TABLE IF NOT EXISTS {{db}}.alert_subscribers
(
    id          String,
    version     UInt64,
    url         String,
    disabled    UInt8,
    reason      String,
    updated_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;
