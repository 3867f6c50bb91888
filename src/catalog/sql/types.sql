-- types.sql: every type the columns of the given tables need, transitively, with the edges
-- between them: a column needs its type; an array needs its element type (typelem); a domain
-- needs its base type; a composite type needs the types of its attributes.
-- Built-in and other non-user types come back too (is_user false) because a user type may be
-- reached through them (an enum through its array type); the reader keeps only user types:
-- enums, domains and standalone composite types outside pg_catalog and information_schema.
-- Run with search_path = pg_catalog so format_type() qualifies user types.
--   $1  oid[]  the tables (from tables.sql)
WITH RECURSIVE edges(from_oid, to_oid) AS (
    SELECT DISTINCT 0::oid, a.atttypid
    FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = ANY ($1::oid[])
      AND a.attnum > 0
      AND NOT a.attisdropped
  UNION
    SELECT e.to_oid, d.oid
    FROM edges AS e
    CROSS JOIN LATERAL (
        SELECT t.typelem
        FROM pg_catalog.pg_type AS t
        WHERE t.oid = e.to_oid AND t.typelem <> 0
      UNION ALL
        SELECT t.typbasetype
        FROM pg_catalog.pg_type AS t
        WHERE t.oid = e.to_oid AND t.typbasetype <> 0
      UNION ALL
        SELECT a.atttypid
        FROM pg_catalog.pg_type AS t
        JOIN pg_catalog.pg_attribute AS a ON a.attrelid = t.typrelid
        WHERE t.oid = e.to_oid
          AND t.typtype = 'c'
          AND a.attnum > 0
          AND NOT a.attisdropped
    ) AS d(oid)
)
SELECT t.oid,
       t.typarray,
       n.nspname,
       t.typname,
       t.typtype,
       n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND r.relkind = 'c')) AS is_user,
       ARRAY(SELECT DISTINCT e.to_oid FROM edges AS e WHERE e.from_oid = t.oid ORDER BY 1)
           AS needs,
       ARRAY(SELECT en.enumlabel
             FROM pg_catalog.pg_enum AS en
             WHERE en.enumtypid = t.oid
             ORDER BY en.enumsortorder) AS labels,
       CASE WHEN t.typtype = 'd'
           THEN pg_catalog.format_type(t.typbasetype, t.typtypmod)
       END AS base_type,
       t.typtype = 'd' AND t.typnotnull AS not_null,
       ARRAY(SELECT pg_catalog.pg_get_constraintdef(co.oid)
             FROM pg_catalog.pg_constraint AS co
             WHERE co.contypid = t.oid AND co.contype = 'c'
             ORDER BY co.conname) AS checks,
       ARRAY(SELECT a.attname::text
             FROM pg_catalog.pg_attribute AS a
             WHERE r.relkind = 'c' AND a.attrelid = t.typrelid
               AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum) AS attribute_names,
       ARRAY(SELECT pg_catalog.format_type(a.atttypid, a.atttypmod)
             FROM pg_catalog.pg_attribute AS a
             WHERE r.relkind = 'c' AND a.attrelid = t.typrelid
               AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum) AS attribute_types
FROM (SELECT DISTINCT e.to_oid FROM edges AS e) AS needed
JOIN pg_catalog.pg_type AS t ON t.oid = needed.to_oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_class AS r ON r.oid = t.typrelid
ORDER BY n.nspname, t.typname
