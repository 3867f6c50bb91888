-- Serialises the schema steps of the daemons sharing a replica whose metadata schema is $1: a
-- session lock, released by unlock_migration.sql or with the session. Key convention: see
-- include/syncset/state/locks.hpp.
SELECT pg_advisory_lock(1398361667, hashtext('migrate ' || quote_ident($1)));
