-- Identity and tenancy: tenants (selling companies), their users, and refresh-token families.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    plan        text NOT NULL DEFAULT 'starter' CHECK (plan IN ('starter', 'pro', 'enterprise')),
    active      boolean NOT NULL DEFAULT true, -- false: suspended, every user is refused
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER tenants_updated_at BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email           citext NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    password_hash   text NOT NULL, -- argon2id encoded string, never rendered
    full_name       text NOT NULL CHECK (char_length(full_name) BETWEEN 1 AND 100),
    phone           text CHECK (char_length(phone) <= 32),
    timezone        text NOT NULL DEFAULT 'America/Sao_Paulo' CHECK (char_length(timezone) <= 64),
    language        text NOT NULL DEFAULT 'pt-BR' CHECK (language IN ('pt-BR', 'en-US', 'es')),
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    active          boolean NOT NULL DEFAULT true,
    failed_attempts integer NOT NULL DEFAULT 0, -- consecutive wrong passwords
    locked_until    timestamptz,
    last_login_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email) -- citext: unique case-insensitively
);
CREATE INDEX users_tenant_idx ON users (tenant_id, created_at, id);
-- The last-owner guard locks a tenant's owners.
CREATE INDEX users_tenant_owners_idx ON users (tenant_id) WHERE role = 'owner';
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Opaque refresh tokens, stored only as the hex SHA-256 of the token. Every rotation adds a row
-- to the same family; presenting a used row revokes the whole family.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash  text NOT NULL CHECK (char_length(token_hash) = 64),
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    user_agent  text CHECK (char_length(user_agent) <= 255),
    ip          inet,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
