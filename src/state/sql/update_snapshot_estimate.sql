-- With the first chunk of a snapshot, backfill or resync, in its transaction: the estimated
-- total and the start time its rate and ETA are measured from.
-- $1 target_schema, $2 target_name, $3 estimated rows
UPDATE :"schema".tables
SET snapshot_rows_estimated = $3::bigint, snapshot_started_at = now(), snapshot_rows_done = 0
WHERE target_schema = $1 AND target_name = $2;
