-- Whether target table $1.$2 is due for a drift scan: never scanned, or last scanned more than
-- $3 (an interval) ago, and no snapshot, backfill or resync under way (its scan would find the
-- rows not re-copied yet, and its repair would wait for the re-copy's lock). False when the
-- table has no state row.
SELECT coalesce((SELECT pending = 'none'
                        AND (drift_checked_at IS NULL OR drift_checked_at < now() - $3::interval)
                 FROM :"schema".tables
                 WHERE target_schema = $1 AND target_name = $2), false)::text;
