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
