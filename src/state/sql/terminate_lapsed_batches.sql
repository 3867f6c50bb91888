-- Ends the transactions still open on target table $2.$3 (metadata schema $1) in other copy
-- worker sessions (application_name $4) that hold its batch lock (try_lock_table_batch.sql).
-- Only for the process that holds the table's claim, or finds it lapsed: any other batch then
-- belongs to a process that lost the claim (stopped, frozen, cut off), can never commit (its
-- checkpoint is fenced), yet keeps the table's lock, its rows' locks and maybe the state row's
-- until its session ends, which for a frozen process may be never. A drift repair's session is
-- named otherwise and is left alone. Returns how many sessions were signalled.
SELECT count(*) FILTER (WHERE pg_terminate_backend(l.pid))::text
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = 1398361667::oid
  AND l.objid = hashtext('table ' || quote_ident($1) || ' ' || quote_ident($2) || '.' || quote_ident($3))::oid
  AND l.objsubid = 2
  AND l.pid <> pg_backend_pid()
  AND a.application_name = $4;
