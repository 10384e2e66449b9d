-- Which data keys sealed the stored results: read at every start (a key
-- that is no longer configured stops it) and by `gtf-bff reseal`.
CREATE INDEX submission_results_by_key ON submission_results (key_id)
    WHERE key_id IS NOT NULL;
