-- The dashboard at a million orders (issue 20, dash1m).
--
-- 1. dashboard_rebuild recounts a tenant set-based: each rollup is one INSERT ... SELECT ...
--    GROUP BY over the tenant's orders and lines (0029's rebuilt them a month at a time through
--    arrays and did not finish in 71 minutes at 1,000,000 orders). The rows are what 0029's
--    triggers make: same keys, same sums.
-- 2. Every bump of a tenant's dashboard version is announced at commit on the channel
--    dashboard_versions (payload "<tenant> <version>"), so the processes keep a copy of the
--    versions in Redis and a cached dashboard needs no PostgreSQL round trip
--    (src/dashboard_versions.c).
-- 3. The top products of an unfiltered dashboard from per-SKU totals over every channel and
--    account (dashboard_sku_totals, dashboard_top_totals).

CREATE OR REPLACE FUNCTION dashboard_bump(tenant uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    done text := coalesce(current_setting('dashboard.bumped', true), '');
    v bigint;
BEGIN
    IF position(tenant::text IN done) > 0 THEN
        RETURN;
    END IF;
    INSERT INTO dashboard_versions AS d (tenant_id, version) VALUES (tenant, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = d.version + 1
    RETURNING version INTO v;
    PERFORM set_config('dashboard.bumped', done || tenant::text, true);
    PERFORM pg_notify('dashboard_versions', tenant::text || ' ' || v);
END $$;

-- The top products without the filters (the common case) from the SKUs' sums over every channel
-- and account, per bucket at both grains: the threshold algorithm of dashboard_top_skus (0029)
-- over these needs no bound of `accounts` x a bucket's (k+1)-th row, so its first round settles
-- it far more often, and each bucket has one row per SKU.
CREATE TABLE dashboard_sku_totals (
    tenant_id uuid NOT NULL,
    grain     "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket    date NOT NULL,
    sku       text COLLATE "C" NOT NULL,
    title     text,
    units     bigint NOT NULL DEFAULT 0,
    revenue   numeric(16, 2) NOT NULL DEFAULT 0,
    -- SKU first: the candidates' exact sums read each one's buckets as one range.
    PRIMARY KEY (tenant_id, sku, grain, bucket)
);
-- A bucket's best sellers first.
CREATE INDEX dashboard_sku_totals_top_idx
    ON dashboard_sku_totals (tenant_id, grain, bucket, revenue DESC);

INSERT INTO dashboard_sku_totals
SELECT tenant_id, grain, bucket, sku, max(title), sum(units), sum(revenue)
FROM dashboard_skus GROUP BY 1, 2, 3, 4;

-- 0029's facts of lines, and the totals beside them.
ALTER FUNCTION dashboard_line_facts(dashboard_line[], integer)
    RENAME TO dashboard_line_account_facts;
CREATE FUNCTION dashboard_line_facts(ls dashboard_line[], sign integer) RETURNS void
LANGUAGE sql AS $$
    SELECT dashboard_line_account_facts(ls, sign);
    INSERT INTO dashboard_sku_totals AS d
    SELECT tenant_id, grain, bucket, sku, max(title), sum(units), sum(revenue)
    FROM dashboard_sku_rows(ls, sign) GROUP BY 1, 4, 2, 3 ORDER BY 1, 4, 2, 3
    ON CONFLICT (tenant_id, sku, grain, bucket) DO UPDATE
    SET title = coalesce(excluded.title, d.title), units = d.units + excluded.units,
        revenue = d.revenue + excluded.revenue;
$$;

-- A tenant's delete (as dashboard_forget_tenant).
CREATE FUNCTION dashboard_forget_tenant_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dashboard_sku_totals WHERE tenant_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER tenants_dashboard_forget_totals AFTER DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION dashboard_forget_tenant_totals();

-- The n SKUs of most revenue from day s to day e over every channel and account (ties by SKU):
-- dashboard_top_skus' threshold algorithm on the totals. The first k rows of each bucket name
-- the candidates, summed exactly over the period; a SKU none of whose rows is among them sums
-- at most the buckets' (k+1)-th rows, so when the n-th candidate sums more than that no other
-- SKU can pass it, and the candidates' first n are the answer. Else k grows; past 4096 every
-- SKU of the period is summed.
CREATE FUNCTION dashboard_top_totals(tenant uuid, s date, e date, n integer)
RETURNS TABLE (sku text, title text, units numeric, revenue numeric)
-- Plans for the candidates at hand: a generic plan (a session's sixth call on) reads the period's
-- buckets by the top index and filters the candidates out of every row (5 s at 1 M orders).
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    ms date := (date_trunc('month', s - 1) + interval '1 month')::date; -- whole months from
    me date := date_trunc('month', e + 1)::date;                        -- ... up to (excluded)
    k integer := 16;
    bound numeric;
    cands text[];
    skus text[];
    titles text[];
    u numeric[];
    r numeric[];
BEGIN
    LOOP
        IF k <= 4096 THEN
            WITH b AS (SELECT 'm'::"char" AS g, x::date AS bk
                       FROM generate_series(ms, me - 1, interval '1 month') x WHERE ms < me
                       UNION ALL
                       SELECT 'd', x::date FROM generate_series(s, e, interval '1 day') x
                       WHERE x::date < ms OR x::date >= me),
                 t AS (SELECT x.sku, x.revenue, x.rn FROM b CROSS JOIN LATERAL (
                           SELECT d.sku, d.revenue,
                                  row_number() OVER (ORDER BY d.revenue DESC) AS rn
                           FROM dashboard_sku_totals d
                           WHERE d.tenant_id = tenant AND d.grain = b.g AND d.bucket = b.bk
                           ORDER BY d.revenue DESC LIMIT k + 1) x)
            SELECT array_agg(DISTINCT t.sku) FILTER (WHERE t.rn <= k),
                   coalesce(sum(greatest(t.revenue, 0)) FILTER (WHERE t.rn = k + 1), 0)
            INTO cands, bound FROM t;
            IF cardinality(cands) > 1000 THEN
                cands := NULL; -- sales spread thin: summing every SKU is cheaper
            END IF;
        ELSE
            cands := NULL; -- every SKU
        END IF;
        -- The candidates' (or every SKU's) first n, in the answer's order.
        SELECT array_agg(x.sku ORDER BY x.o), array_agg(x.title ORDER BY x.o),
               array_agg(x.units ORDER BY x.o), array_agg(x.revenue ORDER BY x.o)
        INTO skus, titles, u, r FROM (
            SELECT d.sku::text AS sku, max(d.title) AS title, sum(d.units)::numeric AS units,
                   sum(d.revenue) AS revenue,
                   row_number() OVER (ORDER BY sum(d.revenue) DESC, d.sku) AS o
            FROM dashboard_sku_totals d
            WHERE d.tenant_id = tenant AND (cands IS NULL OR d.sku = ANY (cands))
              AND ((d.grain = 'm' AND d.bucket >= ms AND d.bucket < me)
                   OR (d.grain = 'd' AND d.bucket BETWEEN s AND e
                       AND (d.bucket < ms OR d.bucket >= me)))
            GROUP BY d.sku HAVING sum(d.units) <> 0 OR sum(d.revenue) <> 0
            ORDER BY 4 DESC, 1 LIMIT n) x;
        EXIT WHEN cands IS NULL OR bound = 0
                  OR (cardinality(skus) = n AND r[n] > bound);
        k := k * 4;
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(skus, titles, u, r);
END $$;

-- The same for 0029's (a channel or account filter).
ALTER FUNCTION dashboard_top_skus(uuid, date, date, text, uuid, integer)
    SET plan_cache_mode = force_custom_plan;

CREATE OR REPLACE FUNCTION dashboard_rebuild(tenant uuid) RETURNS void LANGUAGE plpgsql
SET work_mem = '64MB' AS $$
DECLARE
    tz text := coalesce((SELECT timezone FROM tenants WHERE id = tenant), 'UTC');
BEGIN
    PERFORM dashboard_bump(tenant);
    DELETE FROM dashboard_days WHERE tenant_id = tenant;
    DELETE FROM dashboard_skus WHERE tenant_id = tenant;
    DELETE FROM dashboard_sku_totals WHERE tenant_id = tenant;
    DELETE FROM dashboard_categories WHERE tenant_id = tenant;
    DELETE FROM dashboard_hours WHERE tenant_id = tenant;
    DELETE FROM dashboard_states WHERE tenant_id = tenant;
    DELETE FROM product_sales WHERE tenant_id = tenant;

    -- The sold lines by day and SKU, once; every SKU-keyed rollup is a GROUP BY of these, each
    -- inserted in its primary key's order (its index then grows at the end, not all over).
    CREATE TEMP TABLE rebuild_lines ON COMMIT DROP AS
    SELECT (o.date_created AT TIME ZONE tz)::date AS day, o.channel, o.account_id,
           coalesce(i.sku, i.listing_external_id, '') COLLATE "C" AS sku, max(i.title) AS title,
           sum(i.quantity)::bigint AS units,
           sum(i.quantity * coalesce(i.unit_price, 0)) AS revenue,
           sum(i.quantity * coalesce(i.sale_fee, 0)) AS fees,
           sum(i.quantity * coalesce(i.unit_cost, 0)) AS product_cost
    FROM orders o JOIN order_items i ON i.order_id = o.id
    WHERE o.tenant_id = tenant AND dashboard_sold(o.status)
    GROUP BY 1, 2, 3, 4;

    INSERT INTO dashboard_days (tenant_id, day, channel, account_id, orders, sold, revenue,
                                units, fees, product_cost)
    SELECT tenant, coalesce(o.day, l.day), coalesce(o.channel, l.channel),
           coalesce(o.account_id, l.account_id), coalesce(o.orders, 0), coalesce(o.sold, 0),
           coalesce(o.revenue, 0), coalesce(l.units, 0), coalesce(l.fees, 0),
           coalesce(l.product_cost, 0)
    FROM (SELECT (date_created AT TIME ZONE tz)::date AS day, channel, account_id,
                 count(*) AS orders, count(*) FILTER (WHERE dashboard_sold(status)) AS sold,
                 coalesce(sum(total_amount) FILTER (WHERE dashboard_sold(status)), 0) AS revenue
          FROM orders WHERE tenant_id = tenant GROUP BY 1, 2, 3) o
    FULL JOIN (SELECT day, channel, account_id, sum(units) AS units, sum(fees) AS fees,
                      sum(product_cost) AS product_cost
               FROM rebuild_lines GROUP BY 1, 2, 3) l
        ON l.day = o.day AND l.channel = o.channel AND l.account_id = o.account_id;

    INSERT INTO dashboard_skus
    SELECT tenant, 'd', day, channel, account_id, sku, title, units, revenue, fees, product_cost
    FROM rebuild_lines ORDER BY 3, 4, 5, 6;
    INSERT INTO dashboard_skus
    SELECT tenant, 'm', date_trunc('month', day)::date, channel, account_id, sku, max(title),
           sum(units), sum(revenue), sum(fees), sum(product_cost)
    FROM rebuild_lines GROUP BY 3, 4, 5, 6 ORDER BY 3, 4, 5, 6;
    INSERT INTO dashboard_sku_totals
    SELECT tenant, b.grain, b.bucket, l.sku, max(l.title), sum(l.units), sum(l.revenue)
    FROM rebuild_lines l CROSS JOIN LATERAL dashboard_buckets(l.day) b
    GROUP BY 4, 2, 3 ORDER BY 4, 2, 3;

    INSERT INTO dashboard_categories
    SELECT tenant, b.grain, b.bucket, l.channel, l.account_id, coalesce(p.category, ''),
           sum(l.units), sum(l.revenue)
    FROM rebuild_lines l LEFT JOIN products p ON p.tenant_id = tenant AND p.sku = l.sku
    CROSS JOIN LATERAL dashboard_buckets(l.day) b
    GROUP BY 2, 3, 4, 5, 6;

    INSERT INTO product_sales (tenant_id, sku, units, revenue, profit)
    SELECT tenant, sku, sum(units), sum(revenue), sum(revenue - fees - product_cost)
    FROM rebuild_lines GROUP BY 2;

    INSERT INTO dashboard_hours
    SELECT tenant, b.grain, b.bucket, o.channel, o.account_id, extract(hour FROM o.at)::int,
           count(*), sum(o.total_amount)
    FROM (SELECT channel, account_id, total_amount, date_created AT TIME ZONE tz AS at
          FROM orders WHERE tenant_id = tenant AND dashboard_sold(status)) o
    CROSS JOIN LATERAL dashboard_buckets(o.at::date) b
    GROUP BY 2, 3, 4, 5, 6;

    INSERT INTO dashboard_states
    SELECT tenant, b.grain, b.bucket, o.channel, o.account_id, s.dest_state, count(*),
           sum(o.total_amount)
    FROM orders o
    JOIN shipments s ON s.tenant_id = tenant AND s.account_id = o.account_id
                    AND s.external_id = o.shipment_external_id
    CROSS JOIN LATERAL dashboard_buckets((o.date_created AT TIME ZONE tz)::date) b
    WHERE o.tenant_id = tenant AND dashboard_sold(o.status) AND s.dest_state IS NOT NULL
    GROUP BY 2, 3, 4, 5, 6;

    DROP TABLE rebuild_lines;
END $$;
