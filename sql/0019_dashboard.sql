-- The dashboard's daily rollup: per tenant, day (in the tenant's time zone), channel and account,
-- the orders, revenue, units, fees and product cost, kept at write time by row triggers on
-- orders and order_items so that GET /api/metrics/dashboard never scans the orders for its KPIs.
-- Each trigger applies a delta (never a recount): two transactions writing the same day both
-- land. A tenant's version is bumped by every write so that a cached dashboard keyed by it can
-- never hide an order committed after it was computed.

-- The tenant's zone for the dashboard's days and hours (API.md: figures in the tenant's time
-- zone). UTC until set, as the per-day order totals; the rollup's days are cut at write time, so
-- changing it applies to orders written afterwards (a recount script is left to do).
ALTER TABLE tenants ADD COLUMN timezone text NOT NULL DEFAULT 'UTC'
    CHECK (char_length(timezone) <= 64);

CREATE TABLE dashboard_days (
    -- No foreign keys: a tenant's or account's delete cascades into orders, whose trigger
    -- writes here after the parent is gone (its rows end at zero).
    tenant_id    uuid NOT NULL,
    day          date NOT NULL,
    channel      text NOT NULL,
    account_id   uuid NOT NULL,
    orders       bigint NOT NULL DEFAULT 0,         -- every order, cancelled too
    sold         bigint NOT NULL DEFAULT 0,         -- orders not cancelled or invalid
    revenue      numeric(16, 2) NOT NULL DEFAULT 0, -- total_amount of the sold orders
    units        bigint NOT NULL DEFAULT 0,         -- quantity of the sold orders' lines
    fees         numeric(16, 2) NOT NULL DEFAULT 0, -- sale_fee x quantity of those lines
    product_cost numeric(16, 2) NOT NULL DEFAULT 0, -- unit_cost x quantity, where known
    PRIMARY KEY (tenant_id, day, channel, account_id)
);

CREATE TABLE dashboard_versions (
    tenant_id uuid PRIMARY KEY,
    version   bigint NOT NULL DEFAULT 0
);

-- A line's product cost as it was when sold (products.cost then): profit does not move when the
-- seller edits a cost later, and a line's delta out is exactly its delta in.
ALTER TABLE order_items ADD COLUMN unit_cost numeric(14, 2);
CREATE FUNCTION order_items_unit_cost() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.unit_cost := (SELECT cost FROM products WHERE tenant_id = NEW.tenant_id
                      AND sku = NEW.sku);
    RETURN NEW;
END $$;
CREATE TRIGGER order_items_unit_cost BEFORE INSERT ON order_items FOR EACH ROW
    WHEN (NEW.unit_cost IS NULL AND NEW.sku IS NOT NULL)
    EXECUTE FUNCTION order_items_unit_cost();

