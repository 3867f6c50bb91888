-- A poll cycle's claim of target table $1.$2 for claimant $3, for the lease $4 (an interval),
-- in a statement of its own. Taken when nobody holds the table, when $3 holds it already (a
-- renewal) or when the holder's claim lapsed (a dead, stopped or cut-off process: a takeover).
-- Never waits: a row locked by another transaction (its holder writing a checkpoint) is left.
-- Returns one row, the previous holder ('' for none), when $3 holds the table now; none when
-- another process does (or the table has no state row).
WITH free AS MATERIALIZED (
    SELECT target_schema, target_name, coalesce(claimed_by, '') AS previous
    FROM :"schema".tables
    WHERE target_schema = $1 AND target_name = $2
      AND (claimed_by IS NULL OR claimed_by = $3 OR claimed_until < clock_timestamp())
    FOR UPDATE SKIP LOCKED
)
UPDATE :"schema".tables AS t
SET claimed_by = $3, claimed_until = clock_timestamp() + $4::interval
FROM free AS f
WHERE t.target_schema = f.target_schema AND t.target_name = f.target_name
RETURNING f.previous;
