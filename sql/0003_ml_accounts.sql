-- Mercado Livre seller accounts connected by a tenant, and the OAuth handshakes that connect them.

CREATE TABLE ml_accounts (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id              uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    ml_user_id             bigint NOT NULL CHECK (ml_user_id > 0),
    nickname               text NOT NULL CHECK (char_length(nickname) BETWEEN 1 AND 100),
    email                  text CHECK (char_length(email) <= 254),
    site_id                text NOT NULL DEFAULT 'MLB' CHECK (char_length(site_id) BETWEEN 2 AND 8),
    account_name           text CHECK (char_length(account_name) BETWEEN 1 AND 100),
    account_type           text NOT NULL DEFAULT 'individual'
                           CHECK (char_length(account_type) BETWEEN 1 AND 32),
    status                 text NOT NULL DEFAULT 'active'
                           CHECK (status IN ('active', 'paused', 'expired', 'error')),
    sync_enabled           boolean NOT NULL DEFAULT true,
    is_primary             boolean NOT NULL DEFAULT false,
    sync_interval_ms       integer NOT NULL DEFAULT 3600000
                           CHECK (sync_interval_ms BETWEEN 60000 AND 86400000),
    notifications_enabled  boolean NOT NULL DEFAULT true,
    last_sync_at           timestamptz,
    next_sync_at           timestamptz,
    last_sync_status       text CHECK (last_sync_status IN ('success', 'failed', 'in_progress')),
    last_sync_error        text CHECK (char_length(last_sync_error) <= 500),
    -- Counts from the last successful sync, shown without calling Mercado Livre.
    cached_products        integer NOT NULL DEFAULT 0,
    cached_orders          integer NOT NULL DEFAULT 0,
    cached_issues          integer NOT NULL DEFAULT 0,
    cached_at              timestamptz,
    error_count            integer NOT NULL DEFAULT 0,
    -- Newest first, at most 20 entries of {time, kind, message}; trimmed on write and by a job.
    error_history          jsonb NOT NULL DEFAULT '[]'::jsonb
                           CHECK (jsonb_typeof(error_history) = 'array'),
    -- AES-256-GCM sealed ("v1:<kid>:<base64url>"), never plaintext; see src/crypto.c.
    access_token_sealed    text NOT NULL,
    refresh_token_sealed   text NOT NULL,
    token_expires_at       timestamptz NOT NULL,
    refreshed_at           timestamptz NOT NULL DEFAULT now(),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    disconnected_at        timestamptz,
    CONSTRAINT ml_accounts_tenant_user_key UNIQUE (tenant_id, ml_user_id)
);
-- Webhooks arrive with only the seller's user_id.
CREATE INDEX ml_accounts_ml_user_idx ON ml_accounts (ml_user_id);
-- At most one primary per tenant; the API keeps it exactly one while any account exists.
CREATE UNIQUE INDEX ml_accounts_one_primary_idx ON ml_accounts (tenant_id) WHERE is_primary;
CREATE INDEX ml_accounts_tenant_idx ON ml_accounts (tenant_id, created_at, id);
-- The scheduler's "due accounts" scan.
CREATE INDEX ml_accounts_due_idx ON ml_accounts (next_sync_at) WHERE sync_enabled;
-- The token-upkeep scan.
CREATE INDEX ml_accounts_token_expiry_idx ON ml_accounts (token_expires_at)
    WHERE status IN ('active', 'paused');
CREATE TRIGGER ml_accounts_updated_at BEFORE UPDATE ON ml_accounts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One row per started OAuth handshake: single-use, 10 minutes, bound to tenant and user.
-- state is stored as its hex SHA-256; the PKCE verifier is sealed like a token.
CREATE TABLE ml_oauth_states (
    state_hash      text PRIMARY KEY CHECK (char_length(state_hash) = 64),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verifier_sealed text NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ml_oauth_states_expires_idx ON ml_oauth_states (expires_at);
