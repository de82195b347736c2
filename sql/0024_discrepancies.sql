-- Discrepancies between sellerhub's stock truth, the ERP's balance and what each linked listing
-- shows (GET /api/inventory/discrepancies), their detection (the janitor's, or after a
-- reconcile), and reconciles (POST /api/inventory/reconcile: a durable job with its report).

-- The ERP's own last known balance of a SKU, kept apart from on_hand: the import and the ERP's
-- stock webhook set both, but on hand then moves with shipped orders and manual changes while
-- the ERP's count stays what the ERP last said. NULL: the ERP never told us (or it is a kit,
-- whose stock is what its components make).
ALTER TABLE products ADD COLUMN erp_on_hand integer, ADD COLUMN erp_on_hand_at timestamptz;

-- An ERP's balance of a SKU (its import or its stock webhook): records it, then sets on hand to
-- it through the one door (cause 'erp'). Same answer as stock_set_on_hand.
CREATE FUNCTION stock_set_erp_balance(p_tenant uuid, p_sku text, p_balance integer, p_ref text)
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    UPDATE products SET erp_on_hand = p_balance, erp_on_hand_at = now()
     WHERE tenant_id = p_tenant AND sku = p_sku AND erp_on_hand IS DISTINCT FROM p_balance;
    RETURN stock_set_on_hand(p_tenant, p_sku, p_balance, 'erp', p_ref);
END $$;

-- A listing whose quantity is stock the marketplace holds in its own warehouse (Amazon's FBA,
-- Mercado Livre's Full): not the seller's on hand, never pushed, so never compared.
CREATE FUNCTION listing_stock_held_by_channel(logistic_type text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(logistic_type IN ('AFN', 'fulfillment'), false)
$$;

-- Every current mismatch of p_tenant's SKUs (NULL: every tenant's), one row per SKU, subject and
-- variation: 'erp' when the ERP's balance differs from on hand (subject: the ERP account),
-- 'listing' when what a linked target shows differs from available (subject: the listing;
-- variation: '' for a listing without variations linked by its SKU, else the external id of a
-- variation linked by its own: the targets the pushes write, sql/0023). Closed listings and
-- listings of stock the channel holds are not compared. Inlined into its callers (plain SQL).
CREATE FUNCTION inventory_mismatches(p_tenant uuid)
RETURNS TABLE (tenant_id uuid, sku text, subject uuid, variation text, kind text, channel text,
               account_id uuid, on_hand integer, available integer, erp_on_hand integer,
               actual integer)
LANGUAGE sql STABLE AS $$
    SELECT p.tenant_id, p.sku, a.id, '', 'erp', a.channel, a.id, p.on_hand, p.available,
           p.erp_on_hand, p.erp_on_hand
    FROM products p JOIN accounts a ON a.id = p.erp_account_id AND a.tenant_id = p.tenant_id
    WHERE (p_tenant IS NULL OR p.tenant_id = p_tenant) AND NOT p.is_kit
      AND p.erp_on_hand IS NOT NULL AND p.erp_on_hand <> p.on_hand
    UNION ALL
    SELECT p.tenant_id, p.sku, l.id, '', 'listing', l.channel, l.account_id, p.on_hand,
           p.available, p.erp_on_hand, l.available_quantity
    FROM products p
    JOIN listings l ON l.tenant_id = p.tenant_id AND l.sku = p.sku COLLATE "default"
    WHERE (p_tenant IS NULL OR p.tenant_id = p_tenant) AND l.variation_count = 0
      AND l.available_quantity <> p.available
      AND lower(l.status) <> 'closed' AND NOT listing_stock_held_by_channel(l.logistic_type)
    UNION ALL
    SELECT p.tenant_id, p.sku, l.id, v.external_id, 'listing', l.channel, l.account_id,
           p.on_hand, p.available, p.erp_on_hand, v.available_quantity
    FROM products p
    JOIN listing_variations v ON v.tenant_id = p.tenant_id AND v.sku = p.sku COLLATE "default"
    JOIN listings l ON l.id = v.listing_id
    WHERE (p_tenant IS NULL OR p.tenant_id = p_tenant) AND v.available_quantity <> p.available
      AND lower(l.status) <> 'closed' AND NOT listing_stock_held_by_channel(l.logistic_type)
$$;

-- The mismatches the last detection found, each with the numbers it saw then; first_seen_at is
-- when this SKU and subject stopped matching (kept while they keep differing, whatever the
-- numbers), so a discrepancy's age is real.
CREATE TABLE inventory_discrepancies (
    tenant_id     uuid NOT NULL,
    sku           text COLLATE "C" NOT NULL,
    subject       uuid NOT NULL,
    variation     text COLLATE "C" NOT NULL DEFAULT '',
    kind          text NOT NULL CHECK (kind IN ('erp', 'listing')),
    channel       text NOT NULL,
    account_id    uuid NOT NULL,
    on_hand       integer NOT NULL,
    available     integer NOT NULL,
    erp_on_hand   integer,
    actual        integer NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    seen_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sku, subject, variation),
    FOREIGN KEY (tenant_id, sku) REFERENCES products (tenant_id, sku) ON DELETE CASCADE
);
CREATE INDEX inventory_discrepancies_channel_idx ON inventory_discrepancies (tenant_id, channel);

