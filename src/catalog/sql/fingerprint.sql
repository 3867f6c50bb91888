-- fingerprint.sql: one md5 over every catalog row read_catalog() depends on, so an unchanged
-- catalog costs one query returning 32 hex digits. Changes with any table added, dropped or
-- renamed (or moved to another schema), any column added, dropped, renamed, retyped or changed
-- in NOT NULL / generated / identity, any index change, and any change to a user type (enum
-- labels, domain base, NOT NULL or CHECK, composite attributes, type or schema renames), and
-- any sequence added, dropped, renamed or given other parameters. Data changes (a sequence's
-- nextval included) leave it alone. Each part is aggregated in a fixed order and rendered as a row
-- literal, which quotes names holding delimiters, so different catalogs give different text.
-- Keep the table filter identical to the one in tables.sql. User types are taken from the
-- whole database (not only those the tables need): a change elsewhere only costs a re-read.
-- Uses raw catalog values only (conbin, not pg_get_constraintdef()), so the result does not
-- depend on the session's search_path and the query needs no transaction around it.
--   $1  text  the state schema, skipped
WITH tables AS (
    SELECT c.oid, n.nspname, c.relname, c.relkind, c.relispartition
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%'
      AND n.nspname NOT LIKE 'pg\_temp\_%'
      AND n.nspname <> $1::text
),
sequences AS (
    SELECT c.oid, n.nspname, c.relname
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%'
      AND n.nspname NOT LIKE 'pg\_temp\_%'
      AND n.nspname <> $1::text
),
user_types AS (
    SELECT t.oid, n.nspname, t.typname, t.typtype, t.typbasetype, t.typtypmod, t.typnotnull,
           t.typrelid
    FROM pg_catalog.pg_type AS t
    JOIN pg_catalog.pg_namespace AS n ON n.oid = t.typnamespace
    LEFT JOIN pg_catalog.pg_class AS r ON r.oid = t.typrelid
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND r.relkind = 'c'))
)
SELECT pg_catalog.md5(ROW(
    (SELECT string_agg(ROW(t.oid, t.nspname, t.relname, t.relkind, t.relispartition)::text,
                       ',' ORDER BY t.oid)
     FROM tables AS t),
    (SELECT string_agg(ROW(a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod,
                           a.attnotnull, a.attisdropped, a.attgenerated, a.attidentity)::text,
                       ',' ORDER BY a.attrelid, a.attnum)
     FROM pg_catalog.pg_attribute AS a
     JOIN tables AS t ON t.oid = a.attrelid
     WHERE a.attnum > 0),
    (SELECT string_agg(ROW(i.indexrelid, i.indrelid, ic.relname, ic.relam, i.indkey,
                           i.indnkeyatts, i.indisunique, i.indisprimary, i.indisvalid,
                           i.indislive, i.indexprs IS NOT NULL, i.indpred IS NOT NULL)::text,
                       ',' ORDER BY i.indexrelid)
     FROM pg_catalog.pg_index AS i
     JOIN tables AS t ON t.oid = i.indrelid
     JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid),
    (SELECT string_agg(ROW(co.oid, co.conname, co.contype, co.conrelid, co.conkey)::text,
                       ',' ORDER BY co.oid)
     FROM pg_catalog.pg_constraint AS co
     JOIN tables AS t ON t.oid = co.conrelid
     WHERE co.contype = 'p'),
    (SELECT string_agg(ROW(u.oid, u.nspname, u.typname, u.typtype, u.typbasetype, u.typtypmod,
                           u.typnotnull)::text,
                       ',' ORDER BY u.oid)
     FROM user_types AS u),
    (SELECT string_agg(ROW(en.enumtypid, en.enumsortorder, en.enumlabel)::text,
                       ',' ORDER BY en.enumtypid, en.enumsortorder)
     FROM pg_catalog.pg_enum AS en
     JOIN user_types AS u ON u.oid = en.enumtypid),
    (SELECT string_agg(ROW(co.oid, co.contypid, co.conname, co.convalidated, co.conbin)::text,
                       ',' ORDER BY co.oid)
     FROM pg_catalog.pg_constraint AS co
     JOIN user_types AS u ON u.oid = co.contypid),
    (SELECT string_agg(ROW(a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod,
                           a.attisdropped)::text,
                       ',' ORDER BY a.attrelid, a.attnum)
     FROM pg_catalog.pg_attribute AS a
     JOIN user_types AS u ON u.typrelid = a.attrelid
     WHERE u.typtype = 'c' AND a.attnum > 0),
    (SELECT string_agg(ROW(q.oid, q.nspname, q.relname, s.seqtypid, s.seqstart, s.seqincrement,
                           s.seqmin, s.seqmax, s.seqcache, s.seqcycle)::text,
                       ',' ORDER BY q.oid)
     FROM sequences AS q
     JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = q.oid)
)::text) AS fingerprint
