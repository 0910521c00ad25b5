-- Admission reservations: the worst case of a call held against hard limits until its usage arrives, it is
-- released, or its time is up. One row per change of a reservation (open, then committed / released / expired);
-- the latest row per id wins. Rows are dropped a day after the reservation's time was up.
CREATE TABLE IF NOT EXISTS {{db}}.reservations
(
    id          String,
    state       LowCardinality(String),
    holds       String,
    created_at  DateTime64(3, 'UTC'),
    expires_at  DateTime64(3, 'UTC'),
    updated_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
TTL toDateTime(expires_at) + INTERVAL 1 DAY;

-- The reservation a usage row commits: the gateway's `tollkeeper.reservation.id` span attribute, kept in the
-- attributes map by the collector. Computed on insert, so the collector's row format (and spooled rows) is unchanged;
-- a detector in its own process finds committed reservations by it.
ALTER TABLE {{db}}.usage_events ADD COLUMN IF NOT EXISTS reservation_id String MATERIALIZED attributes['tollkeeper.reservation.id'];

ALTER TABLE {{db}}.usage_events ADD INDEX IF NOT EXISTS idx_reservation reservation_id TYPE bloom_filter(0.01) GRANULARITY 4;
