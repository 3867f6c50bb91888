-- The planner's estimate of a table's rows for snapshot progress: pg_class.reltuples summed
-- over its leaf partitions (the table itself when it is not partitioned: pg_partition_tree
-- lists nothing for a plain table), and whether any of them was never analyzed (reltuples -1
-- on PostgreSQL 14+). $1 the table (regclass).
-- Also the pages of the leaves (an exact count is only worth it for a small table; an empty
-- never-analyzed partition has none and does not make the estimate unknown).
SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint::text,
       coalesce(bool_or(c.reltuples < 0 AND c.relpages > 0), false)::text,
       coalesce(sum(c.relpages), 0)::bigint::text
FROM pg_catalog.pg_class AS c
WHERE (c.oid = $1::regclass AND c.relkind <> 'p')
   OR c.oid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree($1::regclass) AS t
                WHERE t.isleaf);
