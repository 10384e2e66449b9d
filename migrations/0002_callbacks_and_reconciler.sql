-- GTF's callbacks, stored before they are acknowledged, and the reconciler's
-- schedule (partner-api.md §3 and §4).

-- Every callback GTF sent, once per (submissionId, status, result).
CREATE TABLE callback_inbox (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gtf_submission_id text NOT NULL,
    status            text NOT NULL,
    result            text,
    -- The body as received, extra fields included.
    body              jsonb NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    -- Verification with GTF: pending until processed_at is set.
    processed_at      timestamptz,
    outcome           text,
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    locked_until      timestamptz
);

-- A duplicate delivery is acknowledged and changes nothing.
CREATE UNIQUE INDEX callback_inbox_dedupe
    ON callback_inbox (gtf_submission_id, status, coalesce(result, ''));

CREATE INDEX callback_inbox_pending
    ON callback_inbox (next_attempt_at) WHERE processed_at IS NULL;

-- When the reconciler should next look at a submission (NULL: nothing to
-- do), how often it has, and who holds it now.
ALTER TABLE submissions
    ADD COLUMN next_check_at     timestamptz,
    ADD COLUMN check_attempts    integer NOT NULL DEFAULT 0,
    ADD COLUMN check_lease_until timestamptz;

CREATE INDEX submissions_to_check
    ON submissions (next_check_at) WHERE next_check_at IS NOT NULL;

CREATE INDEX submissions_awaiting_upload
    ON submissions (uploads_expire_at) WHERE status = 'AWAITING_UPLOAD';
