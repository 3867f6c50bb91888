-- The planner's estimate of a table's rows for snapshot progress: pg_class.reltuples summed
-- over its leaf partitions (the table itself when it is not partitioned), and whether any of
-- them was never analyzed (reltuples -1 on PostgreSQL 14+). $1 the table (regclass).
SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint::text,
       coalesce(bool_or(c.reltuples < 0), true)::text
FROM pg_catalog.pg_partition_tree($1::regclass) AS t
JOIN pg_catalog.pg_class AS c ON c.oid = t.relid
WHERE t.isleaf;
