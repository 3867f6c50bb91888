-- The schema state of one table. Copy progress keeps its values, except that a new snapshot or
-- resync starts from the first key again.
INSERT INTO :"schema".tables AS t (
    target_schema, target_name, source_schema, source_name, source_oid, key, indexes, phase,
    pending, stop_reason, fingerprint)
VALUES ($1, $2, $3, $4, $5::oid, $6::text[], $7::text[], $8, $9, NULLIF($10, ''),
        NULLIF($11, ''))
ON CONFLICT (target_schema, target_name) DO UPDATE SET
    source_schema = EXCLUDED.source_schema,
    source_name = EXCLUDED.source_name,
    source_oid = EXCLUDED.source_oid,
    key = EXCLUDED.key,
    indexes = EXCLUDED.indexes,
    phase = EXCLUDED.phase,
    pending = EXCLUDED.pending,
    stop_reason = EXCLUDED.stop_reason,
    fingerprint = EXCLUDED.fingerprint,
    snapshot_position = CASE
        WHEN EXCLUDED.pending IN ('snapshot', 'resync') THEN NULL
        ELSE t.snapshot_position
    END,
    -- Progress counts again from its first chunk (which sets the estimate and start time).
    snapshot_started_at = CASE
        WHEN EXCLUDED.pending IN ('snapshot', 'resync')
          OR (EXCLUDED.pending <> 'none' AND EXCLUDED.pending <> t.pending) THEN NULL
        ELSE t.snapshot_started_at
    END,
    updated_at = now();
