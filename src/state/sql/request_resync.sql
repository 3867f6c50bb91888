-- `syncset resync`: the table is re-copied from its first key through the upsert path (the
-- replica table stays, and keeps serving its rows meanwhile), its progress counted anew, and
-- its drift scan made due, so rows the source no longer has are found (and, with
-- drift.repair, removed) once the re-copy has caught up. Not a stopped table.
-- $1 target_schema, $2 target_name
UPDATE :"schema".tables
SET pending = 'resync', phase = 'snapshot', snapshot_position = NULL,
    snapshot_started_at = NULL, snapshot_rows_done = 0, drift_checked_at = NULL,
    updated_at = now()
WHERE target_schema = $1 AND target_name = $2 AND phase <> 'stopped';
