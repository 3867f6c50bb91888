-- The write counters of table $1 (a qualified, quoted name) in the source's cumulative
-- statistics, for an xmin poll's choice to skip its scan (cursor_policy.hpp): tuples inserted,
-- updated (HOT updates included) and deleted, summed over its leaves (the partitions that hold
-- rows; a plain table is its own only leaf, and pg_partition_tree lists nothing for it); the
-- number of leaves; and when this database's statistics were last reset, as epoch seconds
-- ('' never; resetting one table's counters moves it too).
-- The counters are NULL when they cannot show every write: track_counts is off, a leaf is not
-- a plain table (a foreign table is written elsewhere), or there is no leaf.
SELECT CASE WHEN current_setting('track_counts')::boolean AND bool_and(c.relkind = 'r')
            THEN sum(pg_catalog.pg_stat_get_tuples_inserted(c.oid))::text END,
       sum(pg_catalog.pg_stat_get_tuples_updated(c.oid))::text,
       sum(pg_catalog.pg_stat_get_tuples_deleted(c.oid))::text,
       count(*)::text,
       coalesce(extract(epoch FROM pg_catalog.pg_stat_get_db_stat_reset_time(
                    (SELECT d.oid FROM pg_catalog.pg_database AS d
                     WHERE d.datname = current_database())))::text, '')
FROM pg_catalog.pg_class AS c
WHERE (c.oid = $1::regclass AND c.relkind <> 'p')
   OR c.oid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree($1::regclass) AS t
                WHERE t.isleaf);
