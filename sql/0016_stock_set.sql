-- The one door through which a SKU's on-hand count changes, whoever changes it (an ERP's stock
-- webhook or import, a manual adjustment, a reconcile): it sets on_hand, recomputes available
-- for a plain SKU and records the change with its cause. The inventory engine replaces it with
-- the version that also recomputes kits and queues the pushes to the linked listings; callers
-- keep calling this name. Returns the new available, or NULL when the SKU is unknown.
CREATE FUNCTION stock_set_on_hand(p_tenant uuid, p_sku text, p_on_hand integer, p_cause text,
                                  p_ref text)
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
    UPDATE products
       SET on_hand = p_on_hand,
           available = CASE WHEN is_kit THEN available
                            ELSE greatest(p_on_hand - reserved - safety_buffer, 0) END
     WHERE tenant_id = p_tenant AND sku = p_sku
    RETURNING * INTO p;
    INSERT INTO stock_changes (tenant_id, sku, delta, on_hand, reserved, available, cause, ref)
    VALUES (p_tenant, p_sku, p_on_hand - old, p.on_hand,
            p.reserved, p.available, p_cause, p_ref);
    RETURN p.available;
END $$;
