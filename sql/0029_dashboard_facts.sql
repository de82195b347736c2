-- The dashboard's charts off the orders: rollups kept at write time, like dashboard_days (0019),
-- for what GET /api/metrics/dashboard still scanned the period's orders for: the SKUs sold
-- (top products; and the products' sales and profit), the categories sold, the hour of day and
-- the buyer's state. Each row is kept at two grains, the day ('d') and the month ('m', bucket
-- the month's first day), so a year is read as ~12 month rows and the edge days, not 365 days.
-- Every write applies a delta through dashboard_order_facts/dashboard_line_facts, from triggers
-- beside 0019's, so the rows equal a recount at every commit; dashboard_rebuild(tenant) recounts
-- one tenant from scratch.

CREATE TABLE dashboard_skus (
    tenant_id    uuid NOT NULL,
    grain        "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket       date NOT NULL,
    channel      text NOT NULL,
    account_id   uuid NOT NULL,
    -- The line's SKU, else its listing's id, else '' (the key topProducts shows).
    sku          text COLLATE "C" NOT NULL,
    title        text,                              -- the last line's title written
    units        bigint NOT NULL DEFAULT 0,
    revenue      numeric(16, 2) NOT NULL DEFAULT 0, -- quantity x unit_price
    fees         numeric(16, 2) NOT NULL DEFAULT 0,
    product_cost numeric(16, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, grain, bucket, channel, account_id, sku)
);
-- One SKU's rows (GET /api/products/:sku, the category moves below, the products' sort).
CREATE INDEX dashboard_skus_sku_idx ON dashboard_skus (tenant_id, sku, grain, bucket);
-- A bucket's best sellers first (dashboard_top_skus).
CREATE INDEX dashboard_skus_top_idx ON dashboard_skus (tenant_id, grain, bucket, revenue DESC);

-- By the category the SKU (products.sku = dashboard_skus.sku) has now; '' for none. A product's
-- category change moves its sums (products_dashboard_category below).
CREATE TABLE dashboard_categories (
    tenant_id    uuid NOT NULL,
    grain        "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket       date NOT NULL,
    channel      text NOT NULL,
    account_id   uuid NOT NULL,
    category     text NOT NULL,
    units        bigint NOT NULL DEFAULT 0,
    revenue      numeric(16, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, grain, bucket, channel, account_id, category)
);

-- Sold orders by hour of day (tenant's zone) and by the shipment's destination state.
CREATE TABLE dashboard_hours (
    tenant_id  uuid NOT NULL,
    grain      "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket     date NOT NULL,
    channel    text NOT NULL,
    account_id uuid NOT NULL,
    hour       smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    orders     bigint NOT NULL DEFAULT 0,
    revenue    numeric(16, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, grain, bucket, channel, account_id, hour)
);

CREATE TABLE dashboard_states (
    tenant_id  uuid NOT NULL,
    grain      "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket     date NOT NULL,
    channel    text NOT NULL,
    account_id uuid NOT NULL,
    state      text NOT NULL,
    orders     bigint NOT NULL DEFAULT 0,
    revenue    numeric(16, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, grain, bucket, channel, account_id, state)
);

-- --- products: each SKU's sales since its first order (GET /api/products sortBy=sales|profit) --
-- Kept with the SKUs' rows (dashboard_line_facts); all time, so no day has to leave it.
CREATE TABLE product_sales (
    tenant_id uuid NOT NULL,
    sku       text COLLATE "C" NOT NULL,
    units     bigint NOT NULL DEFAULT 0,
    revenue   numeric(16, 2) NOT NULL DEFAULT 0,
    profit    numeric(16, 2) NOT NULL DEFAULT 0, -- revenue less fees and product cost
    PRIMARY KEY (tenant_id, sku)
);

-- The two buckets of a day.
CREATE FUNCTION dashboard_buckets(day date) RETURNS TABLE (grain "char", bucket date)
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('d'::"char", day), ('m'::"char", date_trunc('month', day)::date)
$$;

-- A sold order's line as the rollups count it: the order's day and owner with the line's figures.
-- Callers join lines to their orders on the tables' indexes (or take an order as it was, OLD),
-- so the facts below never join two arrays (unnest has no statistics: a nested loop).
CREATE TYPE dashboard_line AS (
    tenant_id uuid, at timestamptz, channel text, account_id uuid, sku text COLLATE "C",
    title text, quantity integer, unit_price numeric, sale_fee numeric, unit_cost numeric
);
CREATE FUNCTION dashboard_line_of(o orders, i order_items) RETURNS dashboard_line
LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(o.tenant_id, o.date_created, o.channel, o.account_id,
               coalesce(i.sku, i.listing_external_id, ''), i.title, i.quantity, i.unit_price,
               i.sale_fee, i.unit_cost)::dashboard_line
$$;

-- The rollups' rows of sign x the lines ls (of sold orders), and of sign x the orders os (as they
-- are or were; the sold ones count), each row once per key: what the triggers add (upsert) and
-- what dashboard_rebuild inserts.
CREATE FUNCTION dashboard_line_days(ls dashboard_line[], sign integer)
RETURNS TABLE (tenant_id uuid, day date, channel text, account_id uuid, sku text, title text,
               units bigint, revenue numeric, fees numeric, product_cost numeric)
