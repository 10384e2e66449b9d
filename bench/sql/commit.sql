-- One durable write and its commit, for pgbench at the webhook burst's
-- concurrency (bench/webhooks.bash): what a commit costs on this disk when
-- concurrent commits can share a WAL flush. Beside commit-notify.sql.
BEGIN;
INSERT INTO bench_commits (at) VALUES (now());
COMMIT;
