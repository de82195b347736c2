-- The synced data every channel shares, in channel-neutral tables: listings (a channel's offers,
-- with their variations), orders with their lines and payments, shipments, and the per-day order
-- totals. Each row carries its channel and account_id; a top-level row keeps the channel's raw
-- document. Mercado Livre's rows move here as they are (the tables are renamed: same ids, same
-- rows, same indexes), and its old names stay as views for operators and scripts. Questions and
-- claims stay Mercado Livre's own (ml_questions, ml_claims).
--
-- A channel's id of a row is external_id, text in the "C" collation (Amazon's order ids are
-- not numbers; "C" compares bytes, the cheapest for the upserts' unique keys).

-- (id, channel) is unique because id is: it lets a data row's (account_id, channel) reference
-- its account, so a row's channel is always its account's.
ALTER TABLE accounts ADD CONSTRAINT accounts_id_channel_key UNIQUE (id, channel);

-- A row written without its channel (an operator's INSERT through an old view) takes its
-- account's; a child row takes its parent's account and channel. The upserts name both, and the
-- trigger's WHEN keeps them from calling it.
CREATE FUNCTION data_channel_from_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.channel := (SELECT channel FROM accounts WHERE id = NEW.account_id);
    RETURN NEW;
END $$;

-- Renames every index and constraint named after a table's old name.
CREATE FUNCTION pg_temp.rename_relations(old_name text, new_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT conname FROM pg_constraint
             WHERE conrelid = new_name::regclass AND contype IN ('f', 'c')
               AND conname LIKE old_name || '\_%' LOOP
        EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', new_name, r.conname,
                       new_name || substr(r.conname, length(old_name) + 1));
    END LOOP;
    FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = new_name::regclass AND c.relname LIKE old_name || '\_%' LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname,
                       new_name || substr(r.relname, length(old_name) + 1));
    END LOOP;
    FOR r IN SELECT c.relname FROM pg_class c WHERE c.relkind = 'S'
               AND c.relname = old_name || '_id_seq' LOOP
        EXECUTE format('ALTER SEQUENCE %I RENAME TO %I', r.relname, new_name || '_id_seq');
    END LOOP;
END $$;

-- --- listings ---------------------------------------------------------------------------------
ALTER TABLE ml_items RENAME TO listings;
ALTER TABLE listings RENAME COLUMN ml_id TO external_id;
ALTER TABLE listings ALTER COLUMN external_id TYPE text COLLATE "C";
ALTER TABLE listings ADD COLUMN channel text NOT NULL DEFAULT 'ml';
ALTER TABLE listings ALTER COLUMN channel DROP DEFAULT;
ALTER TABLE listings DROP CONSTRAINT ml_items_account_id_fkey;
ALTER TABLE listings ADD CONSTRAINT listings_account_fkey FOREIGN KEY (account_id, channel)
    REFERENCES accounts (id, channel) ON DELETE CASCADE;
SELECT pg_temp.rename_relations('ml_items', 'listings');
CREATE TRIGGER listings_channel BEFORE INSERT ON listings FOR EACH ROW
    WHEN (NEW.channel IS NULL) EXECUTE FUNCTION data_channel_from_account();

ALTER TABLE ml_item_variations RENAME TO listing_variations;
ALTER TABLE listing_variations RENAME COLUMN item_id TO listing_id;
ALTER TABLE listing_variations RENAME COLUMN variation_id TO external_id;
ALTER TABLE listing_variations ALTER COLUMN external_id TYPE text COLLATE "C";
ALTER TABLE listing_variations ADD COLUMN channel text NOT NULL DEFAULT 'ml';
ALTER TABLE listing_variations ALTER COLUMN channel DROP DEFAULT;
ALTER TABLE listing_variations RENAME CONSTRAINT ml_item_variations_item_id_fkey
    TO listing_variations_listing_id_fkey;
