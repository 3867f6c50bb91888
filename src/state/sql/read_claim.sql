-- Who holds target table $1.$2's claim ('' for nobody) and whether that claim has lapsed: for a
-- claim refused by claim_table.sql, to tell a live holder from a row some transaction keeps
-- locked. No row when the table has no state row.
SELECT coalesce(claimed_by, ''),
       (claimed_by IS NULL OR claimed_until < clock_timestamp())::text
FROM :"schema".tables
WHERE target_schema = $1 AND target_name = $2;
