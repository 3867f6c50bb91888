-- read_replica_sequences.sql: the replica side of a sequence poll. `values` is filled in by
-- sequence::build_read_replica: one `SELECT i, oid, last_value, is_called FROM <sequence>`
-- per sequence, joined by UNION ALL. Besides the position, each row says how the sequence can
-- be locked without changing it: its cache, the column it is OWNED BY (quoted, ready for
-- ALTER SEQUENCE ... OWNED BY) and whether an identity column owns it.
SELECT v.i,
       v.last_value,
       v.is_called,
       p.seqcache AS cache,
       (SELECT pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname)
        FROM pg_catalog.pg_depend AS d
        JOIN pg_catalog.pg_class AS c ON c.oid = d.refobjid
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.objid = v.oid
          AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.refobjsubid > 0
          AND d.deptype = 'a'
        LIMIT 1) AS owned_by,
       EXISTS (SELECT
               FROM pg_catalog.pg_depend AS d
               WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                 AND d.objid = v.oid
                 AND d.deptype = 'i') AS identity
FROM (
    /* values */
) AS v
JOIN pg_catalog.pg_sequence AS p ON p.seqrelid = v.oid
ORDER BY v.i
