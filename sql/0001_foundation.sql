-- Shared building blocks for the tables that follow.

-- Case-insensitive text for e-mail addresses.
CREATE EXTENSION IF NOT EXISTS citext;

-- Keeps updated_at honest on every UPDATE, whatever the statement forgot.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$;
