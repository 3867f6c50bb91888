-- A copy batch's hold on target table $2.$3 (metadata schema $1) until its transaction ends,
-- without waiting: false while a drift repair holds the table's session lock
-- (try_lock_table.sql, same key). Key convention: see include/syncset/state/locks.hpp.
SELECT pg_try_advisory_xact_lock(1398361667,
           hashtext('table ' || quote_ident($1) || ' ' || quote_ident($2) || '.' || quote_ident($3)))::text;
