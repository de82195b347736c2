-- The inventory engine's ground (src/inventory.c, /api/inventory): how a SKU's available is
-- recomputed (plain SKUs and the kits made of them), the JSON of one SKU's stock as the API
-- renders it, the manual adjustment, and where a listing's last stock push is recorded.

-- The last push of the SKU's available to a listing (the push jobs fill them in).
ALTER TABLE listings ADD COLUMN stock_pushed_at timestamptz,
    ADD COLUMN stock_push_status text CHECK (char_length(stock_push_status) <= 200);

-- A plain SKU's available from its own row: on hand less reserved and the buffer, never < 0.
-- A kit's: the least over its components of floor(component available / quantity per kit),
-- less the kit's own reserved and buffer (0 when it has no component).
CREATE FUNCTION stock_available_of(p products) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT p.is_kit
                THEN greatest(p.on_hand - p.reserved - p.safety_buffer, 0)
                ELSE greatest(coalesce((SELECT min(c.available / pc.quantity)
                                        FROM product_components pc
                                        JOIN products c ON c.tenant_id = pc.tenant_id
                                                       AND c.sku = pc.component_sku
                                        WHERE pc.tenant_id = p.tenant_id
                                          AND pc.kit_sku = p.sku), 0)
                              - p.reserved - p.safety_buffer, 0) END
$$;

