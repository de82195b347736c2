-- A dashboard's cache is checked against the version in PostgreSQL on every request
-- (src/api/metrics.c): a copy of the versions kept in Redis from 0034's NOTIFY trailed a commit
-- by the notification's delivery, and a dashboard asked for at once could come from the cache
-- of before the commit. The bump no longer announces itself; otherwise as 0034.
CREATE OR REPLACE FUNCTION dashboard_bump(tenant uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    done text := coalesce(current_setting('dashboard.bumped', true), '');
BEGIN
    IF position(tenant::text IN done) > 0 THEN
        RETURN;
    END IF;
    INSERT INTO dashboard_versions AS d (tenant_id, version) VALUES (tenant, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = d.version + 1;
    PERFORM set_config('dashboard.bumped', done || tenant::text, true);
END $$;
