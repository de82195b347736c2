-- Mercado Livre notifications as received, and the durable job records that process them
-- (and, later, every other background job). Redis Streams only deliver job ids; the truth about
-- a job is here, so a lost stream entry is re-dispatched and a job never runs twice.

CREATE TABLE ml_notifications (
    id              bigserial PRIMARY KEY,
    notification_id text NOT NULL UNIQUE,   -- Mercado Livre's _id (or id)
    topic           text NOT NULL,
    resource        text NOT NULL,          -- with its leading slash where it is a path
    ml_user_id      bigint NOT NULL,
    application_id  bigint,
    attempts        integer,                -- Mercado Livre's delivery attempt
    sent_at         timestamptz,
    received_at     timestamptz,
    arrived_at      timestamptz NOT NULL DEFAULT now(),
    source          text NOT NULL DEFAULT 'webhook' CHECK (source IN ('webhook', 'missed_feeds')),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'done', 'orphan', 'dead')),
    processed_at    timestamptz,
    note            text,
    body            jsonb NOT NULL
);
CREATE INDEX ml_notifications_user ON ml_notifications (ml_user_id, status, arrived_at);
CREATE INDEX ml_notifications_pending ON ml_notifications (arrived_at) WHERE status = 'pending';

CREATE TABLE jobs (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL,
    tenant_id     uuid,                     -- NULL for jobs that span tenants (notifications)
    payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed', 'dead')),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 8 CHECK (max_attempts > 0),
    run_at        timestamptz NOT NULL DEFAULT now(),   -- next attempt
    dispatched_at timestamptz NOT NULL DEFAULT now(),   -- last XADD
    locked_by     text,
    locked_at     timestamptz,
    last_error    text,
    note          text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
-- The sweeper's scans: due work, and running work whose process died.
CREATE INDEX jobs_due ON jobs (run_at) WHERE status IN ('queued', 'failed');
CREATE INDEX jobs_running ON jobs (locked_at) WHERE status = 'running';
CREATE INDEX jobs_kind_status ON jobs (kind, status, updated_at);
CREATE TRIGGER jobs_updated_at BEFORE UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
