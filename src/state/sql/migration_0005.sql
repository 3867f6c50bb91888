-- Metadata schema version 5: a `syncset resync` request, recorded without waiting for the
-- table's copy loop. The loop's next checkpoint (update_progress.sql), or the start of its next
-- poll cycle (start_requested_resync.sql), turns it into the resync and clears it.
ALTER TABLE :"schema".tables
    ADD COLUMN resync_requested_at timestamptz;
