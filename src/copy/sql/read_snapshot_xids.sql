-- xmin and xmax of the source's current snapshot, as 64-bit (epoch-aware) xids.
SELECT pg_snapshot_xmin(s)::text, pg_snapshot_xmax(s)::text FROM pg_current_snapshot() s;