LANGUAGE sql STABLE AS $$
    SELECT l.tenant_id, (l.at AT TIME ZONE coalesce(z.timezone, 'UTC'))::date, l.channel,
           l.account_id, l.sku, max(l.title), sign * sum(l.quantity),
           sign * sum(l.quantity * coalesce(l.unit_price, 0)),
           sign * sum(l.quantity * coalesce(l.sale_fee, 0)),
           sign * sum(l.quantity * coalesce(l.unit_cost, 0))
    FROM unnest(ls) l LEFT JOIN tenants z ON z.id = l.tenant_id
    GROUP BY 1, 2, 3, 4, 5
$$;

CREATE FUNCTION dashboard_sku_rows(ls dashboard_line[], sign integer)
RETURNS SETOF dashboard_skus LANGUAGE sql STABLE AS $$
    SELECT t.tenant_id, b.grain, b.bucket, t.channel, t.account_id, t.sku, max(t.title),
           sum(t.units), sum(t.revenue), sum(t.fees), sum(t.product_cost)
    FROM dashboard_line_days(ls, sign) t, dashboard_buckets(t.day) b
    GROUP BY 1, 2, 3, 4, 5, 6
$$;

-- By the SKU's category now.
CREATE FUNCTION dashboard_category_rows(ls dashboard_line[], sign integer)
RETURNS SETOF dashboard_categories LANGUAGE sql STABLE AS $$
    SELECT t.tenant_id, b.grain, b.bucket, t.channel, t.account_id, coalesce(p.category, ''),
           sum(t.units), sum(t.revenue)
    FROM dashboard_line_days(ls, sign) t CROSS JOIN LATERAL dashboard_buckets(t.day) b
    LEFT JOIN products p ON p.tenant_id = t.tenant_id AND p.sku = t.sku
    GROUP BY 1, 2, 3, 4, 5, 6
$$;

-- By the hour of day of the order in the tenant's zone.
CREATE FUNCTION dashboard_hour_rows(os orders[], sign integer)
RETURNS SETOF dashboard_hours LANGUAGE sql STABLE AS $$
    SELECT o.tenant_id, b.grain, b.bucket, o.channel, o.account_id, extract(hour FROM o.at)::int,
           sign * count(*), sign * sum(o.total_amount)
    FROM (SELECT o.*, o.date_created AT TIME ZONE coalesce(z.timezone, 'UTC') AS at
          FROM unnest(os) o LEFT JOIN tenants z ON z.id = o.tenant_id
          WHERE dashboard_sold(o.status)) o, dashboard_buckets(o.at::date) b
    GROUP BY 1, 2, 3, 4, 5, 6
$$;

-- By the destination state of the order's shipment (none: not counted).
CREATE FUNCTION dashboard_state_rows(os orders[], sign integer)
RETURNS SETOF dashboard_states LANGUAGE sql STABLE AS $$
    SELECT o.tenant_id, b.grain, b.bucket, o.channel, o.account_id, s.dest_state,
           sign * count(*), sign * sum(o.total_amount)
    FROM unnest(os) o LEFT JOIN tenants z ON z.id = o.tenant_id
    JOIN shipments s ON s.tenant_id = o.tenant_id AND s.account_id = o.account_id
                    AND s.external_id = o.shipment_external_id
    CROSS JOIN LATERAL dashboard_buckets(
        (o.date_created AT TIME ZONE coalesce(z.timezone, 'UTC'))::date) b
    WHERE dashboard_sold(o.status) AND s.dest_state IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6
