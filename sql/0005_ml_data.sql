-- Mercado Livre data kept per connected account: items (with variations), orders (with lines and
-- payments), shipments, questions and claims, plus the history and cursors of sync runs.
--
-- Every row carries tenant_id and account_id; deleting an account deletes its data (CASCADE).
-- Each resource row keeps the provider's last_updated and its raw document; the upserts in
-- src/sync/ only write when the incoming last_updated is not older than the stored one, so a
-- replay, a duplicate webhook or a slow backfill page never moves a row back in time.

CREATE TABLE ml_items (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id         uuid NOT NULL REFERENCES ml_accounts (id) ON DELETE CASCADE,
    ml_id              text NOT NULL,
    title              text NOT NULL DEFAULT '',
    status             text NOT NULL DEFAULT '',
    sub_status         text[] NOT NULL DEFAULT '{}',
    price              numeric(14,2),
    currency           text,
    available_quantity integer NOT NULL DEFAULT 0,
    sold_quantity      integer NOT NULL DEFAULT 0,
    sku                text,            -- SELLER_SKU attribute, else seller_custom_field
    category_id        text,
    listing_type       text,
    logistic_type      text,
    permalink          text,
    thumbnail          text,
    variation_count    integer NOT NULL DEFAULT 0,
    date_created       timestamptz,
    last_updated       timestamptz NOT NULL,
    raw                jsonb NOT NULL,
    synced_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_items_key UNIQUE (tenant_id, account_id, ml_id)
);
CREATE INDEX ml_items_updated_idx ON ml_items (tenant_id, last_updated DESC, id DESC);
CREATE INDEX ml_items_price_idx ON ml_items (tenant_id, price DESC, id DESC);
CREATE INDEX ml_items_sold_idx ON ml_items (tenant_id, sold_quantity DESC, id DESC);
CREATE INDEX ml_items_stock_idx ON ml_items (tenant_id, available_quantity DESC, id DESC);
CREATE INDEX ml_items_status_idx ON ml_items (tenant_id, status);
CREATE INDEX ml_items_account_idx ON ml_items (account_id, synced_at);
CREATE INDEX ml_items_sku_idx ON ml_items (tenant_id, sku);

CREATE TABLE ml_item_variations (
    id                 bigserial PRIMARY KEY,
    item_id            uuid NOT NULL REFERENCES ml_items (id) ON DELETE CASCADE,
    tenant_id          uuid NOT NULL,
    account_id         uuid NOT NULL,
    variation_id       bigint NOT NULL,
    sku                text,
    price              numeric(14,2),
    available_quantity integer NOT NULL DEFAULT 0,
    sold_quantity      integer NOT NULL DEFAULT 0,
    attributes         jsonb NOT NULL DEFAULT '[]'::jsonb  -- attribute_combinations
);
CREATE INDEX ml_item_variations_item_idx ON ml_item_variations (item_id);
CREATE INDEX ml_item_variations_sku_idx ON ml_item_variations (tenant_id, sku);

CREATE TABLE ml_orders (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id      uuid NOT NULL REFERENCES ml_accounts (id) ON DELETE CASCADE,
    ml_id           bigint NOT NULL,
    status          text NOT NULL,
    status_detail   text,
    date_created    timestamptz NOT NULL,
    date_closed     timestamptz,
    last_updated    timestamptz NOT NULL,
    total_amount    numeric(14,2) NOT NULL DEFAULT 0,
    paid_amount     numeric(14,2),
    currency        text NOT NULL DEFAULT 'BRL',
    buyer_id        bigint,
    buyer_nickname  text,
    pack_id         bigint,
    shipping_id     bigint,
    tags            text[] NOT NULL DEFAULT '{}',
    raw             jsonb NOT NULL,
    synced_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_orders_key UNIQUE (tenant_id, account_id, ml_id)
);
CREATE INDEX ml_orders_created_idx ON ml_orders (tenant_id, date_created DESC, id DESC);
CREATE INDEX ml_orders_account_idx ON ml_orders (tenant_id, account_id, date_created DESC, id DESC);
CREATE INDEX ml_orders_status_idx ON ml_orders (tenant_id, status, date_created DESC, id DESC);
CREATE INDEX ml_orders_shipping_idx ON ml_orders (account_id, shipping_id);

CREATE TABLE ml_order_items (
    id              bigserial PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES ml_orders (id) ON DELETE CASCADE,
    tenant_id       uuid NOT NULL,
    item_ml_id      text,
    variation_id    bigint,
    title           text,
    sku             text,
    quantity        integer NOT NULL DEFAULT 0,
    unit_price      numeric(14,2),
    sale_fee        numeric(14,2),
    currency        text
);
CREATE INDEX ml_order_items_order_idx ON ml_order_items (order_id);

