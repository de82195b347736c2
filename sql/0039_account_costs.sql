-- Costs a channel charges the account rather than an order (Amazon's ad spend, its
-- subscription and other service fees): the finance summary's advertising and other costs.
-- external_id is the channel's identity of the charge, so a re-read replaces itself.
CREATE TABLE account_costs (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel     text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('advertising', 'other')),
    amount      numeric(14, 2) NOT NULL,
    currency    text,
    posted_at   timestamptz NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    UNIQUE (account_id, external_id)
);
CREATE INDEX account_costs_tenant_posted_idx ON account_costs (tenant_id, posted_at);