$$;

-- Adds sign x the lines ls to their SKUs' and categories' rows.
CREATE FUNCTION dashboard_line_facts(ls dashboard_line[], sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dashboard_skus AS d SELECT * FROM dashboard_sku_rows(ls, sign) ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (tenant_id, grain, bucket, channel, account_id, sku) DO UPDATE
    SET title = coalesce(excluded.title, d.title), units = d.units + excluded.units,
        revenue = d.revenue + excluded.revenue, fees = d.fees + excluded.fees,
        product_cost = d.product_cost + excluded.product_cost;
    INSERT INTO dashboard_categories AS d SELECT * FROM dashboard_category_rows(ls, sign)
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (tenant_id, grain, bucket, channel, account_id, category) DO UPDATE
    SET units = d.units + excluded.units, revenue = d.revenue + excluded.revenue;
    INSERT INTO product_sales AS d
    SELECT tenant_id, sku, sum(units), sum(revenue), sum(revenue - fees - product_cost)
    FROM dashboard_line_days(ls, sign) GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (tenant_id, sku) DO UPDATE
    SET units = d.units + excluded.units, revenue = d.revenue + excluded.revenue,
        profit = d.profit + excluded.profit;
$$;

-- Adds sign x the orders os to their hours' and states' rows.
CREATE FUNCTION dashboard_order_facts(os orders[], sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dashboard_hours AS d SELECT * FROM dashboard_hour_rows(os, sign) ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (tenant_id, grain, bucket, channel, account_id, hour) DO UPDATE
    SET orders = d.orders + excluded.orders, revenue = d.revenue + excluded.revenue;
    INSERT INTO dashboard_states AS d SELECT * FROM dashboard_state_rows(os, sign) ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (tenant_id, grain, bucket, channel, account_id, state) DO UPDATE
    SET orders = d.orders + excluded.orders, revenue = d.revenue + excluded.revenue;
$$;

-- The facts' triggers, beside 0019's (which sort before them by name, so the tenant's version
-- row is locked first, as 0019 orders its writers). orders: an insert adds its orders (and any
-- lines already there), per statement; a delete (BEFORE: its lines are still there) takes the
-- order out with its lines; an update that moves a figure, the order's day or its shipment takes
-- the old out and puts the new in.
CREATE FUNCTION dashboard_order_change(o orders, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF dashboard_sold(o.status) THEN
        PERFORM dashboard_order_facts(ARRAY[o], sign);
        PERFORM dashboard_line_facts(ARRAY(SELECT dashboard_line_of(o, i) FROM order_items i
                                           WHERE i.order_id = o.id), sign);
    END IF;
END $$;

CREATE FUNCTION dashboard_facts_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM dashboard_order_change(OLD, -1);
        RETURN OLD;
    END IF;
    IF (OLD.status, OLD.date_created, OLD.total_amount, OLD.account_id, OLD.channel,
        OLD.tenant_id, OLD.shipment_external_id) IS DISTINCT FROM
       (NEW.status, NEW.date_created, NEW.total_amount, NEW.account_id, NEW.channel,
        NEW.tenant_id, NEW.shipment_external_id) THEN
        PERFORM dashboard_order_change(OLD, -1);
        PERFORM dashboard_order_change(NEW, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER orders_facts_upd AFTER UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION dashboard_facts_orders();
CREATE TRIGGER orders_facts_del BEFORE DELETE ON orders
    FOR EACH ROW EXECUTE FUNCTION dashboard_facts_orders();

-- (A transition table's rows are records: the table's rows, just written, are its type.)
CREATE FUNCTION dashboard_facts_orders_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dashboard_order_facts(ARRAY(SELECT o FROM orders o
                                        WHERE o.id IN (SELECT id FROM new_rows)), 1);
    -- Lines written before their order (rare: a sync writes the order first).
    PERFORM dashboard_line_facts(ARRAY(
        SELECT dashboard_line_of(o, i) FROM orders o JOIN order_items i ON i.order_id = o.id
        WHERE o.id IN (SELECT id FROM new_rows) AND dashboard_sold(o.status)), 1);
    RETURN NULL;
END $$;
CREATE TRIGGER orders_facts_ins AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_facts_orders_ins();

-- order_items: a line of a sold order, updated or deleted, moves its facts; a line deleted by
-- its order's cascade finds no order (the order's delete took it out already).
CREATE FUNCTION dashboard_facts_items() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o orders;
BEGIN
    SELECT * INTO o FROM orders WHERE id = OLD.order_id;
    IF NOT FOUND OR NOT dashboard_sold(o.status) THEN
        RETURN NULL;
    END IF;
    PERFORM dashboard_line_facts(ARRAY[dashboard_line_of(o, OLD)], -1);
    IF TG_OP = 'UPDATE' THEN
        PERFORM dashboard_line_facts(ARRAY[dashboard_line_of(o, NEW)], 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER order_items_facts AFTER UPDATE OR DELETE ON order_items
    FOR EACH ROW EXECUTE FUNCTION dashboard_facts_items();

CREATE FUNCTION dashboard_facts_items_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dashboard_line_facts(ARRAY(
        SELECT dashboard_line_of(o, i) FROM order_items i JOIN orders o ON o.id = i.order_id
        WHERE i.id IN (SELECT id FROM new_rows) AND dashboard_sold(o.status)), 1);
    RETURN NULL;
END $$;
CREATE TRIGGER order_items_facts_ins AFTER INSERT ON order_items
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION dashboard_facts_items_ins();

-- A shipment's destination state, written or changed after its orders: their sums move from
-- the old state to the new one.
CREATE FUNCTION dashboard_shipments() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s shipments;
    os orders[];
BEGIN
    s := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    os := ARRAY(SELECT o FROM orders o WHERE o.account_id = s.account_id
                AND o.shipment_external_id = s.external_id AND o.tenant_id = s.tenant_id
                AND dashboard_sold(o.status));
    IF cardinality(os) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM dashboard_bump(s.tenant_id);
    INSERT INTO dashboard_states AS d (tenant_id, grain, bucket, channel, account_id, state,
                                       orders, revenue)
    SELECT o.tenant_id, b.grain, b.bucket, o.channel, o.account_id, x.state,
           sum(x.sign), sum(x.sign * o.total_amount)
    FROM unnest(os) o LEFT JOIN tenants z ON z.id = o.tenant_id
    CROSS JOIN (SELECT OLD.dest_state, -1 WHERE TG_OP <> 'INSERT'
                UNION ALL SELECT NEW.dest_state, 1 WHERE TG_OP <> 'DELETE') x(state, sign)
    CROSS JOIN LATERAL dashboard_buckets(
        (o.date_created AT TIME ZONE coalesce(z.timezone, 'UTC'))::date) b
    WHERE x.state IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (tenant_id, grain, bucket, channel, account_id, state) DO UPDATE
    SET orders = d.orders + excluded.orders, revenue = d.revenue + excluded.revenue;
    RETURN NULL;
END $$;
CREATE TRIGGER shipments_dashboard AFTER INSERT OR DELETE OR UPDATE OF dest_state ON shipments
    FOR EACH ROW EXECUTE FUNCTION dashboard_shipments();

-- A product's category set, changed or gone (its SKU's sums move from one category to the
-- other); its tenant's delete leaves nothing to move.
CREATE FUNCTION dashboard_product_category() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p products := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM dashboard_skus WHERE tenant_id = p.tenant_id AND sku = p.sku)
       OR NOT EXISTS (SELECT 1 FROM tenants WHERE id = p.tenant_id) THEN
        RETURN NULL;
    END IF;
    PERFORM dashboard_bump(p.tenant_id);
    INSERT INTO dashboard_categories AS d (tenant_id, grain, bucket, channel, account_id,
                                           category, units, revenue)
    SELECT s.tenant_id, s.grain, s.bucket, s.channel, s.account_id, x.category,
           sum(x.sign * s.units), sum(x.sign * s.revenue)
    FROM dashboard_skus s
    CROSS JOIN (SELECT coalesce(OLD.category, ''), -1 WHERE TG_OP <> 'INSERT'
                UNION ALL SELECT '', -1 WHERE TG_OP = 'INSERT'
                UNION ALL SELECT coalesce(NEW.category, ''), 1 WHERE TG_OP <> 'DELETE'
                UNION ALL SELECT '', 1 WHERE TG_OP = 'DELETE') x(category, sign)
    WHERE s.tenant_id = p.tenant_id AND s.sku = p.sku
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (tenant_id, grain, bucket, channel, account_id, category) DO UPDATE
    SET units = d.units + excluded.units, revenue = d.revenue + excluded.revenue;
    RETURN NULL;
END $$;
CREATE TRIGGER products_dashboard_category AFTER INSERT OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION dashboard_product_category();
CREATE TRIGGER products_dashboard_category_upd AFTER UPDATE OF category ON products
    FOR EACH ROW WHEN (OLD.category IS DISTINCT FROM NEW.category)
    EXECUTE FUNCTION dashboard_product_category();

CREATE OR REPLACE FUNCTION dashboard_forget_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dashboard_days WHERE tenant_id = OLD.id;
    DELETE FROM dashboard_versions WHERE tenant_id = OLD.id;
    DELETE FROM dashboard_skus WHERE tenant_id = OLD.id;
    DELETE FROM dashboard_categories WHERE tenant_id = OLD.id;
    DELETE FROM dashboard_hours WHERE tenant_id = OLD.id;
    DELETE FROM dashboard_states WHERE tenant_id = OLD.id;
    DELETE FROM product_sales WHERE tenant_id = OLD.id;
    RETURN NULL;
END $$;

-- One tenant's rollups recounted from its orders (after a bulk load with the triggers off, or
-- a change of the tenant's time zone), a month of the tenant's zone at a time: the rows of two
-- months never share a key, so they are inserted, not merged.
CREATE FUNCTION dashboard_rebuild(tenant uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tz text := coalesce((SELECT timezone FROM tenants WHERE id = tenant), 'UTC');
    m timestamp;
    os orders[];
    ls dashboard_line[];
BEGIN
    PERFORM dashboard_bump(tenant);
    DELETE FROM dashboard_days WHERE tenant_id = tenant;
    DELETE FROM dashboard_skus WHERE tenant_id = tenant;
    DELETE FROM dashboard_categories WHERE tenant_id = tenant;
    DELETE FROM dashboard_hours WHERE tenant_id = tenant;
    DELETE FROM dashboard_states WHERE tenant_id = tenant;
    INSERT INTO dashboard_days (tenant_id, day, channel, account_id, orders, sold, revenue,
                                units, fees, product_cost)
    SELECT o.tenant_id, (o.date_created AT TIME ZONE tz)::date, o.channel, o.account_id,
           count(*), count(*) FILTER (WHERE dashboard_sold(o.status)),
           coalesce(sum(o.total_amount) FILTER (WHERE dashboard_sold(o.status)), 0),
           coalesce(sum(i.u) FILTER (WHERE dashboard_sold(o.status)), 0),
           coalesce(sum(i.f) FILTER (WHERE dashboard_sold(o.status)), 0),
           coalesce(sum(i.c) FILTER (WHERE dashboard_sold(o.status)), 0)
    FROM orders o
    LEFT JOIN (SELECT order_id, sum(quantity) AS u, sum(coalesce(sale_fee, 0) * quantity) AS f,
                      sum(coalesce(unit_cost, 0) * quantity) AS c
               FROM order_items WHERE tenant_id = tenant GROUP BY 1) i ON i.order_id = o.id
    WHERE o.tenant_id = tenant
    GROUP BY 1, 2, 3, 4;
    FOR m IN SELECT DISTINCT date_trunc('month', date_created AT TIME ZONE tz) FROM orders
             WHERE tenant_id = tenant ORDER BY 1 LOOP
        os := ARRAY(SELECT o FROM orders o WHERE o.tenant_id = tenant
                    AND o.date_created >= m AT TIME ZONE tz
                    AND o.date_created < (m + interval '1 month') AT TIME ZONE tz);
        ls := ARRAY(SELECT dashboard_line_of(o, i) FROM unnest(os) o
                    JOIN order_items i ON i.order_id = o.id WHERE dashboard_sold(o.status));
        INSERT INTO dashboard_hours SELECT * FROM dashboard_hour_rows(os, 1);
        INSERT INTO dashboard_states SELECT * FROM dashboard_state_rows(os, 1);
        INSERT INTO dashboard_skus SELECT * FROM dashboard_sku_rows(ls, 1);
        INSERT INTO dashboard_categories SELECT * FROM dashboard_category_rows(ls, 1);
    END LOOP;
    DELETE FROM product_sales WHERE tenant_id = tenant;
    INSERT INTO product_sales (tenant_id, sku, units, revenue, profit)
    SELECT tenant_id, sku, sum(units), sum(revenue), sum(revenue - fees - product_cost)
    FROM dashboard_skus WHERE tenant_id = tenant AND grain = 'm' GROUP BY 1, 2;
END $$;

-- The n SKUs of most revenue from day s to day e (ties by SKU), with the channel and account
-- filters (NULL: all), without summing every SKU of the period: the threshold algorithm over the
-- period's buckets (its whole months, its edge days). The first k rows of each bucket by revenue
-- name the candidates, summed exactly over the period; a SKU none of whose rows is among them has
-- at most `accounts` rows per bucket, each no more than the bucket's (k+1)-th, so when the n-th
-- candidate sums more than that bound no other SKU can pass it. Else k grows; past 4096 every
-- SKU of the period is summed.
CREATE FUNCTION dashboard_top_skus(tenant uuid, s date, e date, ch text, account uuid, n integer)
RETURNS TABLE (sku text, title text, units numeric, revenue numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    ms date := (date_trunc('month', s - 1) + interval '1 month')::date; -- whole months from
    me date := date_trunc('month', e + 1)::date;                        -- ... up to (excluded)
    k integer := 16;
    accounts integer;
    bound numeric;
    cands text[];
    nth numeric;
    found integer;
BEGIN
    SELECT count(DISTINCT (d.channel, d.account_id)) INTO accounts FROM dashboard_days d
    WHERE d.tenant_id = tenant AND d.day BETWEEN s AND e
      AND (ch IS NULL OR d.channel = ch) AND (account IS NULL OR d.account_id = account);
    WHILE k <= 4096 LOOP
        WITH b AS (SELECT 'm'::"char" AS g, x::date AS bk
                   FROM generate_series(ms, me - 1, interval '1 month') x WHERE ms < me
                   UNION ALL
                   SELECT 'd', x::date FROM generate_series(s, e, interval '1 day') x
                   WHERE x::date < ms OR x::date >= me),
             t AS (SELECT b.g, b.bk, r.sku, r.revenue, r.rn FROM b CROSS JOIN LATERAL (
                       SELECT d.sku, d.revenue, row_number() OVER (ORDER BY d.revenue DESC) AS rn
                       FROM dashboard_skus d
                       WHERE d.tenant_id = tenant AND d.grain = b.g AND d.bucket = b.bk
                         AND (ch IS NULL OR d.channel = ch)
                         AND (account IS NULL OR d.account_id = account)
                       ORDER BY d.revenue DESC LIMIT k + 1) r)
        SELECT array_agg(DISTINCT t.sku) FILTER (WHERE t.rn <= k),
               coalesce(sum(greatest(t.revenue, 0)) FILTER (WHERE t.rn = k + 1), 0)
        INTO cands, bound FROM t;
        bound := bound * accounts;
        SELECT count(*), min(x.revenue) INTO found, nth FROM (
            SELECT sum(d.revenue) AS revenue FROM dashboard_skus d
            WHERE d.tenant_id = tenant AND d.sku = ANY (cands)
              AND (ch IS NULL OR d.channel = ch) AND (account IS NULL OR d.account_id = account)
              AND ((d.grain = 'm' AND d.bucket >= ms AND d.bucket < me)
                   OR (d.grain = 'd' AND d.bucket BETWEEN s AND e
                       AND (d.bucket < ms OR d.bucket >= me)))
            GROUP BY d.sku ORDER BY 1 DESC LIMIT n) x;
        EXIT WHEN bound = 0 OR (found = n AND nth > bound);
        k := k * 4;
    END LOOP;
    IF k > 4096 THEN
        cands := NULL; -- every SKU
    END IF;
    RETURN QUERY
    SELECT d.sku::text, max(d.title), sum(d.units)::numeric, sum(d.revenue) FROM dashboard_skus d
    WHERE d.tenant_id = tenant AND (cands IS NULL OR d.sku = ANY (cands))
      AND (ch IS NULL OR d.channel = ch) AND (account IS NULL OR d.account_id = account)
      AND ((d.grain = 'm' AND d.bucket >= ms AND d.bucket < me)
           OR (d.grain = 'd' AND d.bucket BETWEEN s AND e AND (d.bucket < ms OR d.bucket >= me)))
    GROUP BY d.sku HAVING sum(d.units) <> 0 OR sum(d.revenue) <> 0
    ORDER BY 4 DESC, 1 LIMIT n;
END $$;

SELECT dashboard_rebuild(id) FROM tenants;

