-- Metadata schema version 2: the result of each table's last drift scan, for `syncset status`.
ALTER TABLE :"schema".tables
    ADD COLUMN drift_checked_at timestamptz,
    ADD COLUMN drift_rows bigint,
    ADD COLUMN drift_missing bigint,
    ADD COLUMN drift_extra bigint,
    ADD COLUMN drift_different bigint,
    ADD COLUMN drift_repaired bigint;
