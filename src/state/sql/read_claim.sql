-- Who holds target table $1.$2's claim ('' for nobody), whether that claim has lapsed, and the
-- milliseconds it has left: for a claim refused by claim_table.sql, to tell a live holder from
-- a row some transaction keeps locked, and when to try again. No row without a state row.
SELECT coalesce(claimed_by, ''),
       (claimed_by IS NULL OR claimed_until < clock_timestamp())::text,
       greatest(0, ceil(extract(epoch FROM claimed_until - clock_timestamp()) * 1000))::bigint
FROM :"schema".tables
WHERE target_schema = $1 AND target_name = $2;
