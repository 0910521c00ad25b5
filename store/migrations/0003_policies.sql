-- Policies managed through the admin API: every change is a new version row; the newest row per name wins.
CREATE TABLE IF NOT EXISTS {{db}}.policies
(
    name       String,
    version    UInt64,
    body       String,
    deleted    UInt8,
    changed_at DateTime64(3, 'UTC'),
    actor      String
)
ENGINE = MergeTree
ORDER BY (name, version);

-- Per-entity limits that replace a policy's limits for one entity (a bigger budget for one key), versioned too.
CREATE TABLE IF NOT EXISTS {{db}}.policy_overrides
(
    policy     String,
    entity     String,
    version    UInt64,
    limits     String,
    deleted    UInt8,
    changed_at DateTime64(3, 'UTC'),
    actor      String
)
ENGINE = MergeTree
ORDER BY (policy, entity, version);
