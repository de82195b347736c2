-- Stock pushes: when a SKU's available changes, for whatever cause, every listing (or listing
-- variation) linked to it that offers another quantity is asked for the new one by a durable,
-- coalescing job. One row per target holds the newest value wanted and the one job in flight
-- for it; the job reads the row when it runs, so ten changes while it waits are one push.
-- And the oversell guard: an order line that finds less available than it takes flags its order.

-- variation: the channel's id of the variation, '' for the listing itself. version grows with
-- each request; the job pushes until the version it pushed is the row's (stock_push.c).
-- forced: push even when the listing already shows the value (stock_push_skus).
CREATE TABLE stock_pushes (
    listing_id   uuid NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    variation    text COLLATE "C" NOT NULL DEFAULT '',
    tenant_id    uuid NOT NULL,
    wanted       integer NOT NULL CHECK (wanted >= 0),
    version      bigint NOT NULL DEFAULT 1,
    forced       boolean NOT NULL DEFAULT false,
    job_id       bigint,
    requested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (listing_id, variation)
);
CREATE INDEX stock_pushes_tenant_idx ON stock_pushes (tenant_id);

-- Jobs committed by a statement the server did not write itself (a trigger) are announced on
-- NOTIFY sh_jobs as '<queue>:<id>,<id>...'; the processes of that queue dispatch them
-- (src/jobs_wake.c). The queue is the connection's sellerhub.job_queue (src/pg.c sets it from
-- JOB_QUEUE), 'default' for any other client.
CREATE FUNCTION jobs_queue_of_session() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('sellerhub.job_queue', true), ''), 'default')
$$;

-- Ask for the SKUs' available on every target linked to them: a listing linked by its SKU and
-- without variations, or a variation linked by its own. Only targets that show another
-- quantity, unless p_force. A target with a job still to run keeps it (the job reads the newest
-- value); one without gets a new job, announced on sh_jobs. Returns how many targets were asked.
CREATE FUNCTION stock_push_request(p_tenant uuid, p_skus text[], p_force boolean)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    asked integer;
    woken text;
    q text := jobs_queue_of_session();
BEGIN
    WITH target AS (
        SELECT l.id AS listing_id, ''::text AS variation, p.available AS wanted,
               l.available_quantity AS listed
          FROM products p
          JOIN listings l ON l.tenant_id = p.tenant_id AND l.sku = p.sku COLLATE "default"
         WHERE p.tenant_id = p_tenant AND p.sku = ANY (p_skus) AND l.variation_count = 0
        UNION ALL
        SELECT v.listing_id, v.external_id, p.available, v.available_quantity
          FROM products p
          JOIN listing_variations v ON v.tenant_id = p.tenant_id
                                   AND v.sku = p.sku COLLATE "default"
         WHERE p.tenant_id = p_tenant AND p.sku = ANY (p_skus)),
    up AS (
        INSERT INTO stock_pushes AS s (listing_id, variation, tenant_id, wanted, forced, job_id)
        SELECT listing_id, variation, p_tenant, wanted, p_force, nextval('jobs_id_seq')
          FROM target WHERE p_force OR listed IS DISTINCT FROM wanted
        ON CONFLICT (listing_id, variation) DO UPDATE
           SET wanted = excluded.wanted, version = s.version + 1, requested_at = now(),
               forced = s.forced OR excluded.forced,
               job_id = CASE WHEN s.job_id IS NOT NULL AND EXISTS (
                                  SELECT 1 FROM jobs j WHERE j.id = s.job_id
                                     AND j.status IN ('queued', 'running', 'failed'))
                             THEN s.job_id ELSE excluded.job_id END
        RETURNING s.listing_id, s.variation, s.job_id),
    added AS (
        INSERT INTO jobs (id, kind, tenant_id, payload, max_attempts, queue)
        SELECT job_id, 'stock_push', p_tenant,
               jsonb_build_object('listingId', listing_id, 'variation', variation), 10, q
          FROM up
        ON CONFLICT (id) DO NOTHING
        RETURNING id)
    SELECT (SELECT count(*) FROM up), (SELECT string_agg(id::text, ',') FROM added)
      INTO asked, woken;
    IF woken IS NOT NULL THEN
        PERFORM pg_notify('sh_jobs', q || ':' || woken);
    END IF;
    RETURN asked;
END $$;

-- For the reconcile (source: sellerhub): push the SKUs' available to every linked target now,
-- even where the listing already shows it. Returns how many targets were asked.
CREATE FUNCTION stock_push_skus(p_tenant uuid, p_skus text[]) RETURNS integer
LANGUAGE sql AS $$
    SELECT stock_push_request(p_tenant, p_skus, true)
$$;

-- Whatever changed a SKU's available (an order, a cancel, the ERP, a manual change, a
-- reconcile), its linked targets are asked for the new value in the same transaction.
CREATE FUNCTION stock_push_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT n.tenant_id, array_agg(n.sku) AS skus
               FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.sku = n.sku
              WHERE n.available <> o.available
              GROUP BY n.tenant_id LOOP
        PERFORM stock_push_request(t.tenant_id, t.skus, false);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER products_stock_push AFTER UPDATE ON products
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stock_push_changed();

