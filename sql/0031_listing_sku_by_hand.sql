-- A listing linked to a SKU, or unlinked, by hand (POST/DELETE /api/products/:sku/listings/:id)
-- keeps that choice: the channel's sync then leaves listings.sku alone (NULL: the SKU is the
-- channel's, as its sync reads it). No default: rows older than this column need none (0030).
ALTER TABLE listings ADD COLUMN sku_by_hand boolean;
