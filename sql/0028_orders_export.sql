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
