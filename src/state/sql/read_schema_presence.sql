-- Whether the metadata schema $1 and its version table exist. Reads only the catalogs, so
-- it needs no privilege on the schema and creates nothing.
SELECT
    EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = $1) AS schema_exists,
    EXISTS (
        SELECT
        FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = 'version' AND c.relkind IN ('r', 'p')
    ) AS version_table_exists;
