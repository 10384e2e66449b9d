-- Events for the partner's own systems (signed webhooks), written in the
-- transaction of the change they report (a transactional outbox), and one
-- delivery per event and configured endpoint.

CREATE TABLE webhook_events (
    -- The `webhook-id` header: the same on every attempt and endpoint.
    id              text PRIMARY KEY,
    type            text NOT NULL,
    submission_id   uuid REFERENCES submissions (id),
    partner_user_id text NOT NULL,
    -- The body exactly as sent: a snapshot taken in the change's transaction.
    body            jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id                   uuid PRIMARY KEY,
    -- Creation order: a submission's events reach an endpoint in this order.
    seq                  bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    event_id             text NOT NULL REFERENCES webhook_events (id),
    endpoint             text NOT NULL,
    -- What orders deliveries: the submission, or the user for user events.
    ordering_key         text NOT NULL,
    status               text NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts             integer NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    lease_until          timestamptz,
    last_attempt_at      timestamptz,
    last_response_status integer,
    -- At most 4 KiB of the receiver's answer, or what went wrong.
    last_response        text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz
);

CREATE INDEX webhook_deliveries_due
    ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- The ordering check: is an earlier delivery of the same key still pending?
CREATE INDEX webhook_deliveries_in_order
    ON webhook_deliveries (endpoint, ordering_key, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_finished
    ON webhook_deliveries (finished_at) WHERE status <> 'pending';
