-- The operator API: erasing a user's personal data, and the access audit
-- log.

-- Operators look through every user's submissions, newest first.
CREATE INDEX submissions_by_created ON submissions (created_at DESC, id DESC);

-- When its user's personal data was erased. A result that arrives later
-- records its outcome, never its details.
ALTER TABLE submissions ADD COLUMN erased_at timestamptz;

-- An erased result keeps its summary (status, result, reason code, times),
-- not its sealed details.
ALTER TABLE submission_results
    ADD COLUMN erased_at timestamptz,
    DROP CONSTRAINT submission_results_sealed_until_purged,
    ADD CONSTRAINT submission_results_sealed_until_removed
        CHECK (purged_at IS NOT NULL OR erased_at IS NOT NULL
               OR (key_id IS NOT NULL AND nonce IS NOT NULL AND ciphertext IS NOT NULL));

-- An erased callback keeps what it said (status, result) and what came of
-- it, not its body.
ALTER TABLE callback_inbox ALTER COLUMN body DROP NOT NULL;

-- One row per erased user: a repeated request answers it again.
CREATE TABLE user_erasures (
    partner_user_id text PRIMARY KEY,
    erased_at       timestamptz NOT NULL,
    submission_ids  uuid[] NOT NULL
);

-- Who read KTP personal data, and every operator action. Never a KTP field.
CREATE TABLE access_audit (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    -- The token's `sub`.
    actor           text NOT NULL,
    actor_kind      text NOT NULL CHECK (actor_kind IN ('user', 'operator')),
    action          text NOT NULL,
    partner_user_id text,
    submission_id   uuid,
    -- The request's x-request-id, to find its log lines.
    request_id      text NOT NULL,
    -- What the action was applied to, beyond the user and submission.
    detail          jsonb
);

CREATE INDEX access_audit_by_at ON access_audit (at DESC, id DESC);
CREATE INDEX access_audit_by_user ON access_audit (partner_user_id, at DESC, id DESC);
CREATE INDEX access_audit_by_actor ON access_audit (actor, at DESC, id DESC);

-- Append-only: UPDATE is always refused, and DELETE too, except of rows
-- older than the cutoff the retention purge sets for its own transaction
-- (`SET LOCAL gtf_bff.audit_purge_before`).
CREATE FUNCTION access_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND OLD.at < nullif(current_setting('gtf_bff.audit_purge_before', true), '')::timestamptz
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

CREATE TRIGGER access_audit_is_append_only
    BEFORE UPDATE OR DELETE ON access_audit
    FOR EACH ROW EXECUTE FUNCTION access_audit_append_only();

CREATE TRIGGER access_audit_is_never_truncated
    BEFORE TRUNCATE ON access_audit
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
