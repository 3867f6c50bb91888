-- Whether this role may read the xmin system column of table $1 (a qualified, quoted name).
SELECT has_column_privilege($1::regclass, 'xmin', 'SELECT')::text;
