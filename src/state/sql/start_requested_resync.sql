-- A poll cycle starts on a table with a `syncset resync` request (made while no daemon ran, or
-- after the last checkpoint of the cycle before): the request becomes the resync. The table is
-- re-copied from its first key through the upsert path (the replica table stays, and keeps
-- serving its rows meanwhile), its progress counted anew, and its drift scan made due, so rows
-- the source no longer has are found (and, with drift.repair, removed) once the re-copy has
-- caught up. Keep in step with the conversion in update_progress.sql.
-- $1 target_schema, $2 target_name
UPDATE :"schema".tables
SET pending = 'resync', phase = 'snapshot', snapshot_position = NULL,
    snapshot_started_at = NULL, snapshot_rows_done = 0, drift_checked_at = NULL,
    resync_requested_at = NULL, updated_at = now()
WHERE target_schema = $1 AND target_name = $2 AND phase <> 'stopped'
  AND resync_requested_at IS NOT NULL
  -- Never for a keyless table (its copy path appends); its next checkpoint clears the request.
  AND cardinality(key) > 0;
