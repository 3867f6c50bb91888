DELETE FROM :"schema".columns WHERE target_schema = $1 AND target_table = $2;