-- --- the oversell guard ------------------------------------------------------------------------
ALTER TABLE orders ADD COLUMN oversold boolean NOT NULL DEFAULT false;
CREATE INDEX orders_oversold_idx ON orders (tenant_id, date_created DESC, id DESC) WHERE oversold;
ALTER TABLE stock_changes DROP CONSTRAINT stock_changes_cause_check;
ALTER TABLE stock_changes ADD CONSTRAINT stock_changes_cause_check
    CHECK (cause IN ('order', 'cancel', 'erp', 'reconcile', 'manual', 'sync', 'oversold'));

-- sql/0018's, with the guard: an open order's line that takes more of a SKU than the SKU had
-- available before it (under the row's lock, so of concurrent sales of the last units exactly
-- as many win as there are units) still reserves (it is a real order to ship or cancel), but
-- its change is recorded with cause 'oversold' and the order is flagged. available stays >= 0.
CREATE OR REPLACE FUNCTION stock_reserve_orders(p_orders uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    p products%ROWTYPE;
    old_on_hand integer;
    short boolean;
    why text;
BEGIN
    IF cardinality(p_orders) = 0 THEN
        RETURN;
    END IF;
    FOR d IN
        WITH want AS (
            SELECT o.tenant_id, o.id AS order_id, coalesce(pc.component_sku, pr.sku) AS sku,
                   sum(i.quantity * coalesce(pc.quantity, 1))::integer AS quantity
            FROM orders o
            JOIN order_items i ON i.order_id = o.id AND i.tenant_id = o.tenant_id
            JOIN products pr ON pr.tenant_id = o.tenant_id AND pr.sku = i.sku
            LEFT JOIN product_components pc ON pr.is_kit AND pc.tenant_id = pr.tenant_id
                                           AND pc.kit_sku = pr.sku
            WHERE o.id = ANY (p_orders) AND stock_order_state(o.status) = 'open'
              AND i.quantity > 0 AND (NOT pr.is_kit OR pc.component_sku IS NOT NULL)
            GROUP BY 1, 2, 3),
        held AS (SELECT tenant_id, order_id, sku, quantity FROM stock_reservations
                 WHERE order_id = ANY (p_orders))
        SELECT coalesce(w.tenant_id, h.tenant_id) AS tenant_id,
               coalesce(w.order_id, h.order_id) AS order_id, coalesce(w.sku, h.sku) AS sku,
               coalesce(w.quantity, 0) - coalesce(h.quantity, 0) AS delta,
               coalesce(stock_order_state(o.status), 'cancelled') AS state
        FROM want w FULL JOIN held h ON h.order_id = w.order_id AND h.sku = w.sku
        LEFT JOIN orders o ON o.id = coalesce(w.order_id, h.order_id)
        WHERE coalesce(w.quantity, 0) <> coalesce(h.quantity, 0)
        ORDER BY 1, 3, 2
    LOOP
        SELECT * INTO p FROM products WHERE tenant_id = d.tenant_id AND sku = d.sku FOR UPDATE;
        old_on_hand := p.on_hand;
        short := d.delta > 0 AND p.available < d.delta;
        p.reserved := greatest(p.reserved + d.delta, 0);
        IF d.delta < 0 AND d.state = 'shipped' THEN
            p.on_hand := p.on_hand + d.delta;
        END IF;
        UPDATE products SET reserved = p.reserved, on_hand = p.on_hand,
                            available = stock_available_of(p)
         WHERE tenant_id = d.tenant_id AND sku = d.sku
        RETURNING * INTO p;
        why := CASE WHEN short THEN 'oversold'
                    WHEN d.delta < 0 AND d.state = 'cancelled' THEN 'cancel' ELSE 'order' END;
        INSERT INTO stock_changes (tenant_id, sku, delta, on_hand, reserved, available, cause,
                                   ref)
        VALUES (d.tenant_id, d.sku, p.on_hand - old_on_hand, p.on_hand, p.reserved, p.available,
                why, d.order_id::text);
        IF short THEN
            UPDATE orders SET oversold = true WHERE id = d.order_id AND NOT oversold;
        END IF;
        PERFORM stock_recompute_kits(d.tenant_id, d.sku,
                CASE WHEN why = 'oversold' THEN 'order' ELSE why END, d.order_id::text);
        IF d.delta > 0 THEN
            INSERT INTO stock_reservations AS r (tenant_id, order_id, sku, quantity)
            VALUES (d.tenant_id, d.order_id, d.sku, d.delta)
            ON CONFLICT (order_id, sku) DO UPDATE SET quantity = r.quantity + excluded.quantity;
        ELSE
            UPDATE stock_reservations SET quantity = quantity + d.delta
             WHERE order_id = d.order_id AND sku = d.sku AND quantity + d.delta > 0;
            IF NOT FOUND THEN
                DELETE FROM stock_reservations WHERE order_id = d.order_id AND sku = d.sku;
            END IF;
        END IF;
    END LOOP;
END $$;
