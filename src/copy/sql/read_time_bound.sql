-- The bound a time cursor may advance to: nothing can still commit a row stamped before it.
-- That is the start of the oldest open client transaction (the sessions of
-- read_open_transactions.sql), or now minus the look-back window $1 (an interval) when this
-- role cannot see other sessions. $2 is how the cursor column holds time:
--   'zoned' timestamptz: the bound as is;
--   'date'  the bound's day, in the server's default TimeZone;
--   'local' timestamp without time zone, taken to hold local times of the writers' TimeZone
--           (the server default; this session's is pinned to UTC), less a second of margin
--           for rounding to the column's precision.
-- Also returns whether other sessions are visible.
WITH p AS (
    SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS seen
), b AS (
    SELECT LEAST(clock_timestamp() - CASE WHEN p.seen THEN interval '0' ELSE $1::interval END,
                 (SELECT min(xact_start)
                  FROM pg_stat_activity
                  WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL
                    AND backend_type NOT LIKE 'autovacuum%'
                    AND coalesce(application_name, '') NOT LIKE 'syncset/%')) AS at
    FROM p
), l AS (
    SELECT b.at AT TIME ZONE (SELECT reset_val FROM pg_settings WHERE name = 'TimeZone') AS local
    FROM b
)
SELECT CASE $2::text
           WHEN 'zoned' THEN b.at::text
           WHEN 'date' THEN (l.local::date)::text
           ELSE (l.local - interval '1 second')::text
       END,
       p.seen::text
FROM p, b, l;
