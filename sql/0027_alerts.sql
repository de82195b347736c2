-- Alerts (src/alerts.c, /api/alerts): each tenant's rules and delivery settings, one row per
-- episode of a condition (it fires once when the condition starts and resolves itself when it
-- ends), the activity on each, and the evaluation: set-based detection per type, then
-- alerts_apply, which fires what is new and clears what ended. A stock change marks its SKUs,
-- which the server evaluates within ALERT_OUTBOX_MS; the janitor evaluates everything on its
-- interval.

CREATE TABLE alert_settings (
    tenant_id             uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    email                 text CHECK (char_length(email) <= 254),
    webhook_url           text CHECK (char_length(webhook_url) <= 2000),
    -- Sealed (crypto_seal): the HMAC key of the outgoing webhook, never shown back.
    webhook_secret_sealed text,
    quiet_from            time,
    quiet_to              time,
    timezone              text,  -- NULL: the tenant's
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (webhook_url IS NULL OR webhook_secret_sealed IS NOT NULL),
    CHECK ((quiet_from IS NULL) = (quiet_to IS NULL))
);

-- A tenant's own choices per type; a type without a row follows alert_rule_defaults.
CREATE TABLE alert_rules (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type      text NOT NULL,
    enabled   boolean NOT NULL,
    threshold numeric(14, 2),
    frequency text NOT NULL CHECK (frequency IN ('immediate', 'hourly', 'daily')),
    severity  text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    PRIMARY KEY (tenant_id, type)
);

-- Every type and its default. Thresholds: STOCK_LOW units (a SKU's min_stock_alert wins),
-- TOKEN_EXPIRING minutes before expiry (inside the upkeep's 30-minute refresh window, so only a
-- refresh that keeps failing reaches it), SYNC_FAILING failures in a row, ORDER_LATE and
-- QUESTION_UNANSWERED hours, PRICE_BELOW_COST the margin in percent the price must keep.
CREATE FUNCTION alert_rule_defaults()
RETURNS TABLE (type text, enabled boolean, threshold numeric, frequency text, severity text)
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('STOCK_LOW', true, 5, 'immediate', 'medium'),
           ('STOCK_OUT', true, NULL, 'immediate', 'high'),
           ('OVERSOLD', true, NULL, 'immediate', 'critical'),
           ('SYNC_FAILING', true, 1, 'immediate', 'high'),
           ('TOKEN_EXPIRING', true, 15, 'immediate', 'medium'),
           ('TOKEN_EXPIRED', true, NULL, 'immediate', 'critical'),
           ('ORDER_LATE', true, 48, 'immediate', 'medium'),
           ('PRICE_BELOW_COST', true, 0, 'immediate', 'medium'),
           ('QUESTION_UNANSWERED', true, 24, 'immediate', 'low'),
           ('STOCK_DISCREPANCY', false, NULL, 'immediate', 'medium')
$$;

CREATE VIEW alert_rules_effective AS
    SELECT t.id AS tenant_id, d.type, coalesce(r.enabled, d.enabled) AS enabled,
           coalesce(r.threshold, d.threshold) AS threshold,
           coalesce(r.frequency, d.frequency) AS frequency,
           coalesce(r.severity, d.severity) AS severity
    FROM tenants t CROSS JOIN alert_rule_defaults() d
    LEFT JOIN alert_rules r ON r.tenant_id = t.id AND r.type = d.type;

CREATE TABLE alerts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type            text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    ref             text NOT NULL,  -- the SKU, account, order, listing or question
    title           text NOT NULL,
    message         text NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}'::jsonb,
    status          text NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'acknowledged', 'resolved')),
    fired_at        timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    resolution      text CHECK (char_length(resolution) <= 500),
    notes           text CHECK (char_length(notes) <= 2000),
    -- When the condition ended: the episode is over (a resolve by hand while it still holds
    -- leaves it open, so it does not fire again until it has cleared).
    cleared_at      timestamptz,
    -- The outbox: when the delivery is due (NULL: handed to the jobs, or nowhere to deliver).
    deliver_at      timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_episode_idx ON alerts (tenant_id, type, ref) WHERE cleared_at IS NULL;
CREATE INDEX alerts_tenant_idx ON alerts (tenant_id, fired_at DESC, id);
CREATE INDEX alerts_outbox_idx ON alerts (deliver_at) WHERE deliver_at IS NOT NULL;
-- The dashboard's and realtime's active alerts by severity.
CREATE INDEX alerts_active_idx ON alerts (tenant_id, severity) WHERE status = 'active';
CREATE TRIGGER alerts_updated_at BEFORE UPDATE ON alerts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The dashboard shows active alerts: a cached one keyed by the tenant's version must not
-- outlive a change of them (dashboard_bump: once per transaction and tenant).
CREATE FUNCTION alerts_dashboard_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dashboard_bump(NEW.tenant_id);
    RETURN NULL;
