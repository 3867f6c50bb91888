UPDATE :"schema".tables
SET last_error = $3, last_error_at = now(), updated_at = now()
WHERE target_schema = $1 AND target_name = $2;
