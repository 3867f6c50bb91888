-- Whether target table $1.$2's copy loop committed a batch after $3 (a timestamptz).
SELECT coalesce((SELECT last_success > $3::timestamptz
                 FROM :"schema".tables
                 WHERE target_schema = $1 AND target_name = $2), false)::text;
