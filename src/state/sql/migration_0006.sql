-- Metadata schema version 6: which syncset process works each table (its claim). Several
-- daemons may share a replica; the one named in claimed_by copies the table until
-- claimed_until, renewing the claim as it goes (claim_table.sql, renew_claims.sql). Every
-- batch's checkpoint (update_progress.sql) is written only by the holder, under the row's lock,
-- so claim, fence and checkpoint commit together. NULL: nobody works it.
ALTER TABLE :"schema".tables
    ADD COLUMN claimed_by text,
    ADD COLUMN claimed_until timestamptz;
