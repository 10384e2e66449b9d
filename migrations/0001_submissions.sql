-- Submissions, their append-only history, idempotency keys and encrypted
-- results (partner-api.md §2 and §7).

-- One KYC attempt of one end user.
CREATE TABLE submissions (
    id                 uuid PRIMARY KEY,
    owner_id           text NOT NULL CHECK (length(owner_id) BETWEEN 1 AND 128),
    kind               text NOT NULL,
    gtf_submission_id  text NOT NULL UNIQUE,
    partner_session_id text NOT NULL,
    sdk_session_id     text NOT NULL,
    status             text NOT NULL CHECK (status IN
                           ('AWAITING_UPLOAD', 'PROCESSING', 'COMPLETED', 'FAILED', 'EXPIRED')),
    -- GTF's last word, verbatim (it may use values this code does not know).
    gtf_status         text,
    result             text,
    reason_code        text,
    -- [{document, url, method, headers, expiresAt}], as served to the app.
    uploads            jsonb NOT NULL,
    uploads_expire_at  timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    -- When GTF's status API was last asked on a client's behalf.
    refreshed_at       timestamptz
);

-- The list endpoint: a user's submissions, newest first, by keyset.
CREATE INDEX submissions_by_owner ON submissions (owner_id, created_at DESC, id DESC);

-- Every state change and what caused it. Rows are never changed or removed.
CREATE TABLE submission_history (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id uuid NOT NULL REFERENCES submissions (id),
    from_status   text,
    to_status     text NOT NULL,
    cause         text NOT NULL,
    gtf_status    text,
    result        text,
    reason_code   text,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX submission_history_by_submission ON submission_history (submission_id, id);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

CREATE TRIGGER submission_history_is_append_only
    BEFORE UPDATE OR DELETE ON submission_history
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Idempotency-Key: per user, with a fingerprint of the request.
CREATE TABLE idempotency_keys (
    owner_id      text NOT NULL,
    key           text NOT NULL,
    fingerprint   bytea NOT NULL,
    -- Set once the first request with the key has stored its submission.
    submission_id uuid REFERENCES submissions (id),
    -- While the first request runs; after it, another may take the key over
    -- (the first one crashed).
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- GTF's result details: the KTP personal data, sealed with AES-256-GCM.
CREATE TABLE submission_results (
    submission_id uuid PRIMARY KEY REFERENCES submissions (id),
    status        text NOT NULL,
    result        text,
    reason_code   text,
    processed_at  timestamptz,
    -- Which BFF_DATA_KEY sealed it, so the key can be rotated.
    key_id        text NOT NULL,
    nonce         bytea NOT NULL,
    ciphertext    bytea NOT NULL,
    fetched_at    timestamptz NOT NULL DEFAULT now()
);
