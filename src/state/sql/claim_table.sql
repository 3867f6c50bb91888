-- A poll cycle's claim of target table $1.$2 for claimant $3, for the lease $4 (an interval),
-- in a statement of its own. Taken when nobody holds the table, when $3 holds it already (a
-- renewal) or when the holder's claim lapsed (a dead, stopped or cut-off process: a takeover).
-- A claim of $3 with more than half its lease left is only confirmed, not written: an idle
-- table's poll then costs no row version. Never waits: a row locked by another transaction
-- (its holder writing a checkpoint) is left.
-- Returns one row, the previous holder ('' for none), when $3 holds the table now; none when
-- another process does (or the table has no state row).
WITH fresh AS MATERIALIZED (
    SELECT claimed_by AS previous
    FROM :"schema".tables
    WHERE target_schema = $1 AND target_name = $2
      AND claimed_by = $3 AND claimed_until > clock_timestamp() + $4::interval / 2
), free AS MATERIALIZED (
    SELECT target_schema, target_name, coalesce(claimed_by, '') AS previous
    FROM :"schema".tables
    WHERE target_schema = $1 AND target_name = $2
      AND NOT EXISTS (SELECT FROM fresh)
      AND (claimed_by IS NULL OR claimed_by = $3 OR claimed_until < clock_timestamp())
    FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE :"schema".tables AS t
    SET claimed_by = $3, claimed_until = clock_timestamp() + $4::interval
    FROM free AS f
    WHERE t.target_schema = f.target_schema AND t.target_name = f.target_name
    RETURNING f.previous
)
SELECT previous FROM taken
UNION ALL
SELECT previous FROM fresh;
