-- A process stopping cleanly gives up every claim of $1, so another process sharing the
-- replica takes its tables at its next poll instead of after the lease.
UPDATE :"schema".tables
SET claimed_by = NULL, claimed_until = NULL
WHERE claimed_by = $1;
