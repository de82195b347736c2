-- Every channel's accounts in one table: the core's (token upkeep, the janitor, /api/accounts)
-- knows only these columns; what one channel alone has lives in settings. Mercado Livre's
-- accounts move here as they are: same ids, so every row that references one still does.

ALTER TABLE ml_accounts RENAME TO accounts;
ALTER TABLE accounts ADD COLUMN channel text NOT NULL DEFAULT 'ml'
    CHECK (channel ~ '^[a-z][a-z0-9_]{0,15}$');
ALTER TABLE accounts ALTER COLUMN channel DROP DEFAULT;
-- The account's id at its channel (a Mercado Livre user id, an Amazon selling partner id, ...).
ALTER TABLE accounts ADD COLUMN external_id text CHECK (char_length(external_id) BETWEEN 1 AND 100);
ALTER TABLE accounts ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(settings) = 'object');
UPDATE accounts SET external_id = ml_user_id::text,
    settings = jsonb_strip_nulls(jsonb_build_object('email', email, 'siteId', site_id,
                                                    'accountType', account_type));
ALTER TABLE accounts ALTER COLUMN external_id SET NOT NULL;
-- A channel without refresh tokens (an ERP's API key) keeps its secret in access_token_sealed.
ALTER TABLE accounts ALTER COLUMN refresh_token_sealed DROP NOT NULL;
ALTER TABLE accounts ALTER COLUMN token_expires_at DROP NOT NULL;

-- The function of the per-day order totals named the table; it reads accounts now.
CREATE OR REPLACE FUNCTION ml_order_days_apply(delta jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ml_order_days AS d (tenant_id, account_id, day, status, currency, orders, amount)
    SELECT t, a, day, s, c, sum(n), sum(m)
    FROM (SELECT (x->>'t')::uuid AS t, (x->>'a')::uuid AS a, days.day, x->>'s' AS s,
                 x->>'c' AS c, (x->>'n')::bigint AS n, (x->>'m')::numeric AS m
          FROM jsonb_array_elements(delta) x,
               LATERAL (VALUES ((x->>'d')::date), ('-infinity'::date)) AS days(day)
          WHERE EXISTS (SELECT 1 FROM accounts WHERE id = (x->>'a')::uuid)) e
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 3, 2, 4, 5
    ON CONFLICT (tenant_id, day, account_id, status, currency) DO UPDATE
    SET orders = d.orders + excluded.orders, amount = d.amount + excluded.amount
$$;

ALTER TABLE accounts DROP CONSTRAINT ml_accounts_tenant_user_key;
DROP INDEX ml_accounts_ml_user_idx;
DROP INDEX ml_accounts_one_primary_idx;
ALTER TABLE accounts DROP COLUMN ml_user_id, DROP COLUMN email, DROP COLUMN site_id,
    DROP COLUMN account_type;

ALTER TABLE accounts ADD CONSTRAINT accounts_channel_external_key
    UNIQUE (tenant_id, channel, external_id);
-- Notifications arrive with only the channel's id of the account.
CREATE INDEX accounts_external_idx ON accounts (channel, external_id);
-- At most one primary account per tenant and channel.
CREATE UNIQUE INDEX accounts_one_primary_idx ON accounts (tenant_id, channel) WHERE is_primary;
ALTER INDEX ml_accounts_pkey RENAME TO accounts_pkey;
ALTER INDEX ml_accounts_tenant_idx RENAME TO accounts_tenant_idx;
ALTER INDEX ml_accounts_due_idx RENAME TO accounts_due_idx;
ALTER INDEX ml_accounts_token_expiry_idx RENAME TO accounts_token_expiry_idx;
ALTER TRIGGER ml_accounts_updated_at ON accounts RENAME TO accounts_updated_at;

-- Mercado Livre's accounts as they were, for operators and scripts: a channel-filtered view
-- (simple, so it takes UPDATE and SELECT ... FOR UPDATE like the table did).
CREATE VIEW ml_accounts AS
    SELECT id, tenant_id, external_id::bigint AS ml_user_id, nickname,
           settings->>'email' AS email, coalesce(settings->>'siteId', 'MLB') AS site_id,
           account_name, coalesce(settings->>'accountType', 'individual') AS account_type,
           status, sync_enabled, is_primary, sync_interval_ms, notifications_enabled,
           last_sync_at, next_sync_at, last_sync_status, last_sync_error, cached_products,
           cached_orders, cached_issues, cached_at, error_count, error_history,
           access_token_sealed, refresh_token_sealed, token_expires_at, refreshed_at,
           created_at, updated_at, disconnected_at
    FROM accounts WHERE channel = 'ml';
