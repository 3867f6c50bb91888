-- Claims target table $2.$3 (metadata schema $1) for this session's copy loop, without waiting:
-- true when this session holds it now. Several daemons may share a replica; a dead daemon's
-- lock goes with its connection. Key convention: see include/syncset/state/locks.hpp.
SELECT pg_try_advisory_lock(1398361667,
           hashtext('table ' || quote_ident($1) || ' ' || quote_ident($2) || '.' || quote_ident($3)))::text;