CREATE FUNCTION dashboard_sold(status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT status NOT IN ('cancelled', 'invalid')
$$;

CREATE FUNCTION dashboard_day(tenant uuid, at timestamptz) RETURNS date LANGUAGE sql STABLE AS $$
    SELECT (at AT TIME ZONE coalesce((SELECT timezone FROM tenants WHERE id = tenant), 'UTC'))::date
$$;

-- Once per transaction and tenant, before the transaction's first rollup row: the version's row
-- lock then orders every writer of the tenant's rollup rows (no two can deadlock on them), and a
-- bulk upsert leaves one new version, not one per row. A rolled-back savepoint undoes the flag
-- with the bump.
CREATE FUNCTION dashboard_bump(tenant uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    done text := coalesce(current_setting('dashboard.bumped', true), '');
BEGIN
    IF position(tenant::text IN done) > 0 THEN
        RETURN;
    END IF;
    INSERT INTO dashboard_versions AS v (tenant_id, version) VALUES (tenant, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
    PERFORM set_config('dashboard.bumped', done || tenant::text, true);
END $$;

-- Adds sign x (one order with its lines) to its day's row, and bumps the tenant's version.
CREATE FUNCTION dashboard_apply(o orders, sign integer, with_order boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    sold boolean := dashboard_sold(o.status);
    u bigint := 0;
    f numeric := 0;
    c numeric := 0;
BEGIN
    PERFORM dashboard_bump(o.tenant_id);
    IF sold THEN
        SELECT coalesce(sum(quantity), 0), coalesce(sum(coalesce(sale_fee, 0) * quantity), 0),
               coalesce(sum(coalesce(unit_cost, 0) * quantity), 0)
        INTO u, f, c FROM order_items WHERE order_id = o.id;
    END IF;
    INSERT INTO dashboard_days AS d (tenant_id, day, channel, account_id, orders, sold, revenue,
                                     units, fees, product_cost)
    VALUES (o.tenant_id, dashboard_day(o.tenant_id, o.date_created), o.channel, o.account_id,
            CASE WHEN with_order THEN sign ELSE 0 END,
            CASE WHEN with_order AND sold THEN sign ELSE 0 END,
            CASE WHEN with_order AND sold THEN sign * o.total_amount ELSE 0 END,
            sign * u, sign * f, sign * c)
    ON CONFLICT (tenant_id, day, channel, account_id) DO UPDATE
    SET orders = d.orders + excluded.orders, sold = d.sold + excluded.sold,
        revenue = d.revenue + excluded.revenue, units = d.units + excluded.units,
        fees = d.fees + excluded.fees, product_cost = d.product_cost + excluded.product_cost;
END $$;


-- orders: an insert adds the order (one statement's rows in one upsert per day, see below), a
-- delete (BEFORE: its lines are still there, the cascade
-- comes after) takes it out with its lines, an update that moves a figure takes the old out and
-- puts the new in; a replayed upsert that changes none moves nothing.
CREATE FUNCTION dashboard_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM dashboard_apply(OLD, -1, true);
        RETURN OLD;
    END IF;
    IF (OLD.status, OLD.date_created, OLD.total_amount, OLD.account_id, OLD.channel,
        OLD.tenant_id) IS DISTINCT FROM
       (NEW.status, NEW.date_created, NEW.total_amount, NEW.account_id, NEW.channel,
        NEW.tenant_id) THEN
        PERFORM dashboard_apply(OLD, -1, true);
        PERFORM dashboard_apply(NEW, 1, true);
    ELSIF OLD.shipment_external_id IS DISTINCT FROM NEW.shipment_external_id THEN
        PERFORM dashboard_bump(NEW.tenant_id); -- the map by state reads it
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER orders_dashboard_upd AFTER UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION dashboard_orders();
CREATE TRIGGER orders_dashboard_del BEFORE DELETE ON orders
    FOR EACH ROW EXECUTE FUNCTION dashboard_orders();

-- order_items (updates and deletes; inserts below): a line of a sold order moves units, fees and cost of its order's day. A line
-- deleted by its order's cascade finds no order (the order's delete took it out already).
CREATE FUNCTION dashboard_line(line order_items, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    o orders;
BEGIN
    SELECT * INTO o FROM orders WHERE id = line.order_id;
    IF NOT FOUND OR NOT dashboard_sold(o.status) THEN
        RETURN;
    END IF;
    PERFORM dashboard_bump(o.tenant_id);
    INSERT INTO dashboard_days AS d (tenant_id, day, channel, account_id, units, fees,
                                     product_cost)
    VALUES (o.tenant_id, dashboard_day(o.tenant_id, o.date_created), o.channel, o.account_id,
            sign * line.quantity, sign * coalesce(line.sale_fee, 0) * line.quantity,
            sign * coalesce(line.unit_cost, 0) * line.quantity)
    ON CONFLICT (tenant_id, day, channel, account_id) DO UPDATE
    SET units = d.units + excluded.units, fees = d.fees + excluded.fees,
        product_cost = d.product_cost + excluded.product_cost;
END $$;

CREATE FUNCTION dashboard_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM dashboard_line(OLD, -1);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM dashboard_line(NEW, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER order_items_dashboard AFTER UPDATE OR DELETE ON order_items
    FOR EACH ROW EXECUTE FUNCTION dashboard_items();

-- Inserts, what a sync's bulk upserts do most, per statement: the statement's rows summed per
-- day in one upsert. 20,000 orders and their 40,000 lines, against no dashboard trigger: row by
-- row 3.4 and 5 times as long to write; per statement about 1 and 2.2 times (the lines' cost
-- lookup and join to their orders). The tenants' versions first, then the days in key order.
CREATE FUNCTION dashboard_orders_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dashboard_bump(t) FROM (SELECT DISTINCT tenant_id AS t FROM new_rows ORDER BY 1) x;
    INSERT INTO dashboard_days AS d (tenant_id, day, channel, account_id, orders, sold, revenue,
                                     units, fees, product_cost)
    SELECT o.tenant_id, (o.date_created AT TIME ZONE coalesce(z.timezone, 'UTC'))::date,
           o.channel, o.account_id, count(*), count(*) FILTER (WHERE s),
           coalesce(sum(o.total_amount) FILTER (WHERE s), 0),
           coalesce(sum(i.u) FILTER (WHERE s), 0), coalesce(sum(i.f) FILTER (WHERE s), 0),
           coalesce(sum(i.c) FILTER (WHERE s), 0)
    FROM (SELECT *, dashboard_sold(status) AS s FROM new_rows) o
    LEFT JOIN tenants z ON z.id = o.tenant_id
    LEFT JOIN LATERAL (SELECT sum(quantity) AS u, sum(coalesce(sale_fee, 0) * quantity) AS f,
                              sum(coalesce(unit_cost, 0) * quantity) AS c
                       FROM order_items WHERE order_id = o.id) i ON true
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, day, channel, account_id) DO UPDATE
    SET orders = d.orders + excluded.orders, sold = d.sold + excluded.sold,
        revenue = d.revenue + excluded.revenue, units = d.units + excluded.units,
        fees = d.fees + excluded.fees, product_cost = d.product_cost + excluded.product_cost;
    RETURN NULL;
END $$;
CREATE TRIGGER orders_dashboard_ins AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_orders_ins();

CREATE FUNCTION dashboard_items_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dashboard_bump(t) FROM (SELECT DISTINCT o.tenant_id AS t FROM new_rows l
                                    JOIN orders o ON o.id = l.order_id ORDER BY 1) x;
    INSERT INTO dashboard_days AS d (tenant_id, day, channel, account_id, units, fees,
                                     product_cost)
    SELECT o.tenant_id, (o.date_created AT TIME ZONE coalesce(z.timezone, 'UTC'))::date,
           o.channel, o.account_id, sum(l.quantity),
           sum(coalesce(l.sale_fee, 0) * l.quantity), sum(coalesce(l.unit_cost, 0) * l.quantity)
    FROM new_rows l JOIN orders o ON o.id = l.order_id
    LEFT JOIN tenants z ON z.id = o.tenant_id
    WHERE dashboard_sold(o.status)
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, day, channel, account_id) DO UPDATE
    SET units = d.units + excluded.units, fees = d.fees + excluded.fees,
        product_cost = d.product_cost + excluded.product_cost;
    RETURN NULL;
END $$;
CREATE TRIGGER order_items_dashboard_ins AFTER INSERT ON order_items
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dashboard_items_ins();

-- The rows there already.
INSERT INTO dashboard_days (tenant_id, day, channel, account_id, orders, sold, revenue, units,
                            fees, product_cost)
SELECT o.tenant_id, dashboard_day(o.tenant_id, o.date_created), o.channel, o.account_id,
       count(*), count(*) FILTER (WHERE dashboard_sold(o.status)),
       coalesce(sum(o.total_amount) FILTER (WHERE dashboard_sold(o.status)), 0),
       coalesce(sum(i.u) FILTER (WHERE dashboard_sold(o.status)), 0),
       coalesce(sum(i.f) FILTER (WHERE dashboard_sold(o.status)), 0), 0
FROM orders o
LEFT JOIN LATERAL (SELECT sum(quantity) AS u, sum(coalesce(sale_fee, 0) * quantity) AS f
                   FROM order_items WHERE order_id = o.id) i ON true
GROUP BY 1, 2, 3, 4;


-- A tenant's delete: its orders' cascade wrote zeroed rows here after the tenant was gone (RI
-- triggers sort before this one, so they have all run).
CREATE FUNCTION dashboard_forget_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dashboard_days WHERE tenant_id = OLD.id;
    DELETE FROM dashboard_versions WHERE tenant_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER tenants_dashboard_forget AFTER DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION dashboard_forget_tenant();
