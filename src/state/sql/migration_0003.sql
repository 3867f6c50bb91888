-- Metadata schema version 3: how long each table's last drift scan took, and when a scan last
-- proved it in sync (found nothing, or repaired everything it found), for `syncset status`.
ALTER TABLE :"schema".tables
    ADD COLUMN drift_ms bigint,
    ADD COLUMN drift_in_sync_at timestamptz;
