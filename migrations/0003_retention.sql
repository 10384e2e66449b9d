-- Retention (RETENTION_DAYS): result details and raw callback bodies are
-- purged by the background worker; the summary and the history stay.

ALTER TABLE submission_results
    ALTER COLUMN key_id DROP NOT NULL,
    ALTER COLUMN nonce DROP NOT NULL,
    ALTER COLUMN ciphertext DROP NOT NULL,
    ADD COLUMN purged_at timestamptz,
    ADD CONSTRAINT submission_results_sealed_until_purged
        CHECK (purged_at IS NOT NULL OR (key_id IS NOT NULL AND nonce IS NOT NULL AND ciphertext IS NOT NULL));

CREATE INDEX submission_results_to_purge
    ON submission_results (fetched_at) WHERE purged_at IS NULL;

CREATE INDEX callback_inbox_to_purge
    ON callback_inbox (received_at) WHERE processed_at IS NOT NULL;