-- Stores the current mismatches of p_tenant (NULL: every tenant's) in one statement: the ones
-- that match again deleted, new ones inserted, changed numbers updated (first_seen_at kept; rows
-- whose numbers did not move are not written). The delete and the upsert touch disjoint rows.
-- One detection at a time: the janitor's (every tenant) is skipped while one runs (-1), a
-- tenant's waits for it. Returns how many discrepancies p_tenant (or the database) has now.
CREATE FUNCTION inventory_detect(p_tenant uuid) RETURNS integer LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    n integer;
BEGIN
    IF p_tenant IS NULL THEN
        IF NOT pg_try_advisory_xact_lock(hashtext('inventory_detect')) THEN
            RETURN -1;
        END IF;
    ELSE
        PERFORM pg_advisory_xact_lock(hashtext('inventory_detect'));
    END IF;
    WITH cur AS MATERIALIZED (SELECT * FROM inventory_mismatches(p_tenant)),
    gone AS (
        DELETE FROM inventory_discrepancies d
         WHERE (p_tenant IS NULL OR d.tenant_id = p_tenant)
           AND NOT EXISTS (SELECT 1 FROM cur c WHERE c.tenant_id = d.tenant_id
                           AND c.sku = d.sku AND c.subject = d.subject
                           AND c.variation = d.variation)),
    kept AS (
        INSERT INTO inventory_discrepancies AS d (tenant_id, sku, subject, variation, kind,
                                                  channel, account_id, on_hand, available,
                                                  erp_on_hand, actual)
        SELECT DISTINCT ON (c.tenant_id, c.sku, c.subject, c.variation) c.tenant_id, c.sku,
               c.subject, c.variation, c.kind, c.channel, c.account_id, c.on_hand, c.available,
               c.erp_on_hand, c.actual
        FROM cur c ORDER BY c.tenant_id, c.sku, c.subject, c.variation
        ON CONFLICT (tenant_id, sku, subject, variation) DO UPDATE
           SET on_hand = excluded.on_hand, available = excluded.available,
               erp_on_hand = excluded.erp_on_hand, actual = excluded.actual, seen_at = now()
         WHERE (d.on_hand, d.available, d.erp_on_hand, d.actual)
               IS DISTINCT FROM (excluded.on_hand, excluded.available, excluded.erp_on_hand,
                                 excluded.actual))
    SELECT count(*) INTO n FROM cur;
    RETURN n;
END $$;

-- POST /api/inventory/reconcile: what was asked (skus, or NULL for every mismatching SKU), by
-- whom, and once its job ran, its report {counts, fixed, skipped, failed}.
CREATE TABLE inventory_reconciles (
    job_id       bigint PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source       text NOT NULL CHECK (source IN ('erp', 'sellerhub')),
    skus         text[] COLLATE "C" CHECK (cardinality(skus) BETWEEN 1 AND 1000),
    requested_by uuid,
    report       jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX inventory_reconciles_tenant_idx ON inventory_reconciles (tenant_id, created_at);

-- The SKUs a reconcile works on, in SKU order (the rows are locked in it): the ones asked for,
-- or every SKU with a mismatch of the kind the source fixes.
CREATE FUNCTION inventory_reconcile_skus(r inventory_reconciles) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT s COLLATE "C" FROM unnest(r.skus) s WHERE r.skus IS NOT NULL
    UNION
    SELECT m.sku COLLATE "C" FROM inventory_mismatches(r.tenant_id) m
    WHERE r.skus IS NULL AND m.kind = CASE r.source WHEN 'erp' THEN 'erp' ELSE 'listing' END
    ORDER BY 1
$$;

-- source erp: on hand := the ERP's balance (cause 'reconcile', ref 'reconcile job N'), each SKU
-- under its row's lock; an error fails that SKU alone.
CREATE FUNCTION inventory_reconcile_erp(r inventory_reconciles) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s text;
    p products%ROWTYPE;
    fixed jsonb := '[]';
    skipped jsonb := '[]';
    failed jsonb := '[]';
BEGIN
    FOR s IN SELECT inventory_reconcile_skus(r) LOOP
        SELECT * INTO p FROM products WHERE tenant_id = r.tenant_id AND sku = s FOR UPDATE;
        IF NOT FOUND THEN
            skipped := skipped || jsonb_build_object('sku', s, 'reason', 'no such SKU');
        ELSIF p.is_kit THEN
            skipped := skipped || jsonb_build_object('sku', s, 'reason',
                                                     'a kit: its stock is its components');
        ELSIF p.erp_on_hand IS NULL OR p.erp_account_id IS NULL THEN
            skipped := skipped || jsonb_build_object('sku', s, 'reason',
                                                     'the ERP has no balance of it');
        ELSIF p.erp_on_hand = p.on_hand THEN
            skipped := skipped || jsonb_build_object('sku', s, 'reason', 'already equal');
        ELSE
            BEGIN
                PERFORM stock_set_on_hand(r.tenant_id, s, p.erp_on_hand, 'reconcile',
                                          'reconcile job ' || r.job_id);
                fixed := fixed || jsonb_build_object('sku', s, 'from', p.on_hand,
                                                     'to', p.erp_on_hand);
            EXCEPTION WHEN OTHERS THEN
                failed := failed || jsonb_build_object('sku', s, 'error', SQLERRM);
            END;
        END IF;
    END LOOP;
    RETURN jsonb_build_object('fixed', fixed, 'skipped', skipped, 'failed', failed);
END $$;

-- source sellerhub: the truth pushed again to every listing (and variation) linked to each SKU,
-- even one that already shows it (stock_push_skus, sql/0023: coalescing push jobs). The report
-- says what was queued; each push's outcome is the listing's lastPushStatus (/api/inventory).
CREATE FUNCTION inventory_reconcile_sellerhub(r inventory_reconciles) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s record;
    asked text[] := '{}';
    queued integer := 0;
    fixed jsonb := '[]';
    skipped jsonb := '[]';
BEGIN
    FOR s IN SELECT q.sku, p.sku IS NOT NULL AS known, p.available,
                    (SELECT count(*) FROM listings l
                     WHERE l.tenant_id = r.tenant_id AND l.sku = q.sku COLLATE "default"
                       AND lower(l.status) <> 'closed'
                       AND NOT listing_stock_held_by_channel(l.logistic_type))
                    + (SELECT count(*) FROM listing_variations v
                       WHERE v.tenant_id = r.tenant_id AND v.sku = q.sku COLLATE "default")
                    AS targets
             FROM inventory_reconcile_skus(r) q (sku)
             LEFT JOIN products p ON p.tenant_id = r.tenant_id AND p.sku = q.sku
             ORDER BY q.sku LOOP
        IF NOT s.known THEN
            skipped := skipped || jsonb_build_object('sku', s.sku, 'reason', 'no such SKU');
        ELSIF s.targets = 0 THEN
            skipped := skipped || jsonb_build_object('sku', s.sku, 'reason',
                                                     'no listing is linked to it');
        ELSE
            asked := asked || s.sku;
            fixed := fixed || jsonb_build_object('sku', s.sku, 'available', s.available,
                                                 'listings', s.targets);
        END IF;
    END LOOP;
    IF cardinality(asked) > 0 THEN
        queued := stock_push_skus(r.tenant_id, asked);
    END IF;
    RETURN jsonb_build_object('fixed', fixed, 'skipped', skipped, 'failed', '[]'::jsonb,
                              'pushesQueued', queued);
END $$;

-- Runs reconcile job p_job once: its report, stored with the detection of its tenant done again
-- in the same transaction (so the list shows what the reconcile left). A job run again after
-- its report was stored answers that report.
CREATE FUNCTION inventory_reconcile(p_job bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    r inventory_reconciles%ROWTYPE;
    rep jsonb;
BEGIN
    SELECT * INTO r FROM inventory_reconciles WHERE job_id = p_job FOR UPDATE;
    IF NOT FOUND OR r.report IS NOT NULL THEN
        RETURN r.report;
    END IF;
    IF r.source = 'erp' THEN
        rep := inventory_reconcile_erp(r);
    ELSE
        rep := inventory_reconcile_sellerhub(r);
    END IF;
    rep := rep || jsonb_build_object('counts', jsonb_build_object(
        'fixed', jsonb_array_length(rep->'fixed'), 'skipped', jsonb_array_length(rep->'skipped'),
        'failed', jsonb_array_length(rep->'failed')));
    UPDATE inventory_reconciles SET report = rep, finished_at = now() WHERE job_id = p_job;
    PERFORM inventory_detect(r.tenant_id);
    RETURN rep;
END $$;
