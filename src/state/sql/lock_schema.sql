-- Serialises every syncset that creates or migrates the metadata schema named $1 on this
-- database, until the end of the transaction. Key convention: see include/syncset/state/locks.hpp.
SELECT pg_advisory_xact_lock(1398361667, hashtext('schema ' || quote_ident($1)));
