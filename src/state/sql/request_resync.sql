-- `syncset resync`: records the request, at once and without the table's lock, so a table a
-- daemon is busy copying (a long snapshot, a big backlog) can be asked for too. The copy loop
-- turns it into the resync after its current batch (update_progress.sql), or when its next
-- poll cycle starts (start_requested_resync.sql). Not a stopped table.
-- $1 target_schema, $2 target_name
UPDATE :"schema".tables
SET resync_requested_at = now(), updated_at = now()
WHERE target_schema = $1 AND target_name = $2 AND phase <> 'stopped';
