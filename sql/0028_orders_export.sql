-- Orders across channels: who fulfils an order (GET /api/orders?fulfillmentChannel=, the
-- export's field), and the export files written by background jobs (GET /api/exports/:id).

-- Who ships an order, in one vocabulary for every channel: Amazon's fulfilment channel (AFN is
-- Amazon's, kept in orders.tags by the Amazon upsert) and Mercado Livre's logistic type of the
-- order's shipment (fulfillment is Full, self_service Flex, the rest Mercado Envios from the
-- seller). NULL while unknown (an ML order whose shipment is not synced yet).
CREATE FUNCTION order_fulfillment(o orders) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE o.channel
        WHEN 'amazon' THEN CASE WHEN 'AFN' = ANY (o.tags) THEN 'FBA' ELSE 'FBM' END
        WHEN 'ml' THEN (SELECT CASE s.logistic_type WHEN 'fulfillment' THEN 'ML_FULL'
                                                    WHEN 'self_service' THEN 'ML_FLEX'
                                                    ELSE 'ML_SELLER' END
                        FROM shipments s
                        WHERE s.tenant_id = o.tenant_id AND s.account_id = o.account_id
                          AND s.external_id = o.shipment_external_id)
    END
$$;

-- An export that became a background job (past EXPORT_SYNC_MAX_ROWS): its request, its state
-- and, once done, its file (under EXPORTS_DIR, named by id and format). The janitor's export
-- sweep deletes the file and marks the row expired once expires_at has passed.
CREATE TABLE order_exports (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     uuid,
    format      text NOT NULL CHECK (format IN ('csv', 'json', 'xlsx')),
    start_at    timestamptz NOT NULL,
    end_at      timestamptz NOT NULL,
    fields      text[] NOT NULL,
    status      text NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
    job_id      bigint,
    rows        bigint,
    bytes       bigint,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    expires_at  timestamptz
);
CREATE INDEX order_exports_tenant_idx ON order_exports (tenant_id, created_at DESC);
CREATE INDEX order_exports_expiry_idx ON order_exports (expires_at) WHERE status = 'done';

-- An order's money, as GET /api/orders/:id and the finance figures read it:
-- - revenue: its total; refunds: what went back (a negative payment, as Amazon's refund events
--   land, or a payment refunded or charged back, as Mercado Livre marks one);
-- - fees: the marketplace's, from its payments when they carry them (Mercado Livre's payment
--   fee, Amazon's financial events), else its lines' sale fee x quantity;
-- - product_cost: each line's cost when sold (unit_cost, sql/0019), else the SKU's cost now;
-- - shipping: what its shipment cost (shipments.shipping_cost);
-- - units: its lines' quantity.
CREATE FUNCTION order_figures(o orders, OUT revenue numeric, OUT refunds numeric,
                              OUT fees numeric, OUT product_cost numeric, OUT shipping numeric,
                              OUT units bigint)
LANGUAGE sql STABLE AS $$
    SELECT o.total_amount, coalesce(pay.refunds, 0), coalesce(pay.fees, li.fees, 0),
           coalesce(li.cost, 0),
           coalesce((SELECT sum(s.shipping_cost) FROM shipments s
                     WHERE s.tenant_id = o.tenant_id AND s.account_id = o.account_id
                       AND s.external_id = o.shipment_external_id), 0),
           coalesce(li.units, 0)
    FROM (SELECT sum(CASE WHEN p.transaction_amount < 0 THEN -p.transaction_amount
                          WHEN p.status IN ('refunded', 'charged_back') THEN p.transaction_amount
                          ELSE 0 END) AS refunds,
                 sum(p.marketplace_fee) AS fees
          FROM payments p WHERE p.order_id = o.id) pay,
         (SELECT sum(l.quantity) AS units, sum(coalesce(l.sale_fee, 0) * l.quantity) AS fees,
                 sum(coalesce(l.unit_cost, pr.cost, 0) * l.quantity) AS cost
          FROM order_items l
          LEFT JOIN products pr ON pr.tenant_id = l.tenant_id AND pr.sku = l.sku
          WHERE l.order_id = o.id) li
$$;

-- A finance period (GET /api/finance/*) in the tenant's time zone: period is today, week,
-- month, quarter or year (the current one) or custom (first to last, both days included). The
-- bounds as instants ([start_at, end_at)) and as the days they cover.
CREATE FUNCTION finance_period(tenant uuid, period text, first date, last date,
                               OUT start_at timestamptz, OUT end_at timestamptz,
                               OUT start_day date, OUT end_day date, OUT tz text)
LANGUAGE sql STABLE AS $$
    SELECT l.s AT TIME ZONE z.tz, l.e AT TIME ZONE z.tz, l.s::date,
           (l.e - interval '1 day')::date, z.tz
    FROM (SELECT coalesce((SELECT timezone FROM tenants WHERE id = tenant), 'UTC') AS tz) z,
    LATERAL (SELECT CASE WHEN period = 'custom' THEN first::timestamp
                         ELSE date_trunc(CASE period WHEN 'today' THEN 'day' ELSE period END,
                                         now() AT TIME ZONE z.tz) END AS s) s0,
    LATERAL (SELECT s0.s AS s,
                    CASE WHEN period = 'custom' THEN (last + 1)::timestamp
                         ELSE s0.s + CASE period WHEN 'today' THEN interval '1 day'
                                                 WHEN 'week' THEN interval '1 week'
                                                 WHEN 'month' THEN interval '1 month'
                                                 WHEN 'quarter' THEN interval '3 months'
                                                 ELSE interval '1 year' END END AS e) l
$$;

-- How a figure moved from one period to another: {amount, pct} (pct NULL from zero).
CREATE FUNCTION finance_variance(now_value numeric, then_value numeric) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('amount', now_value - then_value,
                             'pct', CASE WHEN then_value <> 0
                                         THEN round((now_value - then_value) * 100
                                                    / abs(then_value), 2) END)
$$;
