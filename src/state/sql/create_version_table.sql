-- One row per applied migration of the metadata schema; its version is the largest.
CREATE TABLE :"schema".version (
    version int NOT NULL PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
