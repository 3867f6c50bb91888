-- A drift scan's result. $1 target_schema, $2 target_name, $3 rows compared, $4 missing,
-- $5 extra, $6 different, $7 repaired
UPDATE :"schema".tables
SET drift_checked_at = now(), drift_rows = $3, drift_missing = $4, drift_extra = $5,
    drift_different = $6, drift_repaired = $7
WHERE target_schema = $1 AND target_name = $2;
