-- A drift scan's result. $1 target_schema, $2 target_name, $3 rows compared, $4 missing,
-- $5 extra, $6 different, $7 repaired, $8 the scan's duration in milliseconds. A scan that left
-- nothing different (found none, or repaired all it found) proves the table in sync now.
UPDATE :"schema".tables
SET drift_checked_at = now(), drift_rows = $3, drift_missing = $4, drift_extra = $5,
    drift_different = $6, drift_repaired = $7, drift_ms = $8,
    drift_in_sync_at = CASE WHEN $4::bigint + $5::bigint + $6::bigint <= $7::bigint THEN now()
                            ELSE drift_in_sync_at END
WHERE target_schema = $1 AND target_name = $2;
