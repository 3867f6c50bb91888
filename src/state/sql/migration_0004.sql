-- Metadata schema version 4: progress of the snapshot, backfill or resync under way, for the
-- log, `syncset status` and systemd's STATUS=: rows copied by it so far, the estimate of its
-- total (set with its first chunk) and when it started.
ALTER TABLE :"schema".tables
    ADD COLUMN snapshot_rows_done bigint NOT NULL DEFAULT 0,
    ADD COLUMN snapshot_rows_estimated bigint,
    ADD COLUMN snapshot_started_at timestamptz;
