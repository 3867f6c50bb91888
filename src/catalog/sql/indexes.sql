-- indexes.sql: the valid indexes of the given tables, per table in name order.
-- `columns` holds the key columns in key order (INCLUDE columns left out); an expression key
-- comes as its pg_get_indexdef() text, and the index is flagged expression_or_partial, as is an
-- index with a WHERE predicate. The primary key is the index flagged primary.
--   $1  oid[]  the tables (from tables.sql)
SELECT i.indrelid,
       ic.relname,
       i.indisunique,
       i.indisprimary,
       coalesce(am.amname, '') AS method,
       i.indexprs IS NOT NULL OR i.indpred IS NOT NULL AS expression_or_partial,
       ARRAY(SELECT CASE
                        WHEN k.attnum = 0
                            THEN pg_catalog.pg_get_indexdef(i.indexrelid, k.position::int, false)
                        ELSE a.attname::text
                    END
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
             LEFT JOIN pg_catalog.pg_attribute AS a
                    ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.position <= i.indnkeyatts
             ORDER BY k.position) AS columns
FROM pg_catalog.pg_index AS i
JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_am AS am ON am.oid = ic.relam
WHERE i.indrelid = ANY ($1::oid[])
  AND i.indisvalid
  AND i.indislive
ORDER BY i.indrelid, ic.relname
