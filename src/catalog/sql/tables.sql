-- tables.sql: every table syncset may copy, in (schema, name) order.
-- Ordinary ('r') and partitioned ('p') tables outside the system schemas (pg_catalog,
-- information_schema, pg_toast*, pg_temp*) and outside syncset's own state schema.
-- Partitions are listed too (is_partition) so the planner can tell them apart from the parent.
-- Keep the filter identical to the one in fingerprint.sql.
--   $1  text  the state schema, skipped
SELECT c.oid,
       n.nspname,
       c.relname,
       c.relkind = 'p' AS partitioned,
       c.relispartition AS is_partition
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND n.nspname <> $1::text
ORDER BY n.nspname, c.relname
