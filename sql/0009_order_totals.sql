-- The orders list's total summed every per-day row of the tenant on every request (a seller
-- with two years of history has thousands). Each (tenant, account, status, currency) now also
-- has an all-time row, kept by the same statement triggers, on the day '-infinity': it sorts
-- first in the key order the triggers lock in, and no date range of the stats reaches it.
CREATE OR REPLACE FUNCTION ml_order_days_apply(delta jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ml_order_days AS d (tenant_id, account_id, day, status, currency, orders, amount)
    SELECT t, a, day, s, c, sum(n), sum(m)
    FROM (SELECT (x->>'t')::uuid AS t, (x->>'a')::uuid AS a, days.day, x->>'s' AS s,
                 x->>'c' AS c, (x->>'n')::bigint AS n, (x->>'m')::numeric AS m
          FROM jsonb_array_elements(delta) x,
               LATERAL (VALUES ((x->>'d')::date), ('-infinity'::date)) AS days(day)
          WHERE EXISTS (SELECT 1 FROM ml_accounts WHERE id = (x->>'a')::uuid)) e
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 3, 2, 4, 5
    ON CONFLICT (tenant_id, day, account_id, status, currency) DO UPDATE
    SET orders = d.orders + excluded.orders, amount = d.amount + excluded.amount
$$;

INSERT INTO ml_order_days (tenant_id, account_id, day, status, currency, orders, amount)
SELECT tenant_id, account_id, '-infinity'::date, status, currency, sum(orders), sum(amount)
FROM ml_order_days WHERE day <> '-infinity'
GROUP BY 1, 2, 3, 4, 5;