SELECT pg_temp.rename_relations('ml_item_variations', 'listing_variations');
ALTER INDEX listing_variations_item_idx RENAME TO listing_variations_listing_idx;

CREATE FUNCTION data_owner_from_listing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT account_id, channel INTO NEW.account_id, NEW.channel FROM listings
    WHERE id = NEW.listing_id;
    RETURN NEW;
END $$;
CREATE TRIGGER listing_variations_owner BEFORE INSERT ON listing_variations FOR EACH ROW
    WHEN (NEW.channel IS NULL OR NEW.account_id IS NULL)
    EXECUTE FUNCTION data_owner_from_listing();

-- --- orders -----------------------------------------------------------------------------------
ALTER TABLE ml_orders RENAME TO orders;
ALTER TABLE orders RENAME COLUMN ml_id TO external_id;
-- The channel's id of the order's shipment (shipments.external_id).
ALTER TABLE orders RENAME COLUMN shipping_id TO shipment_external_id;
ALTER TABLE orders ALTER COLUMN external_id TYPE text COLLATE "C",
    ALTER COLUMN shipment_external_id TYPE text COLLATE "C";
-- Every row so far is Mercado Livre's (a default on a new column rewrites nothing).
ALTER TABLE orders ADD COLUMN channel text NOT NULL DEFAULT 'ml';
ALTER TABLE orders ALTER COLUMN channel DROP DEFAULT;
ALTER TABLE orders DROP CONSTRAINT ml_orders_account_id_fkey;
ALTER TABLE orders ADD CONSTRAINT orders_account_fkey FOREIGN KEY (account_id, channel)
    REFERENCES accounts (id, channel) ON DELETE CASCADE;
SELECT pg_temp.rename_relations('ml_orders', 'orders');
ALTER INDEX orders_shipping_idx RENAME TO orders_shipment_idx;
CREATE TRIGGER orders_channel BEFORE INSERT ON orders FOR EACH ROW
    WHEN (NEW.channel IS NULL) EXECUTE FUNCTION data_channel_from_account();

CREATE FUNCTION data_owner_from_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT account_id, channel INTO NEW.account_id, NEW.channel FROM orders
    WHERE id = NEW.order_id;
    RETURN NEW;
END $$;

ALTER TABLE ml_order_items RENAME TO order_items;
-- The channel's ids of the listing and variation sold.
ALTER TABLE order_items RENAME COLUMN item_ml_id TO listing_external_id;
ALTER TABLE order_items RENAME COLUMN variation_id TO variation_external_id;
ALTER TABLE order_items ALTER COLUMN listing_external_id TYPE text COLLATE "C",
    ALTER COLUMN variation_external_id TYPE text COLLATE "C";
ALTER TABLE order_items ADD COLUMN account_id uuid, ADD COLUMN channel text;
UPDATE order_items x SET account_id = o.account_id, channel = o.channel
FROM orders o WHERE o.id = x.order_id;
ALTER TABLE order_items ALTER COLUMN account_id SET NOT NULL,
    ALTER COLUMN channel SET NOT NULL;
SELECT pg_temp.rename_relations('ml_order_items', 'order_items');
CREATE TRIGGER order_items_owner BEFORE INSERT ON order_items FOR EACH ROW
    WHEN (NEW.channel IS NULL OR NEW.account_id IS NULL)
    EXECUTE FUNCTION data_owner_from_order();

-- An order's payments, with the channel's fee on each (marketplace_fee; a line's fee is
-- order_items.sale_fee).
ALTER TABLE ml_order_payments RENAME TO payments;
ALTER TABLE payments RENAME COLUMN payment_id TO external_id;
ALTER TABLE payments ALTER COLUMN external_id TYPE text COLLATE "C";
ALTER TABLE payments ADD COLUMN account_id uuid, ADD COLUMN channel text;
UPDATE payments x SET account_id = o.account_id, channel = o.channel
FROM orders o WHERE o.id = x.order_id;
ALTER TABLE payments ALTER COLUMN account_id SET NOT NULL, ALTER COLUMN channel SET NOT NULL;
SELECT pg_temp.rename_relations('ml_order_payments', 'payments');
CREATE TRIGGER payments_owner BEFORE INSERT ON payments FOR EACH ROW
    WHEN (NEW.channel IS NULL OR NEW.account_id IS NULL)
    EXECUTE FUNCTION data_owner_from_order();

