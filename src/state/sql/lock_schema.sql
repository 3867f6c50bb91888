-- Serialises every syncset that creates or migrates the metadata schema named $1 on this
-- database, until the end of the transaction. The two-int form keeps these keys apart from
-- bigint-keyed advisory locks; 1398361667 is 'SYNC' in ASCII.
SELECT pg_advisory_xact_lock(1398361667, hashtext($1));
