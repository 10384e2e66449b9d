-- Stores a callback in one round trip instead of a four-statement
-- transaction (BEGIN, lock, insert, COMMIT): GTF's acknowledgement waits for
-- this, and at 8 connections the round trips, not PostgreSQL, set the rate.
--
-- The submissionId's inbox lock is held until the calling statement's
-- transaction ends, so that concurrent deliveries cannot pass the cap
-- together, nor miss an erasure (erasure takes the same lock before it
-- drops the bodies). The function is VOLATILE, so under READ COMMITTED each
-- statement after the lock takes a fresh snapshot and sees what the lock's
-- previous holder committed.
--
-- Returns 'new', 'duplicate' (the same submissionId, status and result are
-- stored already) or 'over_cap' (the submissionId has p_cap rows).
CREATE FUNCTION callback_inbox_store(
    p_gtf_submission_id text,
    p_status text,
    p_result text,
    p_body jsonb,
    p_cap bigint
) RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('callback_inbox'), hashtext(p_gtf_submission_id));
    INSERT INTO callback_inbox (gtf_submission_id, status, result, body)
    SELECT p_gtf_submission_id, p_status, p_result,
           CASE WHEN EXISTS (SELECT 1 FROM submissions
                             WHERE gtf_submission_id = p_gtf_submission_id
                               AND erased_at IS NOT NULL)
                THEN NULL ELSE p_body END
    WHERE (SELECT count(*) FROM callback_inbox
           WHERE gtf_submission_id = p_gtf_submission_id) < p_cap
    ON CONFLICT (gtf_submission_id, status, coalesce(result, '')) DO NOTHING;
    IF FOUND THEN
        RETURN 'new';
    END IF;
    IF EXISTS (SELECT 1 FROM callback_inbox
               WHERE gtf_submission_id = p_gtf_submission_id AND status = p_status
                 AND coalesce(result, '') = coalesce(p_result, '')) THEN
        RETURN 'duplicate';
    END IF;
    RETURN 'over_cap';
END
$$;
