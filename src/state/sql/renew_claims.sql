-- A process's heartbeat: every claim held by $1 runs at least until now plus $2 (an interval).
-- Rows another transaction has locked (the holder's own checkpoint, which renews the claim
-- itself) are left, so the heartbeat never waits. Returns the number of claims renewed.
WITH held AS MATERIALIZED (
    SELECT target_schema, target_name
    FROM :"schema".tables
    WHERE claimed_by = $1
    FOR UPDATE SKIP LOCKED
), renewed AS (
    UPDATE :"schema".tables AS t
    SET claimed_until = GREATEST(t.claimed_until, clock_timestamp() + $2::interval)
    FROM held AS h
    WHERE t.target_schema = h.target_schema AND t.target_name = h.target_name
    RETURNING 1
)
SELECT count(*)::text FROM renewed;