-- --- the per-day order totals (sql/0005, 0009): same rows and keys, every channel's ----------
ALTER TABLE ml_order_days RENAME TO order_days;
SELECT pg_temp.rename_relations('ml_order_days', 'order_days');
DROP TRIGGER ml_orders_days_ins ON orders;
DROP TRIGGER ml_orders_days_upd ON orders;
DROP TRIGGER ml_orders_days_del ON orders;
DROP FUNCTION ml_order_days_ins(), ml_order_days_upd(), ml_order_days_del(),
    ml_order_days_apply(jsonb);

CREATE FUNCTION order_days_apply(delta jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO order_days AS d (tenant_id, account_id, day, status, currency, orders, amount)
    SELECT t, a, day, s, c, sum(n), sum(m)
    FROM (SELECT (x->>'t')::uuid AS t, (x->>'a')::uuid AS a, days.day, x->>'s' AS s,
                 x->>'c' AS c, (x->>'n')::bigint AS n, (x->>'m')::numeric AS m
          FROM jsonb_array_elements(delta) x,
               LATERAL (VALUES ((x->>'d')::date), ('-infinity'::date)) AS days(day)
          WHERE EXISTS (SELECT 1 FROM accounts WHERE id = (x->>'a')::uuid)) e
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 3, 2, 4, 5
    ON CONFLICT (tenant_id, day, account_id, status, currency) DO UPDATE
    SET orders = d.orders + excluded.orders, amount = d.amount + excluded.amount
$$;

CREATE FUNCTION order_days_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM order_days_apply(coalesce((SELECT jsonb_agg(jsonb_build_object(
        't', tenant_id, 'a', account_id, 'd', day, 's', status, 'c', currency, 'n', n, 'm', m))
        FROM (SELECT tenant_id, account_id, (date_created AT TIME ZONE 'UTC')::date AS day,
                     status, currency, count(*) AS n, sum(total_amount) AS m
              FROM new_rows GROUP BY 1, 2, 3, 4, 5) g), '[]'));
    RETURN NULL;
END $$;

CREATE FUNCTION order_days_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM order_days_apply(coalesce((SELECT jsonb_agg(jsonb_build_object(
        't', tenant_id, 'a', account_id, 'd', day, 's', status, 'c', currency, 'n', n, 'm', m))
        FROM (SELECT tenant_id, account_id, day, status, currency, sum(n) AS n, sum(m) AS m
              FROM (SELECT tenant_id, account_id, (date_created AT TIME ZONE 'UTC')::date AS day,
                           status, currency, 1 AS n, total_amount AS m FROM new_rows
                    UNION ALL
                    SELECT tenant_id, account_id, (date_created AT TIME ZONE 'UTC')::date,
                           status, currency, -1, -total_amount FROM old_rows) u
              GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(m) <> 0) g), '[]'));
    RETURN NULL;
END $$;

CREATE FUNCTION order_days_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM order_days_apply(coalesce((SELECT jsonb_agg(jsonb_build_object(
        't', tenant_id, 'a', account_id, 'd', day, 's', status, 'c', currency, 'n', -n, 'm', -m))
        FROM (SELECT tenant_id, account_id, (date_created AT TIME ZONE 'UTC')::date AS day,
                     status, currency, count(*) AS n, sum(total_amount) AS m
              FROM old_rows GROUP BY 1, 2, 3, 4, 5) g), '[]'));
    RETURN NULL;
END $$;

CREATE TRIGGER orders_days_ins AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_days_ins();
CREATE TRIGGER orders_days_upd AFTER UPDATE ON orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_days_upd();
CREATE TRIGGER orders_days_del AFTER DELETE ON orders REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_days_del();

-- --- shipments --------------------------------------------------------------------------------
ALTER TABLE ml_shipments RENAME TO shipments;
ALTER TABLE shipments RENAME COLUMN ml_id TO external_id;
ALTER TABLE shipments ALTER COLUMN external_id TYPE text COLLATE "C";
ALTER TABLE shipments ADD COLUMN channel text NOT NULL DEFAULT 'ml';
ALTER TABLE shipments ALTER COLUMN channel DROP DEFAULT;
ALTER TABLE shipments DROP CONSTRAINT ml_shipments_account_id_fkey;
ALTER TABLE shipments ADD CONSTRAINT shipments_account_fkey FOREIGN KEY (account_id, channel)
    REFERENCES accounts (id, channel) ON DELETE CASCADE;
SELECT pg_temp.rename_relations('ml_shipments', 'shipments');
CREATE TRIGGER shipments_channel BEFORE INSERT ON shipments FOR EACH ROW
    WHEN (NEW.channel IS NULL) EXECUTE FUNCTION data_channel_from_account();

-- --- Mercado Livre's old names, as views ------------------------------------------------------
-- Each is the old table's columns over its new one, Mercado Livre's rows only, simple enough to
-- take INSERT, UPDATE and DELETE like the table did (a row inserted through one gets its
-- channel from its account). The ids that were numbers are text now: compare them with quoted
-- values ('2000008000001').
CREATE VIEW ml_items AS
    SELECT id, tenant_id, account_id, external_id AS ml_id, title, status, sub_status, price,
           currency, available_quantity, sold_quantity, sku, category_id, listing_type,
           logistic_type, permalink, thumbnail, variation_count, date_created, last_updated, raw,
           synced_at
    FROM listings WHERE channel = 'ml';

CREATE VIEW ml_item_variations AS
    SELECT id, listing_id AS item_id, tenant_id, account_id, external_id AS variation_id, sku,
           price, available_quantity, sold_quantity, attributes
    FROM listing_variations WHERE channel = 'ml';

CREATE VIEW ml_orders AS
    SELECT id, tenant_id, account_id, external_id AS ml_id, status, status_detail, date_created,
           date_closed, last_updated, total_amount, paid_amount, currency, buyer_id,
           buyer_nickname, pack_id, shipment_external_id AS shipping_id, tags, raw, synced_at
    FROM orders WHERE channel = 'ml';

CREATE VIEW ml_order_items AS
    SELECT id, order_id, tenant_id, listing_external_id AS item_ml_id,
           variation_external_id AS variation_id, title, sku, quantity, unit_price, sale_fee,
           currency
    FROM order_items WHERE channel = 'ml';

CREATE VIEW ml_order_payments AS
    SELECT id, order_id, tenant_id, external_id AS payment_id, status, status_detail,
           payment_type, payment_method_id, installments, transaction_amount, total_paid_amount,
           shipping_cost, marketplace_fee, currency, date_approved
    FROM payments WHERE channel = 'ml';

CREATE VIEW ml_order_days AS
    SELECT tenant_id, account_id, day, status, currency, orders, amount
    FROM order_days d
    WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = d.account_id AND a.channel = 'ml');

CREATE VIEW ml_shipments AS
    SELECT id, tenant_id, account_id, external_id AS ml_id, status, substatus, mode,
           logistic_type, tracking_number, tracking_method, declared_value, shipping_cost,
           currency, estimated_delivery, sla_status, sla_expected_date, dest_city, dest_state,
           dest_zip, receiver_name, date_created, last_updated, raw, synced_at
    FROM shipments WHERE channel = 'ml';
