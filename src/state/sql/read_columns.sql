SELECT target_schema, target_table, attnum, source_name, target_name, type, config_name
FROM :"schema".columns
ORDER BY target_schema COLLATE "C", target_table COLLATE "C", attnum;
