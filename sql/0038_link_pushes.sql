-- A listing linked to a SKU by hand (POST /api/products/:sku/listings/:listingId) is asked for
-- the SKU's available in the same transaction, as any change of the SKU's available asks its
-- listings (sql/0023): linked to a SKU of 7 while it offers 10, the listing offers 7 next.
-- Unlinking pushes nothing: the listing is no longer the SKU's to set. Returns the listings
-- changed (0: no such SKU or listing, or no such link to remove).
CREATE FUNCTION inventory_link_listing(p_tenant uuid, p_sku text, p_listing uuid, p_link boolean)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF p_link THEN
        UPDATE listings l SET sku = p.sku, sku_by_hand = true
          FROM products p
         WHERE p.tenant_id = p_tenant AND p.sku = p_sku
           AND l.tenant_id = p_tenant AND l.id = p_listing;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            PERFORM stock_push_request(p_tenant, ARRAY[p_sku], false);
        END IF;
    ELSE
        UPDATE listings SET sku = NULL, sku_by_hand = true
         WHERE tenant_id = p_tenant AND id = p_listing AND sku = p_sku;
        GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    RETURN n;
END $$;
