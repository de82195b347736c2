-- Tenant events kept a while, so that a client of GET /api/metrics/stream reconnecting with
-- Last-Event-ID gets what it missed (src/tenant_events.c). Every event is a row here and its id
-- rides in the notification ({id, tenant, event, data}); the streams write it as the SSE id.
-- Unlogged: a crash loses at most the resume window, and then a reconnecting client gets a fresh
-- realtime snapshot, as it does when its id is older than what is kept (SSE_RESUME_S, pruned by
-- every process's tenant_events timer).
CREATE UNLOGGED TABLE tenant_event_log (
    id        bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL,
    event     text NOT NULL,
    data      jsonb,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_event_log_tenant ON tenant_event_log (tenant_id, id);
CREATE INDEX tenant_event_log_at ON tenant_event_log (at);

-- The event logged and notified (at commit); returns its id.
CREATE FUNCTION tenant_event_logged(tenant uuid, event text, data jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    eid bigint;
BEGIN
    INSERT INTO tenant_event_log (tenant_id, event, data) VALUES (tenant, event, data)
    RETURNING id INTO eid;
    PERFORM pg_notify('tenant_events', json_build_object('id', eid, 'tenant', tenant,
                                                         'event', event, 'data', data)::text);
    RETURN eid;
END $$;

-- Every producer's entry point (sql/0026's triggers call it) now logs too.
CREATE OR REPLACE FUNCTION tenant_event(tenant uuid, event text, data jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenant_event_logged(tenant, event, data);
END $$;

-- sql/0027's alerts_apply, its announcement of each firing through tenant_event_logged.
CREATE OR REPLACE FUNCTION alerts_apply(p_tenant uuid, p_types text[], p_refs text[],
                             p_found alert_found[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    fired integer;
    scope uuid[];  -- the open episodes in scope
BEGIN
    -- One statement per shape of scope, each planned for it: one SKU's episodes are an index
    -- lookup, not a scan of every alert (as one statement with "p_refs IS NULL OR ..." was).
    IF p_refs IS NOT NULL THEN
        scope := ARRAY(SELECT id FROM alerts WHERE cleared_at IS NULL AND tenant_id = p_tenant
                         AND type = ANY (p_types) AND ref = ANY (p_refs));
    ELSIF p_tenant IS NOT NULL THEN
        scope := ARRAY(SELECT id FROM alerts WHERE cleared_at IS NULL AND tenant_id = p_tenant
                         AND type = ANY (p_types));
    ELSE
        scope := ARRAY(SELECT id FROM alerts WHERE cleared_at IS NULL AND type = ANY (p_types));
    END IF;
    WITH found AS (
        SELECT f.*, r.severity, r.frequency FROM unnest(p_found) f
        JOIN alert_rules_effective r ON r.tenant_id = f.tenant_id AND r.type = f.type
        WHERE r.enabled AND f.type = ANY (p_types)),
    ended AS (
        SELECT a.id, a.tenant_id, a.status FROM alerts a
        WHERE a.id = ANY (scope) AND a.cleared_at IS NULL
          -- NOT IN over a hashed subplan: an anti-join the planner cannot turn into a
          -- nested loop over thousands of open episodes.
          AND (a.tenant_id, a.type, a.ref) NOT IN (SELECT f.tenant_id, f.type, f.ref
                                                   FROM found f)
        ORDER BY a.id FOR UPDATE),
    cleared AS (
        UPDATE alerts a SET cleared_at = now(),
               status = 'resolved', resolved_at = coalesce(a.resolved_at, now()),
               resolution = coalesce(a.resolution, 'the condition cleared')
        FROM ended e WHERE a.id = e.id RETURNING a.id),
    new AS (
        INSERT INTO alerts (tenant_id, type, severity, ref, title, message, data, deliver_at)
        SELECT f.tenant_id, f.type, f.severity, f.ref, f.title, f.message,
               coalesce(f.data, '{}'), alert_deliver_at(f.tenant_id, f.frequency, now())
        FROM found f
        WHERE (f.tenant_id, f.type, f.ref) NOT IN (SELECT a.tenant_id, a.type, a.ref
                                                   FROM alerts a WHERE a.id = ANY (scope))
        ON CONFLICT (tenant_id, type, ref) WHERE cleared_at IS NULL DO NOTHING
        RETURNING id, tenant_id, type, severity),
    log AS (
        INSERT INTO alert_activity (tenant_id, alert_id, action, detail)
        SELECT tenant_id, id, 'fired', NULL FROM new
        UNION ALL
        SELECT e.tenant_id, e.id, 'cleared',
               CASE WHEN e.status <> 'resolved' THEN 'resolved: the condition cleared' END
        FROM ended e)
    SELECT count(tenant_event_logged(tenant_id, 'alert',
                 jsonb_build_object('id', id, 'type', type, 'severity', severity)))
    INTO fired FROM new;
    RETURN fired;
END $$;
