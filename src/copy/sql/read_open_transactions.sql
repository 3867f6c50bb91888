-- Whether this role sees every session (pg_read_all_stats), and the client transactions open
-- now as `pid@xact_start,...`: other sessions that may write rows, not syncset's own readers,
-- not autovacuum. The same sessions as read_time_bound.sql.
SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')::text,
       (SELECT string_agg(pid::text || '@' || xact_start::text, ',')
        FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL
          AND backend_type NOT LIKE 'autovacuum%'
          AND coalesce(application_name, '') NOT LIKE 'syncset/%');