CREATE TABLE ml_order_payments (
    id                 bigserial PRIMARY KEY,
    order_id           uuid NOT NULL REFERENCES ml_orders (id) ON DELETE CASCADE,
    tenant_id          uuid NOT NULL,
    payment_id         bigint,
    status             text,
    status_detail      text,
    payment_type       text,
    payment_method_id  text,
    installments       integer,
    transaction_amount numeric(14,2),
    total_paid_amount  numeric(14,2),
    shipping_cost      numeric(14,2),
    marketplace_fee    numeric(14,2),
    currency           text,
    date_approved      timestamptz
);
CREATE INDEX ml_order_payments_order_idx ON ml_order_payments (order_id);

-- Orders per UTC day, account and status: what /api/orders/stats and the unfiltered list total
-- read, so neither scans the orders. Kept by statement triggers that apply each statement's
-- net change in key order (one lock order, so concurrent upserts cannot deadlock on it).
CREATE TABLE ml_order_days (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id  uuid NOT NULL REFERENCES ml_accounts (id) ON DELETE CASCADE,
    day         date NOT NULL,
    status      text NOT NULL,
    currency    text NOT NULL,
    orders      bigint NOT NULL DEFAULT 0,
    amount      numeric(16,2) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, account_id, status, currency)
);

CREATE FUNCTION ml_order_days_apply(delta jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ml_order_days AS d (tenant_id, account_id, day, status, currency, orders, amount)
    SELECT (x->>'t')::uuid, (x->>'a')::uuid, (x->>'d')::date, x->>'s', x->>'c',
           (x->>'n')::bigint, (x->>'m')::numeric
    FROM jsonb_array_elements(delta) x
    WHERE EXISTS (SELECT 1 FROM ml_accounts WHERE id = (x->>'a')::uuid)
    ORDER BY 1, 3, 2, 4, 5
    ON CONFLICT (tenant_id, day, account_id, status, currency) DO UPDATE
    SET orders = d.orders + excluded.orders, amount = d.amount + excluded.amount
$$;

CREATE FUNCTION ml_order_days_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_order_days_apply(coalesce((SELECT jsonb_agg(jsonb_build_object(
        't', tenant_id, 'a', account_id, 'd', day, 's', status, 'c', currency, 'n', n, 'm', m))
        FROM (SELECT tenant_id, account_id, (date_created AT TIME ZONE 'UTC')::date AS day,
                     status, currency, count(*) AS n, sum(total_amount) AS m
              FROM new_rows GROUP BY 1, 2, 3, 4, 5) g), '[]'));
    RETURN NULL;
END $$;

CREATE FUNCTION ml_order_days_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_order_days_apply(coalesce((SELECT jsonb_agg(jsonb_build_object(
        't', tenant_id, 'a', account_id, 'd', day, 's', status, 'c', currency, 'n', n, 'm', m))
        FROM (SELECT tenant_id, account_id, day, status, currency, sum(n) AS n, sum(m) AS m
              FROM (SELECT tenant_id, account_id, (date_created AT TIME ZONE 'UTC')::date AS day,
                           status, currency, 1 AS n, total_amount AS m FROM new_rows
                    UNION ALL
                    SELECT tenant_id, account_id, (date_created AT TIME ZONE 'UTC')::date,
                           status, currency, -1, -total_amount FROM old_rows) u
              GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(m) <> 0) g), '[]'));
    RETURN NULL;
END $$;

CREATE FUNCTION ml_order_days_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_order_days_apply(coalesce((SELECT jsonb_agg(jsonb_build_object(
        't', tenant_id, 'a', account_id, 'd', day, 's', status, 'c', currency, 'n', -n, 'm', -m))
        FROM (SELECT tenant_id, account_id, (date_created AT TIME ZONE 'UTC')::date AS day,
                     status, currency, count(*) AS n, sum(total_amount) AS m
              FROM old_rows GROUP BY 1, 2, 3, 4, 5) g), '[]'));
    RETURN NULL;
END $$;

CREATE TRIGGER ml_orders_days_ins AFTER INSERT ON ml_orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ml_order_days_ins();
CREATE TRIGGER ml_orders_days_upd AFTER UPDATE ON ml_orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ml_order_days_upd();
CREATE TRIGGER ml_orders_days_del AFTER DELETE ON ml_orders REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ml_order_days_del();

CREATE TABLE ml_shipments (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id         uuid NOT NULL REFERENCES ml_accounts (id) ON DELETE CASCADE,
    ml_id              bigint NOT NULL,
    status             text NOT NULL,
    substatus          text,
    mode               text,
    logistic_type      text,
    tracking_number    text,
    tracking_method    text,
    declared_value     numeric(14,2),
    shipping_cost      numeric(14,2),
    currency           text,
    estimated_delivery timestamptz,
    sla_status         text,            -- /shipments/{id}/sla: on_time, delayed, early, ...
    sla_expected_date  timestamptz,
    dest_city          text,
    dest_state         text,
    dest_zip           text,
    receiver_name      text,
    date_created       timestamptz,
    last_updated       timestamptz NOT NULL,
    raw                jsonb NOT NULL,
    synced_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_shipments_key UNIQUE (tenant_id, account_id, ml_id)
);
CREATE INDEX ml_shipments_created_idx ON ml_shipments (tenant_id, date_created DESC, id DESC);
CREATE INDEX ml_shipments_status_idx ON ml_shipments (tenant_id, status, date_created DESC);
CREATE INDEX ml_shipments_account_idx ON ml_shipments (tenant_id, account_id, date_created DESC);

CREATE TABLE ml_questions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id      uuid NOT NULL REFERENCES ml_accounts (id) ON DELETE CASCADE,
    ml_id           bigint NOT NULL,
    item_ml_id      text,
    status          text NOT NULL,
    text            text NOT NULL DEFAULT '',
    from_id         bigint,
    date_created    timestamptz NOT NULL,
    answer_text     text,
    answer_status   text,
    answered_at     timestamptz,
    answer_seconds  bigint GENERATED ALWAYS AS
                    (extract(epoch FROM answered_at - date_created)::bigint) STORED,
    last_updated    timestamptz NOT NULL,  -- last_updated, else the answer's or creation date
    raw             jsonb NOT NULL,
    synced_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_questions_key UNIQUE (tenant_id, account_id, ml_id)
);
CREATE INDEX ml_questions_created_idx ON ml_questions (tenant_id, date_created DESC, id DESC);
CREATE INDEX ml_questions_status_idx ON ml_questions (tenant_id, status, date_created DESC);
CREATE INDEX ml_questions_item_idx ON ml_questions (tenant_id, item_ml_id);
CREATE INDEX ml_questions_account_idx ON ml_questions (tenant_id, account_id, date_created DESC);

