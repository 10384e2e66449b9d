-- The database work of POST /v1/kyc/submissions as the service does it
-- now (src/store/submissions.rs `insert`, src/store/mod.rs `pool`): one
-- statement (atomic without BEGIN/COMMIT), no ping when a busy connection
-- leaves the pool; sqlx 0.8 still pings when it returns: two round trips,
-- one commit.
\set n random(1, 2000000000)
WITH s AS (
  INSERT INTO submissions (id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id, status, gtf_status, uploads, uploads_expire_at, created_at, updated_at)
  VALUES (md5(:n::text || clock_timestamp()::text)::uuid, 'whatif-' || :n, 'KTP_SCAN', gen_random_uuid()::text, gen_random_uuid()::text, gen_random_uuid()::text, 'AWAITING_UPLOAD', 'INITIATED', '[{"url": "http://127.0.0.1:19090/storage/3f0c6a52-8d1e-4c55-9a3c-2a7c2b8f0f11/KTP?expires=1795844000&signature=0f3a9c1d2e4b5a6978877665544332211ffeeddccbbaa99887766554433221100", "method": "PUT", "headers": {"Content-Type": "image/jpeg"}, "document": "KTP", "expiresAt": "2026-11-28T10:10:00Z"}]', now() + interval '10 minutes', now(), now())
  RETURNING id)
INSERT INTO submission_history (submission_id, from_status, to_status, cause, gtf_status, result, reason_code)
  SELECT id, NULL, 'AWAITING_UPLOAD', 'created', 'INITIATED', NULL, NULL FROM s;
SELECT 1;
