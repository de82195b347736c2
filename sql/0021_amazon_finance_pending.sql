-- A backfill's financial events read before its orders report is stored wait here (their fees
-- land on stored orders); the plan releases them into payments once the orders are in. Only a
-- cache of what Amazon will answer again: unlogged.
CREATE UNLOGGED TABLE amazon_finance_pending (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    docs       jsonb NOT NULL,
    held_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX amazon_finance_pending_account_idx ON amazon_finance_pending (account_id);
