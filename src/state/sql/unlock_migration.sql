-- Releases lock_migration.sql's lock.
SELECT pg_advisory_unlock(1398361667, hashtext('migrate ' || quote_ident($1)));
