-- sequences.sql: every sequence syncset may copy, in (schema, name) order, with its
-- parameters and whether the reading role may SELECT it (reading last_value and is_called
-- needs that; USAGE alone is not enough). The same schemas are skipped as in tables.sql; keep
-- the filter identical to the one in fingerprint.sql.
--   $1  text  the state schema, skipped
SELECT c.oid,
       n.nspname,
       c.relname,
       pg_catalog.format_type(s.seqtypid, NULL) AS type,
       s.seqstart,
       s.seqincrement,
       s.seqmin,
       s.seqmax,
       s.seqcache,
       s.seqcycle,
       pg_catalog.has_sequence_privilege(c.oid, 'SELECT') AS readable
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = c.oid
WHERE c.relkind = 'S'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND n.nspname <> $1::text
ORDER BY n.nspname, c.relname
