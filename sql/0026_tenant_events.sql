-- Tenant events: what GET /api/metrics/stream pushes, fed by PostgreSQL NOTIFY so that every
-- process (each LISTENs on tenant_events) hears every change, whoever committed it. The one
-- contract every producer follows (include/tenant_events.h says the same):
--   pg_notify('tenant_events', json_build_object('tenant', <uuid>, 'event', 'order'|'alert'|'sync',
--             'data', <small json>)::text)
-- A notification goes out at commit, and not at all on rollback. Payloads stay small (the limit is
-- 8000 bytes): a statement that writes many orders sends one summary event per tenant.
CREATE FUNCTION tenant_event(tenant uuid, event text, data jsonb) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_notify('tenant_events',
                     json_build_object('tenant', tenant, 'event', event, 'data', data)::text)
$$;

CREATE FUNCTION order_event_json(o orders, change text, was text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('change', change, 'id', o.id, 'channel', o.channel,
                              'accountId', o.account_id, 'externalId', o.external_id,
                              'status', o.status, 'previousStatus', was,
                              'total', o.total_amount, 'currency', o.currency,
                              'dateCreated', to_char(o.date_created AT TIME ZONE 'UTC',
                                                     'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
$$;

-- Up to 10 orders of a statement one event each; past that one {change, count} for the tenant
-- (a backfill's page), so a sync never floods every process with thousands of notifications.
CREATE FUNCTION orders_event_emit(tenant uuid, change text, orders jsonb[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(orders) <= 10 THEN
        PERFORM tenant_event(tenant, 'order', o) FROM unnest(orders) o;
    ELSE
        PERFORM tenant_event(tenant, 'order',
                             jsonb_build_object('change', change, 'count', cardinality(orders)));
    END IF;
END $$;

CREATE FUNCTION orders_events_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM orders_event_emit(n.tenant_id, 'created',
                              array_agg(order_event_json(n, 'created', NULL)))
    FROM new_rows n GROUP BY n.tenant_id;
    RETURN NULL;
END $$;

CREATE FUNCTION orders_events_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM orders_event_emit(n.tenant_id, 'status',
                              array_agg(order_event_json(n, 'status', o.status)))
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE o.status IS DISTINCT FROM n.status GROUP BY n.tenant_id;
    RETURN NULL;
END $$;

CREATE TRIGGER orders_events_ins AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_events_ins();
CREATE TRIGGER orders_events_upd AFTER UPDATE ON orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_events_upd();

-- A sync run starting, saving its progress (about once a second) and finishing.
CREATE FUNCTION sync_runs_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenant_event(NEW.tenant_id, 'sync', jsonb_build_object(
        'runId', NEW.id, 'accountId', NEW.account_id,
        'channel', (SELECT channel FROM accounts WHERE id = NEW.account_id),
        'kind', NEW.kind, 'scope', NEW.scope, 'status', NEW.status,
        'records', NEW.records, 'errors', NEW.errors,
        'done', (SELECT coalesce(sum((value->>'done')::numeric), 0) FROM jsonb_each(NEW.progress)
                 WHERE jsonb_typeof(value->'done') = 'number'),
        'total', (SELECT coalesce(sum((value->>'total')::numeric), 0) FROM jsonb_each(NEW.progress)
                  WHERE jsonb_typeof(value->'total') = 'number'),
        'finished', NEW.status <> 'running'));
    RETURN NULL;
END $$;

CREATE TRIGGER sync_runs_event_ins AFTER INSERT ON sync_runs
    FOR EACH ROW EXECUTE FUNCTION sync_runs_event();
CREATE TRIGGER sync_runs_event_upd AFTER UPDATE ON sync_runs FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.progress IS DISTINCT FROM NEW.progress
          OR OLD.records IS DISTINCT FROM NEW.records)
    EXECUTE FUNCTION sync_runs_event();
