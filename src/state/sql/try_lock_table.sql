-- Takes target table $2.$3's session lock (metadata schema $1) for a drift repair, without
-- waiting: true when this session holds it now. Copy batches take the same key for their
-- transaction (try_lock_table_batch.sql), so a repair and a batch never write the table at
-- once. Key convention: see include/syncset/state/locks.hpp.
SELECT pg_try_advisory_lock(1398361667,
           hashtext('table ' || quote_ident($1) || ' ' || quote_ident($2) || '.' || quote_ident($3)))::text;
