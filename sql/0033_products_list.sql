-- GET /api/products at 50,000 SKUs a tenant (issue 20: p99 < 30 ms): a page reads about limit
-- rows through an index of its sort key instead of sorting every SKU, and the unfiltered
-- aggregations come from per-tenant totals kept at write time instead of a pass over every SKU.

-- A product's margin (%), as the API shows it; none without a price above 0 and a cost.
CREATE FUNCTION product_margin(price numeric, cost numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN price > 0 AND cost IS NOT NULL THEN round((price - cost) / price * 100, 2) END
$$;

-- Seconds since the epoch: the same whatever the zone (extract is only STABLE for timestamptz,
-- as other fields depend on it), so an index may hold it.
CREATE FUNCTION product_epoch(at timestamptz) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT extract(epoch FROM at) $$;

-- --- the SKU's sales on its row (sortBy=sales|profit) ------------------------------------------
-- A copy of product_sales (sql/0029), kept by the triggers below, so that the sorts by sales and
-- profit are indexes of products with its filters' columns beside them.
ALTER TABLE products ADD COLUMN sales_units bigint NOT NULL DEFAULT 0,
                     ADD COLUMN sales_revenue numeric(16, 2) NOT NULL DEFAULT 0,
                     ADD COLUMN sales_profit numeric(16, 2) NOT NULL DEFAULT 0;
UPDATE products p SET sales_units = s.units, sales_revenue = s.revenue, sales_profit = s.profit
FROM product_sales s WHERE s.tenant_id = p.tenant_id AND s.sku = p.sku;

-- A sale is not a change of the product: its copy leaves updated_at alone (nothing else writes
-- these columns).
DROP TRIGGER products_updated_at ON products;
CREATE TRIGGER products_updated_at BEFORE UPDATE ON products FOR EACH ROW
    WHEN ((OLD.sales_units, OLD.sales_revenue, OLD.sales_profit) IS NOT DISTINCT FROM
          (NEW.sales_units, NEW.sales_revenue, NEW.sales_profit))
    EXECUTE FUNCTION set_updated_at();

-- A product made after its SKU sold starts with those sales.
CREATE FUNCTION products_sales_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.units, s.revenue, s.profit INTO NEW.sales_units, NEW.sales_revenue, NEW.sales_profit
    FROM product_sales s WHERE s.tenant_id = NEW.tenant_id AND s.sku = NEW.sku;
    IF NOT FOUND THEN
        NEW.sales_units := 0;
        NEW.sales_revenue := 0;
        NEW.sales_profit := 0;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER products_sales_ins BEFORE INSERT ON products
    FOR EACH ROW EXECUTE FUNCTION products_sales_ins();

-- product_sales written (a statement's rows): their products copy it again, locked in (tenant,
-- SKU) order as 0018's stock functions lock them, so that two writers never wait on each other
-- in a circle.
CREATE FUNCTION product_sales_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM products p
    JOIN (SELECT DISTINCT tenant_id, sku FROM changed_rows) c
      ON p.tenant_id = c.tenant_id AND p.sku = c.sku
    ORDER BY p.tenant_id, p.sku FOR UPDATE OF p;
    UPDATE products p SET sales_units = coalesce(s.units, 0),
                          sales_revenue = coalesce(s.revenue, 0),
                          sales_profit = coalesce(s.profit, 0)
    FROM (SELECT DISTINCT tenant_id, sku FROM changed_rows) c
    LEFT JOIN product_sales s ON s.tenant_id = c.tenant_id AND s.sku = c.sku
    WHERE p.tenant_id = c.tenant_id AND p.sku = c.sku
      AND (p.sales_units, p.sales_revenue, p.sales_profit) IS DISTINCT FROM
          (coalesce(s.units, 0), coalesce(s.revenue, 0), coalesce(s.profit, 0));
    RETURN NULL;
END $$;
CREATE TRIGGER product_sales_copy_ins AFTER INSERT ON product_sales
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT
    EXECUTE FUNCTION product_sales_copy();
CREATE TRIGGER product_sales_copy_upd AFTER UPDATE ON product_sales
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT
    EXECUTE FUNCTION product_sales_copy();
CREATE TRIGGER product_sales_copy_del AFTER DELETE ON product_sales
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT
    EXECUTE FUNCTION product_sales_copy();

-- --- the sorts' indexes ------------------------------------------------------------------------
-- The list orders by (key, sku) ascending, the key negated for a descending order and none last
-- either way (src/products.c's SORT_KEY_*: the expressions must stay the same as these).
CREATE INDEX products_sales_asc_idx ON products (tenant_id, sales_revenue, sku);
CREATE INDEX products_sales_desc_idx ON products (tenant_id, (-sales_revenue), sku);
CREATE INDEX products_profit_asc_idx ON products (tenant_id, sales_profit, sku);
CREATE INDEX products_profit_desc_idx ON products (tenant_id, (-sales_profit), sku);
CREATE INDEX products_stock_asc_idx ON products (tenant_id, (available::numeric), sku);
CREATE INDEX products_stock_desc_idx ON products (tenant_id, (-available::numeric), sku);
CREATE INDEX products_margin_asc_idx
    ON products (tenant_id, (coalesce(product_margin(price, cost), 1e20)), sku);
CREATE INDEX products_margin_desc_idx
    ON products (tenant_id, (coalesce(-product_margin(price, cost), 1e20)), sku);
CREATE INDEX products_updated_asc_idx ON products (tenant_id, (product_epoch(updated_at)), sku);
CREATE INDEX products_updated_desc_idx
    ON products (tenant_id, (-product_epoch(updated_at)), sku);
CREATE INDEX products_category_idx ON products (tenant_id, category);
CREATE INDEX products_brand_idx ON products (tenant_id, brand);
-- search: a substring of the SKU or the title, any case.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX products_search_idx ON products USING gin (sku gin_trgm_ops, title gin_trgm_ops);

-- --- the unfiltered aggregations, per tenant, and the products' version ------------------------
-- Each statement that writes products adds one row per tenant of what it changed (inserts
-- never wait on each other, where one row per tenant would be a lock every writer of the
-- tenant's products takes until it commits, in whatever order it wrote its SKUs); a tenant's
-- totals are the sum of its rows, which a writer folds into one now and then.
-- The rows are also the version of what a list filters on (the products' columns and their
-- listings' channels): every such change adds a row, zero when no total moved. (count, max id)
-- of a tenant's rows differs after any change: a commit adds a row; a fold removes rows but adds
-- one whose id is above every id committed before it. A filtered list's aggregations are cached
-- in Redis under it (src/products.c).
CREATE TABLE product_totals (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    products    bigint NOT NULL,
    value       numeric NOT NULL,  -- Σ on_hand × cost (none: 0)
    margin_sum  numeric NOT NULL,  -- Σ margin over the products that have one
    margins     bigint NOT NULL,   -- how many have one
    low         bigint NOT NULL    -- available at or under min_stock_alert (default 5)
);
CREATE INDEX product_totals_tenant_idx ON product_totals (tenant_id);

-- What the totals count of a product row, signed: +1 as it is now, -1 as it was.
CREATE TYPE product_figures AS (
    tenant_id uuid, sign integer, on_hand integer, cost numeric, price numeric,
    available integer, min_stock_alert integer
);

-- Adds the rows fs to the totals of the tenants changed (one row each, zero when nothing moved).
CREATE FUNCTION product_totals_add(fs product_figures[], changed uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
BEGIN
    FOR t IN
        WITH s AS (SELECT d.tenant_id, sum(d.sign) AS products,
                          sum(d.sign * d.on_hand * coalesce(d.cost, 0)) AS value,
                          coalesce(sum(d.sign * product_margin(d.price, d.cost)), 0)
                              AS margin_sum,
                          coalesce(sum(d.sign) FILTER (
                              WHERE product_margin(d.price, d.cost) IS NOT NULL), 0) AS margins,
                          coalesce(sum(d.sign) FILTER (
                              WHERE d.available <= coalesce(d.min_stock_alert, 5)), 0) AS low
                   FROM unnest(fs) d GROUP BY 1),
             ins AS (INSERT INTO product_totals (tenant_id, products, value, margin_sum,
                                                 margins, low)
                     SELECT c.t, coalesce(s.products, 0), coalesce(s.value, 0),
                            coalesce(s.margin_sum, 0), coalesce(s.margins, 0),
                            coalesce(s.low, 0)
                     FROM (SELECT DISTINCT x AS t FROM unnest(changed) x ORDER BY 1) c
                     LEFT JOIN s ON s.tenant_id = c.t
                     -- (a tenant's delete takes its products after the tenant)
                     WHERE EXISTS (SELECT 1 FROM tenants WHERE id = c.t)
                     RETURNING tenant_id)
        SELECT DISTINCT tenant_id FROM ins
    LOOP
        -- Folded by one writer at a time (the others skip it).
        IF (SELECT count(*) FROM product_totals WHERE tenant_id = t) > 16
           AND pg_try_advisory_xact_lock(33, hashtext(t::text)) THEN
            WITH gone AS (DELETE FROM product_totals WHERE tenant_id = t RETURNING *)
            INSERT INTO product_totals (tenant_id, products, value, margin_sum, margins, low)
            SELECT t, sum(products), sum(value), sum(margin_sum), sum(margins), sum(low)
            FROM gone;
        END IF;
    END LOOP;
END $$;

-- (A transition table's rows are records: their columns are named.) An update changes a tenant
-- when a column a list filters on or totals moved in one of its rows.
CREATE FUNCTION products_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM product_totals_add(ARRAY(
            SELECT ROW(n.tenant_id, 1, n.on_hand, n.cost, n.price, n.available,
                       n.min_stock_alert)::product_figures FROM new_rows n),
            ARRAY(SELECT tenant_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM product_totals_add(ARRAY(
            SELECT ROW(o.tenant_id, -1, o.on_hand, o.cost, o.price, o.available,
                       o.min_stock_alert)::product_figures FROM old_rows o),
            ARRAY(SELECT tenant_id FROM old_rows));
    ELSE
        PERFORM product_totals_add(ARRAY(
            SELECT ROW(n.tenant_id, 1, n.on_hand, n.cost, n.price, n.available,
                       n.min_stock_alert)::product_figures FROM new_rows n
            UNION ALL
            SELECT ROW(o.tenant_id, -1, o.on_hand, o.cost, o.price, o.available,
                       o.min_stock_alert)::product_figures FROM old_rows o),
            ARRAY(SELECT DISTINCT tenant_id FROM (
                SELECT tenant_id, sku, title, brand, category, price, cost, on_hand, available,
                       min_stock_alert, max_stock, active FROM new_rows
                EXCEPT ALL
                SELECT tenant_id, sku, title, brand, category, price, cost, on_hand, available,
                       min_stock_alert, max_stock, active FROM old_rows) x));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER products_totals_ins AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION products_totals();
CREATE TRIGGER products_totals_upd AFTER UPDATE ON products
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_totals();
CREATE TRIGGER products_totals_del AFTER DELETE ON products
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION products_totals();

-- A listing's SKU or channel written: the channel filter's answer may change (a version row).
CREATE FUNCTION listings_products_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM product_totals_add('{}', ARRAY(SELECT tenant_id FROM new_rows
                                               WHERE sku IS NOT NULL));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM product_totals_add('{}', ARRAY(SELECT tenant_id FROM old_rows
                                               WHERE sku IS NOT NULL));
    ELSE
        PERFORM product_totals_add('{}', ARRAY(SELECT DISTINCT tenant_id FROM (
            (SELECT tenant_id, sku, channel FROM new_rows WHERE sku IS NOT NULL
             EXCEPT ALL SELECT tenant_id, sku, channel FROM old_rows WHERE sku IS NOT NULL)
            UNION ALL
            (SELECT tenant_id, sku, channel FROM old_rows WHERE sku IS NOT NULL
             EXCEPT ALL SELECT tenant_id, sku, channel FROM new_rows WHERE sku IS NOT NULL)) x));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER listings_products_version_ins AFTER INSERT ON listings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION listings_products_version();
CREATE TRIGGER listings_products_version_upd AFTER UPDATE ON listings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION listings_products_version();
CREATE TRIGGER listings_products_version_del AFTER DELETE ON listings
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION listings_products_version();

-- A tenant's delete: its totals go (its products' deletes, after, add none).
CREATE FUNCTION product_totals_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM product_totals WHERE tenant_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER tenants_product_totals_forget AFTER DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION product_totals_forget();

INSERT INTO product_totals (tenant_id, products, value, margin_sum, margins, low)
SELECT tenant_id, count(*), sum(on_hand * coalesce(cost, 0)),
       coalesce(sum(product_margin(price, cost)), 0), count(product_margin(price, cost)),
       count(*) FILTER (WHERE available <= coalesce(min_stock_alert, 5))
FROM products GROUP BY 1;
