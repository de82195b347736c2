-- Every process caches its users' role and active flags (src/auth.c) and empties that cache when
-- it hears sh_auth: notify whenever they, or a tenant's active flag, may have changed.
CREATE FUNCTION sh_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sh_auth', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER users_auth_changed
    AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.active IS DISTINCT FROM NEW.active
          OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION sh_auth_changed();
CREATE TRIGGER users_auth_deleted
    AFTER DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION sh_auth_changed();
CREATE TRIGGER tenants_auth_changed
    AFTER UPDATE ON tenants FOR EACH ROW
    WHEN (OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION sh_auth_changed();
CREATE TRIGGER tenants_auth_deleted
    AFTER DELETE ON tenants FOR EACH STATEMENT EXECUTE FUNCTION sh_auth_changed();
