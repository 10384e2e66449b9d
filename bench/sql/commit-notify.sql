-- commit.sql with a NOTIFY in the transaction, as every submission change
-- sent until changes were announced after their commit: PostgreSQL
-- serializes the commits of transactions that notified (one lock for the
-- whole server, held until the commit is durable), so they cannot share a
-- WAL flush.
BEGIN;
INSERT INTO bench_commits (at) VALUES (now());
SELECT pg_notify('bench_commits', '');
COMMIT;
