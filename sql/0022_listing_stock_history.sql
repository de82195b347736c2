-- What each listing offered over time, whatever changed it (a sync, an FBA inventory
-- notification, a push): a row per change of available_quantity. For Amazon's FBA listings it is
-- the stock Amazon holds for the seller, which the low-stock alerts read against the SKU's
-- minimum. Written per statement (a backfill's thousands of rows in one insert).
CREATE TABLE listing_stock_history (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    listing_id uuid NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL DEFAULT now(),
    quantity   integer NOT NULL,
    previous   integer
);
CREATE INDEX listing_stock_history_listing_idx ON listing_stock_history (listing_id, at DESC);

CREATE FUNCTION listing_stock_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO listing_stock_history (tenant_id, listing_id, quantity)
    SELECT tenant_id, id, available_quantity FROM new_rows
     WHERE available_quantity IS NOT NULL;
    RETURN NULL;
END $$;

CREATE FUNCTION listing_stock_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO listing_stock_history (tenant_id, listing_id, quantity, previous)
    SELECT n.tenant_id, n.id, n.available_quantity, o.available_quantity
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE n.available_quantity IS NOT NULL
       AND n.available_quantity IS DISTINCT FROM o.available_quantity;
    RETURN NULL;
END $$;

CREATE TRIGGER listings_stock_ins AFTER INSERT ON listings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION listing_stock_inserted();
CREATE TRIGGER listings_stock_upd AFTER UPDATE ON listings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION listing_stock_updated();
