-- Each marketplace order's way into the seller's ERP (issue 19): one row per order once the
-- tenant has an ERP account. A pass claims due rows (SKIP LOCKED, then a lease so a second
-- process or a restart leaves a claimed row alone until the lease runs out); before sending it
-- looks the order up in the ERP by its marketplace id, so an unknown outcome is never sent twice.
-- held: the ERP cannot take it yet (an unknown SKU: last_error says which); tried again each pass.
CREATE TABLE erp_orders (
    order_id    uuid PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'held', 'failed')),
    pedido_id   text,
    numero      text,
    situacao    text,
    last_error  text,
    attempts    integer NOT NULL DEFAULT 0,
    lease_until timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erp_orders_due_idx ON erp_orders (tenant_id, status, order_id);
