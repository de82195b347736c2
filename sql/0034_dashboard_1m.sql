-- The dashboard at a million orders (issue 20, dash1m).
--
-- 1. dashboard_rebuild recounts a tenant set-based: each rollup is one INSERT ... SELECT ...
--    GROUP BY over the tenant's orders and lines (0029's rebuilt them a month at a time through
--    arrays and did not finish in 71 minutes at 1,000,000 orders). The rows are what 0029's
--    triggers make: same keys, same sums.
-- 2. Every bump of a tenant's dashboard version is announced at commit on the channel
--    dashboard_versions (payload "<tenant> <version>"), so the processes keep a copy of the
--    versions in Redis and a cached dashboard needs no PostgreSQL round trip (src/dashboard_cache.c).

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

CREATE OR REPLACE FUNCTION dashboard_rebuild(tenant uuid) RETURNS void LANGUAGE plpgsql
SET work_mem = '64MB' AS $$
DECLARE
    tz text := coalesce((SELECT timezone FROM tenants WHERE id = tenant), 'UTC');
BEGIN
    PERFORM dashboard_bump(tenant);
    DELETE FROM dashboard_days WHERE tenant_id = tenant;
    DELETE FROM dashboard_skus WHERE tenant_id = tenant;
    DELETE FROM dashboard_categories WHERE tenant_id = tenant;
    DELETE FROM dashboard_hours WHERE tenant_id = tenant;
    DELETE FROM dashboard_states WHERE tenant_id = tenant;
    DELETE FROM product_sales WHERE tenant_id = tenant;

    -- The sold lines by day and SKU, once; every SKU-keyed rollup is a GROUP BY of these.
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
    FROM rebuild_lines;
    INSERT INTO dashboard_skus
    SELECT tenant, 'm', date_trunc('month', day)::date, channel, account_id, sku, max(title),
           sum(units), sum(revenue), sum(fees), sum(product_cost)
    FROM rebuild_lines GROUP BY 3, 4, 5, 6;

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
