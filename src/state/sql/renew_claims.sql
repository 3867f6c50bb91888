-- A process's heartbeat: its claims on the tables it works (target schemas $3 and names $4,
-- text arrays, pairwise) with less than half of the lease $2 (an interval) left run until now
-- plus $2. Claims of $1 on other tables (gone from its plan, or waiting after a failure) are
-- left to lapse. Rows another transaction has locked (the holder's own checkpoint, which
-- renews the claim itself) are left, so the heartbeat never waits. Returns how many it renewed.
WITH held AS MATERIALIZED (
    SELECT t.target_schema, t.target_name
    FROM :"schema".tables AS t
    JOIN unnest($3::text[], $4::text[]) AS w (target_schema, target_name)
      ON w.target_schema = t.target_schema AND w.target_name = t.target_name
    WHERE t.claimed_by = $1
      -- Only claims past half their lease: a table whose polls come on time renews its claim
      -- itself (claim_table.sql), so the heartbeat writes only for long batches and backlogs.
      AND t.claimed_until < clock_timestamp() + $2::interval / 2
    FOR UPDATE OF t SKIP LOCKED
), renewed AS (
    UPDATE :"schema".tables AS t
    SET claimed_until = GREATEST(t.claimed_until, clock_timestamp() + $2::interval)
    FROM held AS h
    WHERE t.target_schema = h.target_schema AND t.target_name = h.target_name
    RETURNING 1
)
SELECT count(*)::text FROM renewed;
