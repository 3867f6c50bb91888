-- Every process holding a live claim on some table: for a daemon starting on the same host as a
-- killed one, which can tell that process is gone and free its tables at once.
SELECT DISTINCT claimed_by
FROM :"schema".tables
WHERE claimed_by IS NOT NULL AND claimed_until > clock_timestamp()
ORDER BY claimed_by;
