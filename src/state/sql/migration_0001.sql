-- Metadata schema version 1: per replicated table, its source identity, schema state and copy
-- progress; per table, every source column by attnum.

CREATE TABLE :"schema".tables (
    target_schema text NOT NULL,
    target_name text NOT NULL,
    source_schema text NOT NULL,
    source_name text NOT NULL,
    source_oid oid NOT NULL,
    key text[] NOT NULL DEFAULT '{}',      -- replica key columns
    indexes text[] NOT NULL DEFAULT '{}',  -- replica indexes syncset created
    phase text NOT NULL CHECK (phase IN ('snapshot', 'incremental', 'stopped')),
    pending text NOT NULL CHECK (pending IN ('none', 'snapshot', 'backfill', 'resync')),
    stop_reason text,
    fingerprint text,
    -- Copy progress, written by the copy engine in the transaction of each batch.
    snapshot_position text,  -- last key copied, text form
    cursor text,             -- incremental cursor position, text form
    cursor_kind text,
    rows_copied bigint NOT NULL DEFAULT 0,
    last_success timestamptz,
    last_error text,
    last_error_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target_schema, target_name)
);

-- Every live source column of a table, replicated or not: tracking by attnum keeps an excluded
-- column excluded after a rename on the source.
CREATE TABLE :"schema".columns (
    target_schema text NOT NULL,
    target_table text NOT NULL,
    attnum int NOT NULL CHECK (attnum > 0),
    source_name text NOT NULL,
    target_name text,  -- NULL: not replicated
    type text NOT NULL,
    config_name text,  -- the name the config knows it by, kept across source renames
    PRIMARY KEY (target_schema, target_table, attnum),
    FOREIGN KEY (target_schema, target_table)
        REFERENCES :"schema".tables (target_schema, target_name)
        ON DELETE CASCADE ON UPDATE CASCADE
);
