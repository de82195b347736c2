-- The ERP loop back (issue 19): each forwarded order's situation and invoice as the ERP reports
-- them, its marketplace cancellation sent once, and the retry schedule of orders not yet sent.
-- next_try_at: a pending or held row is claimed again from then on (backoff; a new token or an
--   import of products, or a retry by hand, brings it forward).
-- poll_at: a sent row whose situation is not final is read again from the ERP then (a webhook
--   brings it forward; NULL once final).
-- cancel_state: the marketplace cancelled the order after it was sent: 'due' until the ERP
--   took the cancellation ('sent'), 'failed' with cancel_error when it refused it.
ALTER TABLE erp_orders
    ADD COLUMN next_try_at        timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN poll_at            timestamptz,
    ADD COLUMN situacao_at        timestamptz,
    ADD COLUMN sent_at            timestamptz,
    ADD COLUMN invoice_id         text,
    ADD COLUMN invoice_numero     text,
    ADD COLUMN invoice_serie      text,
    ADD COLUMN invoice_chave      text,
    ADD COLUMN invoice_emitted_at date,
    ADD COLUMN cancel_state       text CHECK (cancel_state IN ('due', 'sent', 'failed')),
    ADD COLUMN cancel_error       text;

-- Sent rows still followed: the status pass's claim and the cancellations' check.
CREATE INDEX erp_orders_open_idx ON erp_orders (tenant_id, poll_at) WHERE status = 'sent'
    AND poll_at IS NOT NULL;
-- Rows to send again, across tenants (the sweep's look for due work).
CREATE INDEX erp_orders_retry_idx ON erp_orders (next_try_at) WHERE status IN ('pending', 'held');
-- The ERP's order id, for its webhooks.
CREATE INDEX erp_orders_pedido_idx ON erp_orders (pedido_id) WHERE pedido_id IS NOT NULL;
