-- GET /api/products?search= also finds a SKU by the id of a listing linked to it: a Mercado
-- Livre item id (MLB...) or an Amazon listing's seller SKU or ASIN, as a seller pastes them
-- (src/products.c). An exact id, looked up by these indexes once per request.
CREATE INDEX listings_tenant_external_idx ON listings (tenant_id, external_id);
CREATE INDEX listings_tenant_asin_idx ON listings (tenant_id, (raw->>'ASIN'))
    WHERE raw ? 'ASIN';
