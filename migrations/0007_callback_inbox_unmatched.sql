-- Callbacks naming a submissionId no submission has are kept for days, not
-- for RETENTION_DAYS: the verifier marks them, and housekeeping purges the
-- marked ones by age.
ALTER TABLE callback_inbox ADD COLUMN unmatched boolean NOT NULL DEFAULT false;

CREATE INDEX callback_inbox_unmatched ON callback_inbox (received_at) WHERE unmatched;
