-- Money on every incident, in columns rather than only in the explanation: the spend from its first anomalous usage
-- until its enforcement (frozen from then on; until then, the spend so far), the entity's usual hourly spend it
-- was compared with, the spend an hour at the current rate would cost, and when it was enforced (first critical
-- tick). Incidents stored before this migration have NULL here.
ALTER TABLE {{db}}.incidents
    ADD COLUMN IF NOT EXISTS spend_usd Nullable(Float64),
    ADD COLUMN IF NOT EXISTS usual_hourly_usd Nullable(Float64),
    ADD COLUMN IF NOT EXISTS projected_hourly_usd Nullable(Float64),
    ADD COLUMN IF NOT EXISTS enforced_at Nullable(DateTime64(3, 'UTC'));
