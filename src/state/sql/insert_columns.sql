-- All columns of one table at once: $3..$7 are parallel arrays; an empty target name is stored
-- as NULL (not replicated), an empty config name as NULL.
INSERT INTO :"schema".columns (
    target_schema, target_table, attnum, source_name, target_name, type, config_name)
SELECT $1, $2, c.attnum, c.source_name, NULLIF(c.target_name, ''), c.type,
       NULLIF(c.config_name, '')
FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
    AS c (attnum, source_name, target_name, type, config_name);
