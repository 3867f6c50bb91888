-- A batch's checkpoint, in the transaction that wrote its rows, written only by the table's
-- claimant: claimed_by is read under the row's lock, so a process whose claim was taken over
-- (claim_table.sql) writes nothing and its batch is rolled back; the holder's claim is renewed
-- with it. A stopped table is not moved.
-- A `syncset resync` request recorded meanwhile (request_resync.sql) becomes the resync here,
-- after this batch: its rows and cursor stand, but phase, pending and the snapshot's progress
-- become those of a re-copy from the first key through the upsert path, the drift scan is made
-- due, and the request is cleared (as start_requested_resync.sql does; keep the two in step).
-- Returns no row when the table has no state row, else one: whether the checkpoint was written
-- ('true'/'false'), whether the request was turned into the resync, whether $9 holds the claim.
-- $1 target_schema, $2 target_name, $3 phase, $4 pending, $5 snapshot_position,
-- $6 cursor, $7 cursor_kind, $8 rows added by the batch, $9 claimant, $10 lease (interval)
WITH request AS MATERIALIZED (
    -- Read under the row's lock, so the request seen is the one cleared below even when it
    -- was recorded after this statement's snapshot (RETURNING shows only the new row).
    -- A keyless table (mode: mirror) is never re-copied: its copy path appends. Its request
    -- is only cleared; every poll refreshes it whole anyway.
    SELECT resync_requested_at IS NOT NULL AND cardinality(key) > 0 AS due,
           claimed_by IS NOT DISTINCT FROM $9 AS mine
    FROM :"schema".tables
    WHERE target_schema = $1 AND target_name = $2
    FOR UPDATE
), written AS (
    UPDATE :"schema".tables AS t
    SET phase = CASE WHEN r.due THEN 'snapshot' ELSE $3 END,
        pending = CASE WHEN r.due THEN 'resync' ELSE $4 END,
        snapshot_position = CASE WHEN r.due THEN NULL ELSE $5 END,
        cursor = $6, cursor_kind = $7,
        rows_copied = t.rows_copied + $8::bigint,
        -- The old pending: a chunk of a snapshot, backfill or resync (its last chunk included).
        snapshot_rows_done = CASE
            WHEN r.due THEN 0
            WHEN t.pending <> 'none' THEN t.snapshot_rows_done + $8::bigint
            ELSE t.snapshot_rows_done
        END,
        snapshot_started_at = CASE WHEN r.due THEN NULL ELSE t.snapshot_started_at END,
        drift_checked_at = CASE WHEN r.due THEN NULL ELSE t.drift_checked_at END,
        resync_requested_at = NULL,
        last_success = now(), last_error = NULL,
        last_error_at = NULL, updated_at = now(),
        -- The writer names itself; the fence (r.mine) makes that the holder already.
        claimed_by = $9,
        claimed_until = GREATEST(t.claimed_until, clock_timestamp() + $10::interval)
    FROM request AS r
    WHERE t.target_schema = $1 AND t.target_name = $2 AND t.phase <> 'stopped' AND r.mine
    RETURNING r.due
)
SELECT (EXISTS (SELECT FROM written))::text,
       coalesce((SELECT due FROM written), false)::text,
       r.mine::text
FROM request AS r;
