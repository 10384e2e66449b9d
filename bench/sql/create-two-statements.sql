-- The database work of POST /v1/kyc/submissions as the service did it
-- before 2026-11-28 (see BENCHMARKS.md), for pgbench against the service's
-- schema: sqlx pinged the connection when it left the pool
-- (test_before_acquire) and pings it when it returns, and the submission
-- and its first history entry were two INSERTs in an explicit transaction:
-- six round trips, one commit. (sqlx's ping is a bare Sync;
-- SELECT 1 stands in for it.)
\set n random(1, 2000000000)
SELECT 1;
BEGIN;
INSERT INTO submissions (id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id, status, gtf_status, uploads, uploads_expire_at, created_at, updated_at)
  VALUES (md5(:n::text || clock_timestamp()::text)::uuid, 'whatif-' || :n, 'KTP_SCAN', gen_random_uuid()::text, gen_random_uuid()::text, gen_random_uuid()::text, 'AWAITING_UPLOAD', 'INITIATED', '[{"url": "http://127.0.0.1:19090/storage/3f0c6a52-8d1e-4c55-9a3c-2a7c2b8f0f11/KTP?expires=1795844000&signature=0f3a9c1d2e4b5a6978877665544332211ffeeddccbbaa99887766554433221100", "method": "PUT", "headers": {"Content-Type": "image/jpeg"}, "document": "KTP", "expiresAt": "2026-11-28T10:10:00Z"}]', now() + interval '10 minutes', now(), now())
  RETURNING id AS sid \gset
INSERT INTO submission_history (submission_id, from_status, to_status, cause, gtf_status, result, reason_code)
  VALUES (:sid, NULL, 'AWAITING_UPLOAD', 'created', 'INITIATED', NULL, NULL);
COMMIT;
SELECT 1;
