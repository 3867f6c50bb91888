-- Copy progress of every table ($1 and $2 NULL), or of target table $1.$2, for the copy engine
-- and `syncset status`.
SELECT target_schema, target_name, source_schema, source_name, phase, pending,
       snapshot_position, cursor, cursor_kind, rows_copied,
       to_char(last_success AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       last_error,
       to_char(last_error_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       stop_reason,
       extract(epoch FROM now() - last_success)::bigint,
       -- Time cursors: how far the stored position trails the clock.
       CASE WHEN cursor_kind = 'time' AND cursor IS NOT NULL
            THEN extract(epoch FROM now() - (cursor::text[])[1]::timestamptz)::bigint END,
       to_char(drift_checked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       drift_rows, drift_missing, drift_extra, drift_different, drift_repaired, drift_ms,
       to_char(drift_in_sync_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       snapshot_rows_done, snapshot_rows_estimated,
       extract(epoch FROM now() - snapshot_started_at),
       -- Read through the row's JSON: a metadata schema not yet migrated to version 5 (a new
       -- binary's `status` during an upgrade, before the daemon ran) has no such column.
       (to_jsonb(t) ->> 'resync_requested_at' IS NOT NULL)::text,
       -- The process holding a live claim on the table (version 6), else NULL.
       CASE WHEN (to_jsonb(t) ->> 'claimed_until')::timestamptz > clock_timestamp()
            THEN to_jsonb(t) ->> 'claimed_by' END
FROM :"schema".tables AS t
WHERE ($1::text IS NULL OR (target_schema = $1 AND target_name = $2))
ORDER BY target_schema COLLATE "C", target_name COLLATE "C";
