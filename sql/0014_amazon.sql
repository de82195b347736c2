-- Amazon's own tables: its notifications and its website authorizations.

-- Amazon's notifications (POST /webhooks/amazon: the SQS message body of ORDER_CHANGE and
-- FBA_INVENTORY_AVAILABILITY_CHANGES) until the job of their group has applied them. Keyed by
-- Amazon's NotificationId: a message SQS delivers twice is stored once. seller_id is the
-- selling partner (accounts.external_id of channel 'amazon'); resource the order id or SKU.
CREATE TABLE amazon_notifications (
    id              bigserial PRIMARY KEY,
    notification_id text NOT NULL UNIQUE CHECK (char_length(notification_id) BETWEEN 1 AND 100),
    type            text NOT NULL,
    seller_id       text NOT NULL,
    resource        text NOT NULL,
    body            jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processed', 'ignored', 'failed')),
    job_id          bigint,
    error           text,
    arrived_at      timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz
);
CREATE INDEX amazon_notifications_job ON amazon_notifications (job_id) WHERE status = 'pending';
CREATE INDEX amazon_notifications_seller ON amazon_notifications (seller_id, arrived_at);

-- One row per started website authorization (GET /api/amazon/oauth/start): single-use, 10
-- minutes, bound to the tenant and user, with the marketplaces and region the seller chose.
-- state is stored as its hex SHA-256.
CREATE TABLE amazon_oauth_states (
    state_hash      text PRIMARY KEY CHECK (char_length(state_hash) = 64),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    region          text NOT NULL,
    marketplace_ids jsonb NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX amazon_oauth_states_expires_idx ON amazon_oauth_states (expires_at);
