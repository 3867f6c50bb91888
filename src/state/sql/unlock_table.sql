-- Releases try_lock_table.sql's lock.
SELECT pg_advisory_unlock(1398361667,
           hashtext('table ' || quote_ident($1) || ' ' || quote_ident($2) || '.' || quote_ident($3)));
