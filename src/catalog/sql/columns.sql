-- columns.sql: the live columns of the given tables, per table in attnum order.
-- Dropped columns are left out, so attnums may have gaps. Run with search_path = pg_catalog so
-- format_type() qualifies (and quotes) user types and leaves built-in types bare.
--   $1  oid[]  the tables (from tables.sql)
SELECT a.attrelid,
       a.attnum,
       a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       a.atttypid,
       a.attnotnull,
       a.attgenerated = 's' AS generated,
       a.attidentity <> '' AS identity
FROM pg_catalog.pg_attribute AS a
WHERE a.attrelid = ANY ($1::oid[])
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
