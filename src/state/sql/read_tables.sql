SELECT target_schema, target_name, source_schema, source_name, source_oid, key, indexes,
       phase, pending, stop_reason, fingerprint
FROM :"schema".tables
ORDER BY target_schema COLLATE "C", target_name COLLATE "C";
