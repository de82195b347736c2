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