-- Recomputes the kits that contain p_sku (after its available changed), recording each kit
-- whose available moved under the same cause and ref. Kits are locked in sku order so that
-- two changes of components of one kit cannot deadlock.
CREATE FUNCTION stock_recompute_kits(p_tenant uuid, p_sku text, p_cause text, p_ref text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    k products%ROWTYPE;
    now_available integer;
BEGIN
    FOR k IN SELECT p.* FROM products p
             WHERE p.tenant_id = p_tenant AND p.is_kit
               AND p.sku IN (SELECT kit_sku FROM product_components
                             WHERE tenant_id = p_tenant AND component_sku = p_sku)
             ORDER BY p.sku FOR UPDATE LOOP
        now_available := stock_available_of(k);
        CONTINUE WHEN now_available = k.available;
        UPDATE products SET available = now_available
         WHERE tenant_id = p_tenant AND sku = k.sku;
        INSERT INTO stock_changes (tenant_id, sku, delta, on_hand, reserved, available, cause, ref)
        VALUES (p_tenant, k.sku, 0, k.on_hand, k.reserved, now_available, p_cause, p_ref);
    END LOOP;
END $$;

-- Same signature and meaning as sql/0016's (callers keep calling it): sets on_hand under the
-- row's lock, recomputes the SKU's available and then the kits that contain it, records the
-- change with its cause. Returns the new available, or NULL when the SKU is unknown.
CREATE OR REPLACE FUNCTION stock_set_on_hand(p_tenant uuid, p_sku text, p_on_hand integer,
                                             p_cause text, p_ref text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    p   products%ROWTYPE;
    old integer;
BEGIN
    SELECT * INTO p FROM products WHERE tenant_id = p_tenant AND sku = p_sku FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p.on_hand = p_on_hand THEN
        RETURN p.available;
    END IF;
    old := p.on_hand;
    p.on_hand := p_on_hand;
    UPDATE products SET on_hand = p_on_hand, available = stock_available_of(p)
     WHERE tenant_id = p_tenant AND sku = p_sku
    RETURNING * INTO p;
    INSERT INTO stock_changes (tenant_id, sku, delta, on_hand, reserved, available, cause, ref)
    VALUES (p_tenant, p_sku, p_on_hand - old, p.on_hand, p.reserved, p.available, p_cause, p_ref);
    PERFORM stock_recompute_kits(p_tenant, p_sku, p_cause, p_ref);
    RETURN p.available;
END $$;

-- One SKU's stock as GET /api/inventory renders it, with the listings linked to it
-- (listings.sku: set by a channel's sync or by a manual link; compared in the default
-- collation of listings_sku_idx).
CREATE FUNCTION inventory_item_json(p products) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'sku', p.sku, 'title', p.title, 'isKit', p.is_kit, 'onHand', p.on_hand,
        'reserved', p.reserved, 'safetyBuffer', p.safety_buffer, 'available', p.available,
        'listings', coalesce((SELECT json_agg(json_build_object(
                'channel', l.channel, 'accountId', l.account_id, 'listingId', l.id,
                'externalId', l.external_id, 'listed', l.available_quantity,
                'lastPushAt', to_char(l.stock_pushed_at AT TIME ZONE 'UTC',
                                      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'lastPushStatus', l.stock_push_status) ORDER BY l.channel, l.external_id)
            FROM listings l
            WHERE l.tenant_id = p.tenant_id AND l.sku = p.sku COLLATE "default"), '[]'),
        'updatedAt', to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
$$;

-- PUT /api/inventory/:sku: a manual change of on hand and/or the safety buffer (NULL: left as
-- it is), recorded as 'manual' with the user as ref, in one transaction under the row's lock.
-- Returns the SKU's inventory_item_json after the change, or NULL when the SKU is unknown.
CREATE FUNCTION inventory_adjust(p_tenant uuid, p_sku text, p_on_hand integer,
                                 p_buffer integer, p_ref text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    p products%ROWTYPE;
BEGIN
    SELECT * INTO p FROM products WHERE tenant_id = p_tenant AND sku = p_sku FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_buffer IS NOT NULL AND p_buffer <> p.safety_buffer THEN
        p.safety_buffer := p_buffer;
        UPDATE products SET safety_buffer = p_buffer, available = stock_available_of(p)
         WHERE tenant_id = p_tenant AND sku = p_sku
        RETURNING * INTO p;
        INSERT INTO stock_changes (tenant_id, sku, delta, on_hand, reserved, available, cause,
                                   ref)
        VALUES (p_tenant, p_sku, 0, p.on_hand, p.reserved, p.available, 'manual', p_ref);
        PERFORM stock_recompute_kits(p_tenant, p_sku, 'manual', p_ref);
    END IF;
    IF p_on_hand IS NOT NULL THEN
        PERFORM stock_set_on_hand(p_tenant, p_sku, p_on_hand, 'manual', p_ref);
    END IF;
    SELECT * INTO p FROM products WHERE tenant_id = p_tenant AND sku = p_sku;
    RETURN inventory_item_json(p);
END $$;

-- --- reservations by open orders --------------------------------------------------------------
-- What each order currently holds of each plain SKU (a kit's line holds its components), so that
-- recomputing an order after any change of it or its lines applies only the difference: a
-- replayed upsert changes nothing.
CREATE TABLE stock_reservations (
    tenant_id uuid NOT NULL,
    order_id  uuid NOT NULL,
    sku       text COLLATE "C" NOT NULL,
    quantity  integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, sku),
    FOREIGN KEY (tenant_id, sku) REFERENCES products (tenant_id, sku) ON DELETE CASCADE
);

-- An order status as the stock sees it: 'cancelled' (releases what it held), 'shipped' (the
-- goods left: what it held leaves on hand too), else 'open' (holds its lines).
CREATE FUNCTION stock_order_state(status text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN lower(status) IN ('cancelled', 'canceled', 'invalid', 'unfulfillable')
                THEN 'cancelled'
                WHEN lower(status) IN ('shipped', 'delivered') THEN 'shipped'
                ELSE 'open' END
$$;

-- Brings what the orders hold in line with their status and lines: raises reserved for what an
-- open order's lines add (cause 'order'), releases what a cancelled or deleted order held
-- ('cancel') or a shipped one held (on hand falls by as much: 'order'), each change recorded
-- with the order's id as ref; then the kits of every SKU touched. SKU rows are locked in order.
CREATE FUNCTION stock_reserve_orders(p_orders uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d record;
    p products%ROWTYPE;
    old_on_hand integer;
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
        p.reserved := greatest(p.reserved + d.delta, 0);
        IF d.delta < 0 AND d.state = 'shipped' THEN
            p.on_hand := p.on_hand + d.delta;
        END IF;
        UPDATE products SET reserved = p.reserved, on_hand = p.on_hand,
                            available = stock_available_of(p)
         WHERE tenant_id = d.tenant_id AND sku = d.sku
        RETURNING * INTO p;
        INSERT INTO stock_changes (tenant_id, sku, delta, on_hand, reserved, available, cause,
                                   ref)
        VALUES (d.tenant_id, d.sku, p.on_hand - old_on_hand, p.on_hand, p.reserved, p.available,
                CASE WHEN d.delta < 0 AND d.state = 'cancelled' THEN 'cancel' ELSE 'order' END,
                d.order_id::text);
        PERFORM stock_recompute_kits(d.tenant_id, d.sku,
                CASE WHEN d.delta < 0 AND d.state = 'cancelled' THEN 'cancel' ELSE 'order' END,
                d.order_id::text);
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

CREATE FUNCTION stock_reserve_items_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stock_reserve_orders(ARRAY(SELECT DISTINCT order_id FROM new_rows));
    RETURN NULL;
END $$;
CREATE FUNCTION stock_reserve_items_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stock_reserve_orders(ARRAY(SELECT DISTINCT order_id FROM old_rows));
    RETURN NULL;
END $$;
CREATE FUNCTION stock_reserve_orders_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stock_reserve_orders(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE stock_order_state(n.status) <> stock_order_state(o.status)));
    RETURN NULL;
END $$;

CREATE TRIGGER order_items_stock_ins AFTER INSERT ON order_items
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stock_reserve_items_new();
CREATE TRIGGER order_items_stock_upd AFTER UPDATE ON order_items
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stock_reserve_items_new();
CREATE TRIGGER order_items_stock_del AFTER DELETE ON order_items
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stock_reserve_items_old();
CREATE TRIGGER orders_stock_upd AFTER UPDATE ON orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stock_reserve_orders_status();
