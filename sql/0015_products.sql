-- The seller's SKU master and its stock history: one row per SKU per tenant, whatever channel
-- or ERP knows it. Channels' listings link to a SKU (listings.sku, listing_variations.sku); the
-- inventory module keeps on_hand/reserved/available here, and an ERP account (Tiny), when
-- connected, is the system of record for what the ERP owns (source = 'erp').

CREATE TABLE products (
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sku            text COLLATE "C" NOT NULL CHECK (char_length(sku) BETWEEN 1 AND 100),
    title          text NOT NULL DEFAULT '' CHECK (char_length(title) <= 300),
    gtin           text CHECK (char_length(gtin) <= 20),
    brand          text CHECK (char_length(brand) <= 100),
    category       text CHECK (char_length(category) <= 200),
    price          numeric(14, 2),
    cost           numeric(14, 2) CHECK (cost >= 0),
    currency       text NOT NULL DEFAULT 'BRL' CHECK (char_length(currency) = 3),
    -- Stock: on hand in the warehouse; reserved by open orders not yet invoiced; the buffer the
    -- seller keeps back. available = greatest(on_hand - reserved - safety_buffer, 0), and for a
    -- kit the least over its components of their available / quantity per kit.
    on_hand        integer NOT NULL DEFAULT 0,
    reserved       integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    safety_buffer  integer NOT NULL DEFAULT 0 CHECK (safety_buffer >= 0),
    available      integer NOT NULL DEFAULT 0 CHECK (available >= 0),
    is_kit         boolean NOT NULL DEFAULT false,
    active         boolean NOT NULL DEFAULT true,
    -- Where the SKU's master data comes from: 'sellerhub' (made here or from a listing) or 'erp'
    -- (imported; erp_account_id/erp_id name it in the ERP).
    source         text NOT NULL DEFAULT 'sellerhub' CHECK (source IN ('sellerhub', 'erp')),
    erp_account_id uuid REFERENCES accounts (id) ON DELETE SET NULL,
    erp_id         text CHECK (char_length(erp_id) <= 100),
    -- The seller's own settings (PUT /api/products/:sku).
    min_stock_alert integer CHECK (min_stock_alert >= 0),
    max_stock      integer CHECK (max_stock > 0),
    target_margin  numeric(5, 2) CHECK (target_margin BETWEEN 0 AND 100),
    notes          text CHECK (char_length(notes) <= 500),
    tags           text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
    custom_fields  jsonb NOT NULL DEFAULT '{}'::jsonb,
    raw            jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sku),
    CHECK (max_stock IS NULL OR min_stock_alert IS NULL OR max_stock > min_stock_alert)
);
CREATE TRIGGER products_updated_at BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX products_erp_idx ON products (erp_account_id, erp_id) WHERE erp_id IS NOT NULL;

-- A kit's composition: quantity units of component_sku per kit.
CREATE TABLE product_components (
    tenant_id     uuid NOT NULL,
    kit_sku       text COLLATE "C" NOT NULL,
    component_sku text COLLATE "C" NOT NULL,
    quantity      integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (tenant_id, kit_sku, component_sku),
    FOREIGN KEY (tenant_id, kit_sku) REFERENCES products (tenant_id, sku) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, component_sku) REFERENCES products (tenant_id, sku)
        ON DELETE CASCADE,
    CHECK (kit_sku <> component_sku)
);
CREATE INDEX product_components_component_idx ON product_components (tenant_id, component_sku);

-- Every change of a SKU's stock, with its cause (GET /api/inventory/:sku/history).
CREATE TABLE stock_changes (
    id        bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL,
    sku       text COLLATE "C" NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    delta     integer NOT NULL,
    on_hand   integer NOT NULL,
    reserved  integer NOT NULL,
    available integer NOT NULL,
    cause     text NOT NULL
              CHECK (cause IN ('order', 'cancel', 'erp', 'reconcile', 'manual', 'sync')),
    ref       text CHECK (char_length(ref) <= 200),
    FOREIGN KEY (tenant_id, sku) REFERENCES products (tenant_id, sku) ON DELETE CASCADE
);
CREATE INDEX stock_changes_sku_idx ON stock_changes (tenant_id, sku, at DESC);
