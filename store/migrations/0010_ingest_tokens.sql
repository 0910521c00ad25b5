-- Ingest tokens created through the admin API: every change (create, revoke) is a new version row; the newest row
-- per name wins. The secret is never stored: token_hash is its SHA-256 (hex; a generated token holds 192 random
-- bits). scope is JSON ({"tenants":[…],"api_keys":[…],"services":[…]}, lists optional).
CREATE TABLE IF NOT EXISTS {{db}}.ingest_tokens
(
    name       String,
    version    UInt64,
    token_hash String,
    scope      String,
    revoked    UInt8,
    changed_at DateTime64(3, 'UTC'),
    actor      String
)
ENGINE = MergeTree
ORDER BY (name, version);