CREATE TABLE ml_claims (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id      uuid NOT NULL REFERENCES ml_accounts (id) ON DELETE CASCADE,
    ml_id           bigint NOT NULL,
    resource        text,
    resource_id     bigint,
    type            text,
    stage           text,
    status          text NOT NULL,
    reason_id       text,
    date_created    timestamptz,
    last_updated    timestamptz NOT NULL,
    raw             jsonb NOT NULL,
    synced_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_claims_key UNIQUE (tenant_id, account_id, ml_id)
);
CREATE INDEX ml_claims_status_idx ON ml_claims (tenant_id, account_id, status);

-- One row per sync run (a backfill job, or a scheduled incremental sync). progress holds, per
-- resource, {state, done, total, started, finished, error, cursor}: the cursor is what a run
-- restarted after a crash resumes from.
CREATE TABLE sync_runs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id   uuid NOT NULL REFERENCES ml_accounts (id) ON DELETE CASCADE,
    job_id       bigint,
    kind         text NOT NULL CHECK (kind IN ('backfill', 'scheduled')),
    scope        text NOT NULL CHECK (scope IN ('all', 'items', 'orders', 'shipments',
                                                'questions')),
    days         integer NOT NULL CHECK (days BETWEEN 1 AND 365),
    -- scheduled runs: orders changed since then (hour granularity at Mercado Livre)
    since        timestamptz,
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'success', 'failed')),
    progress     jsonb NOT NULL DEFAULT '{}'::jsonb,
    records      bigint NOT NULL DEFAULT 0,
    errors       integer NOT NULL DEFAULT 0,
    error        text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(), -- progress saved (about once a second)
    finished_at  timestamptz
);
-- A second run for an account while one runs: the 409 of POST /api/sync/start.
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (account_id) WHERE status = 'running';
CREATE INDEX sync_runs_tenant_idx ON sync_runs (tenant_id, started_at DESC);
CREATE INDEX sync_runs_account_idx ON sync_runs (account_id, started_at DESC);
CREATE INDEX sync_runs_job_idx ON sync_runs (job_id);

-- Job queues: processes run the jobs of their JOB_QUEUE only ('default' unless configured).
ALTER TABLE jobs ADD COLUMN queue text NOT NULL DEFAULT 'default';
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (queue, run_at) WHERE status IN ('queued', 'failed');
