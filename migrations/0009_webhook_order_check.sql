-- The sender's ordering check (is an earlier delivery to the same endpoint
-- with the same key unfinished?) gets an index of its own, on a predicate
-- no other index has. On `status = 'pending'`, like webhook_deliveries_due,
-- a planner whose statistics were taken when little was pending found a
-- scan of the whole of that index as cheap as the probe, and read every
-- pending delivery for each one it claimed: 100,000 rows each, when a
-- backlog is sent again.
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_finished_when_done
    CHECK ((status = 'pending') = (finished_at IS NULL));
CREATE INDEX webhook_deliveries_unfinished
    ON webhook_deliveries (endpoint, ordering_key, seq) WHERE finished_at IS NULL;
DROP INDEX webhook_deliveries_in_order;
