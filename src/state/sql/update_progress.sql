-- A batch's checkpoint, in the transaction that wrote its rows. A stopped table is not moved.
-- $1 target_schema, $2 target_name, $3 phase, $4 pending, $5 snapshot_position,
-- $6 cursor, $7 cursor_kind, $8 rows added by the batch
UPDATE :"schema".tables
SET phase = $3, pending = $4, snapshot_position = $5, cursor = $6, cursor_kind = $7,
    rows_copied = rows_copied + $8::bigint,
    -- The old pending: a chunk of a snapshot, backfill or resync (its last chunk included).
    snapshot_rows_done = snapshot_rows_done + CASE WHEN pending <> 'none' THEN $8::bigint ELSE 0 END,
    last_success = now(), last_error = NULL,
    last_error_at = NULL, updated_at = now()
WHERE target_schema = $1 AND target_name = $2 AND phase <> 'stopped';