END $$;
CREATE TRIGGER alerts_dashboard AFTER INSERT OR UPDATE OF status ON alerts
    FOR EACH ROW EXECUTE FUNCTION alerts_dashboard_bump();

-- One alert as the API renders it.
CREATE FUNCTION alert_json(a alerts) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', a.id, 'type', a.type, 'severity', a.severity, 'status', a.status, 'ref', a.ref,
        'title', a.title, 'message', a.message, 'data', a.data,
        'firedAt', to_char(a.fired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'acknowledgedAt', to_char(a.acknowledged_at AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'resolvedAt', to_char(a.resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'resolution', a.resolution, 'notes', a.notes, 'ongoing', a.cleared_at IS NULL)
$$;

CREATE TABLE alert_activity (
    id        bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL,
    alert_id  uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL DEFAULT now(),
    action    text NOT NULL,  -- fired, acknowledged, resolved, reopened, cleared, delivered, ...
    actor     text,           -- a user id, or NULL for sellerhub itself
    detail    text
);
CREATE INDEX alert_activity_alert_idx ON alert_activity (alert_id, at);

-- A condition that holds now: what evaluation compares with the open episodes.
CREATE TYPE alert_found AS (tenant_id uuid, type text, ref text, title text, message text,
                            data jsonb);

-- When an alert fired at p_at is delivered: at once, at the next hour or the next day (a
-- digest) in the tenant's zone, moved to the end of the quiet hours when it falls inside them.
CREATE FUNCTION alert_deliver_at(p_tenant uuid, p_frequency text, p_at timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    s alert_settings%ROWTYPE;
    tz text;
    local timestamp;
BEGIN
    SELECT * INTO s FROM alert_settings WHERE tenant_id = p_tenant;
    IF NOT FOUND OR (s.webhook_url IS NULL AND s.email IS NULL) THEN
        RETURN NULL;
    END IF;
    tz := coalesce(s.timezone, (SELECT timezone FROM tenants WHERE id = p_tenant), 'UTC');
    local := p_at AT TIME ZONE tz;
    local := CASE p_frequency WHEN 'hourly' THEN date_trunc('hour', local) + interval '1 hour'
                              WHEN 'daily' THEN date_trunc('day', local) + interval '1 day'
                              ELSE local END;
    IF s.quiet_from IS NOT NULL AND s.quiet_from <> s.quiet_to THEN
        IF s.quiet_from < s.quiet_to AND local::time >= s.quiet_from
           AND local::time < s.quiet_to THEN
            local := local::date + s.quiet_to;
        ELSIF s.quiet_from > s.quiet_to AND local::time >= s.quiet_from THEN
            local := local::date + 1 + s.quiet_to;
        ELSIF s.quiet_from > s.quiet_to AND local::time < s.quiet_to THEN
            local := local::date + s.quiet_to;
        END IF;
    END IF;
    RETURN greatest(local AT TIME ZONE tz, p_at);
END $$;

-- Brings the episodes in scope (p_tenant NULL: every tenant; the types p_types; p_refs NULL:
-- every ref) in line with p_found, what holds now: an open episode whose condition is not found
-- any more clears (and resolves itself), a condition found without an open episode fires a new
-- one under the tenant's rule (disabled: not found). Each firing is logged, queued for delivery
-- and announced on tenant_events. Returns how many fired.
CREATE FUNCTION alerts_apply(p_tenant uuid, p_types text[], p_refs text[],
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
    SELECT count(pg_notify('tenant_events', json_build_object(
               'tenant', tenant_id, 'event', 'alert',
               'data', json_build_object('id', id, 'type', type, 'severity', severity))::text))
    INTO fired FROM new;
    RETURN fired;
END $$;

-- --- detection: what holds now, per type ------------------------------------------------------

-- The stock types of the SKUs p_skus (NULL: all) of p_tenant (NULL: all).
CREATE FUNCTION alerts_detect_stock(p_tenant uuid, p_skus text[])
RETURNS SETOF alert_found LANGUAGE sql STABLE AS $$
    SELECT p.tenant_id, 'STOCK_OUT', p.sku::text, 'Out of stock: ' || p.sku,
           format('%s (%s) has no stock available to sell.', p.sku, p.title),
           jsonb_build_object('sku', p.sku, 'available', p.available, 'onHand', p.on_hand)
    FROM products p
    WHERE (p_tenant IS NULL OR p.tenant_id = p_tenant) AND (p_skus IS NULL OR p.sku = ANY (p_skus))
      AND p.active AND p.available = 0
    UNION ALL
    SELECT p.tenant_id, 'STOCK_LOW', p.sku::text, 'Low stock: ' || p.sku,
           format('%s (%s) has %s available, at or below %s.', p.sku, p.title, p.available,
                  coalesce(p.min_stock_alert, r.threshold)),
           jsonb_build_object('sku', p.sku, 'available', p.available,
                              'threshold', coalesce(p.min_stock_alert, r.threshold))
    FROM products p JOIN alert_rules_effective r
      ON r.tenant_id = p.tenant_id AND r.type = 'STOCK_LOW'
    WHERE (p_tenant IS NULL OR p.tenant_id = p_tenant) AND (p_skus IS NULL OR p.sku = ANY (p_skus))
      AND p.active AND p.available > 0
      AND p.available <= coalesce(p.min_stock_alert, r.threshold, 5)
    UNION ALL
    -- An order flagged oversold (sql/0023: it took more of a SKU than was available) while it
    -- is still open; by SKU, the open oversold orders holding one of p_skus.
    SELECT o.tenant_id, 'OVERSOLD', o.id::text, 'Oversold: order ' || o.external_id,
           format('The %s order %s took more stock than was available.', o.channel,
                  o.external_id),
           jsonb_build_object('orderId', o.id, 'channel', o.channel, 'externalId', o.external_id)
    FROM orders o
    WHERE o.oversold AND (p_tenant IS NULL OR o.tenant_id = p_tenant)
      AND stock_order_state(o.status) = 'open'
      AND (p_skus IS NULL OR o.id IN (SELECT r.order_id FROM stock_reservations r
                                      WHERE r.tenant_id = o.tenant_id AND r.sku = ANY (p_skus)))
$$;

-- The types of accounts, orders and listings (p_tenant NULL: all tenants).
CREATE FUNCTION alerts_detect_other(p_tenant uuid)
RETURNS SETOF alert_found LANGUAGE sql STABLE AS $$
    WITH r AS (SELECT * FROM alert_rules_effective
               WHERE p_tenant IS NULL OR tenant_id = p_tenant)
    SELECT a.tenant_id, 'SYNC_FAILING', a.id::text, 'Sync failing: ' || a.nickname,
           format('The %s account %s failed its last sync (%s failures in a row).', a.channel,
                  a.nickname, a.error_count),
           jsonb_build_object('accountId', a.id, 'channel', a.channel,
                              'errors', a.error_count)
    FROM accounts a JOIN r ON r.tenant_id = a.tenant_id AND r.type = 'SYNC_FAILING'
    WHERE a.status IN ('active', 'error') AND a.last_sync_status = 'failed'
      AND a.error_count >= coalesce(r.threshold, 1)
    UNION ALL
    SELECT a.tenant_id, 'TOKEN_EXPIRED', a.id::text, 'Authorization expired: ' || a.nickname,
           format('The %s account %s must be connected again.', a.channel, a.nickname),
           jsonb_build_object('accountId', a.id, 'channel', a.channel)
    FROM accounts a
    WHERE (p_tenant IS NULL OR a.tenant_id = p_tenant)
      AND (a.status = 'expired'
           OR (a.status IN ('active', 'error') AND a.token_expires_at <= now()))
    UNION ALL
    SELECT a.tenant_id, 'TOKEN_EXPIRING', a.id::text, 'Authorization expiring: ' || a.nickname,
           format('The %s account %s''s access expires at %s and has not been renewed.',
                  a.channel, a.nickname, to_char(a.token_expires_at AT TIME ZONE 'UTC',
                                                 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
           jsonb_build_object('accountId', a.id, 'channel', a.channel)
    FROM accounts a JOIN r ON r.tenant_id = a.tenant_id AND r.type = 'TOKEN_EXPIRING'
    WHERE a.status IN ('active', 'error') AND a.token_expires_at > now()
      AND a.token_expires_at <= now() + coalesce(r.threshold, 15) * interval '1 minute'
    UNION ALL
    -- Sold, neither cancelled nor shipped (nor its shipment), past the hours of the rule; the
    -- last 30 days only, so history never synced as shipped does not fire.
    SELECT o.tenant_id, 'ORDER_LATE', o.id::text, 'Order not shipped: ' || o.external_id,
           format('The %s order %s, placed %s, is not shipped after %s hours.', o.channel,
                  o.external_id, to_char(o.date_created AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD"T"HH24:MI:SS"Z"'), r.threshold),
           jsonb_build_object('orderId', o.id, 'channel', o.channel,
                              'externalId', o.external_id)
    FROM r JOIN orders o ON o.tenant_id = r.tenant_id
    WHERE r.type = 'ORDER_LATE' AND r.enabled
      AND o.date_created > now() - interval '30 days'
      AND o.date_created <= now() - coalesce(r.threshold, 48) * interval '1 hour'
      AND dashboard_sold(o.status) AND stock_order_state(o.status) = 'open'
      AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.tenant_id = o.tenant_id
                        AND s.account_id = o.account_id
                        AND s.external_id = o.shipment_external_id
                        AND lower(s.status) IN ('shipped', 'delivered', 'cancelled'))
    UNION ALL
    SELECT l.tenant_id, 'PRICE_BELOW_COST', l.id::text, 'Price below cost: ' || p.sku,
           format('The %s listing %s sells %s at %s, below its cost %s.', l.channel,
                  l.external_id, p.sku, l.price, p.cost),
           jsonb_build_object('listingId', l.id, 'sku', p.sku, 'price', l.price,
                              'cost', p.cost)
    FROM r JOIN listings l ON l.tenant_id = r.tenant_id
    JOIN products p ON p.tenant_id = l.tenant_id AND p.sku = l.sku COLLATE "C"
    WHERE r.type = 'PRICE_BELOW_COST' AND r.enabled AND l.status = 'active'
      AND p.cost IS NOT NULL AND l.price IS NOT NULL
      AND l.price < p.cost * (1 + coalesce(r.threshold, 0) / 100)
$$;

-- Every type of p_tenant (NULL: all tenants); p_extra: what the channels found (their
-- unanswered questions), already as alert_found rows.
CREATE FUNCTION alerts_evaluate(p_tenant uuid, p_extra alert_found[]) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    -- A stock change's trigger may be inserting the same episode: this sweep gives way (it
    -- fails and runs again next time) before a deadlock could pick the stock change instead.
    PERFORM set_config('lock_timeout', '500ms', true);
    -- Every process's janitor runs this pass: one at a time does it, the others skip theirs.
    IF p_tenant IS NULL AND NOT pg_try_advisory_xact_lock(hashtext('alerts_evaluate')) THEN
        RETURN 0;
    END IF;
    RETURN alerts_apply(p_tenant, ARRAY(SELECT type FROM alert_rule_defaults()), NULL,
                        ARRAY(SELECT f FROM alerts_detect_stock(p_tenant, NULL) f
                              UNION ALL SELECT f FROM alerts_detect_other(p_tenant) f
                              UNION ALL SELECT f FROM unnest(p_extra) f
                              WHERE p_tenant IS NULL OR f.tenant_id = p_tenant));
END $$;

-- A stock change marks its SKUs (cheap, in its own transaction); alerts_evaluate_stock_changes,
-- run by the server every ALERT_OUTBOX_MS, evaluates the marked SKUs in batches: one plan per
-- batch, instead of the milliseconds of planning an evaluation per statement added to every
-- stock change.
CREATE TABLE alert_stock_dirty (
    tenant_id uuid NOT NULL,
    sku       text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);

CREATE FUNCTION alerts_stock_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alert_stock_dirty (tenant_id, sku)
    SELECT DISTINCT tenant_id, sku FROM new_rows ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER stock_changes_alerts AFTER INSERT ON stock_changes
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alerts_stock_changed();

-- Evaluates the stock types of up to p_limit marked SKUs, taking them off the marks in the same
-- transaction; returns how many alerts fired.
CREATE FUNCTION alerts_evaluate_stock_changes(p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    fired integer := 0;
BEGIN
    PERFORM set_config('lock_timeout', '500ms', true);
    FOR t IN WITH d AS (DELETE FROM alert_stock_dirty x
                        WHERE (x.tenant_id, x.sku) IN (SELECT tenant_id, sku
                                                       FROM alert_stock_dirty LIMIT p_limit
                                                       FOR UPDATE SKIP LOCKED)
                        RETURNING x.tenant_id, x.sku)
             SELECT tenant_id, array_agg(sku) AS skus FROM d GROUP BY tenant_id
             ORDER BY tenant_id LOOP
        -- The refs in the default collation of alerts.ref (a parameter takes its argument's:
        -- "C" would keep alerts_episode_idx out of the lookup).
        fired := fired + alerts_apply(t.tenant_id, ARRAY['STOCK_OUT', 'STOCK_LOW', 'OVERSOLD'],
                                      t.skus::text[] COLLATE "default",
                                      ARRAY(SELECT f FROM alerts_detect_stock(t.tenant_id,
                                                                              t.skus) f));
    END LOOP;
    RETURN fired;
END $$;
