-- A target is asked for a value also when the value last asked of it differs, even if its row
-- already shows the new one: that row may be the channel's answer from before our last push
-- landed (a notification fetched meanwhile), while the listing itself shows what we pushed. The
-- job (stock_push.c) then pushes whatever the row says. Otherwise as sql/0023.
CREATE OR REPLACE FUNCTION stock_push_request(p_tenant uuid, p_skus text[], p_force boolean)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    asked integer;
    woken text;
    q text := jobs_queue_of_session();
BEGIN
    WITH target AS (
        SELECT t.*, s.wanted AS last
          FROM (SELECT l.id AS listing_id, ''::text AS variation, p.available AS wanted,
                       l.available_quantity AS listed
                  FROM products p
                  JOIN listings l ON l.tenant_id = p.tenant_id
                                 AND l.sku = p.sku COLLATE "default"
                 WHERE p.tenant_id = p_tenant AND p.sku = ANY (p_skus) AND l.variation_count = 0
                UNION ALL
                SELECT v.listing_id, v.external_id, p.available, v.available_quantity
                  FROM products p
                  JOIN listing_variations v ON v.tenant_id = p.tenant_id
                                           AND v.sku = p.sku COLLATE "default"
                 WHERE p.tenant_id = p_tenant AND p.sku = ANY (p_skus)) t
          LEFT JOIN stock_pushes s ON s.listing_id = t.listing_id AND s.variation = t.variation),
    up AS (
        INSERT INTO stock_pushes AS s (listing_id, variation, tenant_id, wanted, forced, job_id)
        SELECT listing_id, variation, p_tenant, wanted, p_force, nextval('jobs_id_seq')
          FROM target
         WHERE p_force OR listed IS DISTINCT FROM wanted OR (last IS NOT NULL AND last <> wanted)
        ON CONFLICT (listing_id, variation) DO UPDATE
           SET wanted = excluded.wanted, version = s.version + 1, requested_at = now(),
               forced = s.forced OR excluded.forced,
               job_id = CASE WHEN s.job_id IS NOT NULL AND EXISTS (
                                  SELECT 1 FROM jobs j WHERE j.id = s.job_id
                                     AND j.status IN ('queued', 'running', 'failed'))
                             THEN s.job_id ELSE excluded.job_id END
        RETURNING s.listing_id, s.variation, s.job_id),
    added AS (
        INSERT INTO jobs (id, kind, tenant_id, payload, max_attempts, queue)
        SELECT job_id, 'stock_push', p_tenant,
               jsonb_build_object('listingId', listing_id, 'variation', variation), 10, q
          FROM up
        ON CONFLICT (id) DO NOTHING
        RETURNING id)
    SELECT (SELECT count(*) FROM up), (SELECT string_agg(id::text, ',') FROM added)
      INTO asked, woken;
    IF woken IS NOT NULL THEN
        PERFORM pg_notify('sh_jobs', q || ':' || woken);
    END IF;
    RETURN asked;
END $$;
