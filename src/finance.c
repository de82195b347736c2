/* The tenant's money (see finance.h): each figure is one set-based statement over the orders
 * of a period and their lines, payments and shipments (order_figures, finance_period:
 * sql/0028), answered as JSON that PostgreSQL builds (its numerics stay exact). */
#include "finance.h"
#include "sql_json.h"

#include <stdio.h>

// clang-format off
/* The sold orders of the period ($2 period, $3/$4 custom days, $5 channel) with their
 * figures; b is the period. */
#define PERIOD_ORDERS                                                                              \
	"WITH b AS (SELECT * FROM finance_period($1, $2, $3::date, $4::date)),"                   \
	" o AS (SELECT o.id, o.channel, o.date_created AT TIME ZONE b.tz AS local, f.*"           \
	"  FROM b, orders o CROSS JOIN LATERAL order_figures(o) f"                                 \
	"  WHERE o.tenant_id = $1 AND o.date_created >= b.start_at AND o.date_created < b.end_at"  \
	"  AND o.status NOT IN ('cancelled', 'invalid') AND ($5::text IS NULL OR o.channel = $5)),"

/* The period's account costs (not an order's: ad spend, subscriptions; sql/0039) by kind. */
#define PERIOD_COSTS(b)                                                                            \
	" (SELECT coalesce(sum(c.amount) FILTER (WHERE c.kind = 'advertising'), 0) AS ads,"        \
	"  coalesce(sum(c.amount) FILTER (WHERE c.kind = 'other'), 0) AS other"                    \
	"  FROM account_costs c WHERE c.tenant_id = $1 AND c.posted_at >= " b ".start_at"          \
	"  AND c.posted_at < " b ".end_at AND ($5::text IS NULL OR c.channel = $5))"

/* The period's lines by SKU (with the SKU master's category and title). */
#define PERIOD_LINES                                                                               \
	" l AS (SELECT l.sku, coalesce(p.category, 'uncategorized') AS category,"                 \
	"  max(coalesce(p.title, l.title)) AS title, sum(l.quantity) AS units,"                   \
	"  sum(l.unit_price * l.quantity) AS revenue,"                                             \
	"  sum(coalesce(l.unit_cost, p.cost, 0) * l.quantity) AS cost"                             \
	"  FROM o JOIN order_items l ON l.order_id = o.id"                                         \
	"  LEFT JOIN products p ON p.tenant_id = $1 AND p.sku = l.sku GROUP BY 1, 2),"

static const char summary_sql[] =
    PERIOD_ORDERS PERIOD_LINES
    " t0 AS (SELECT coalesce(sum(revenue), 0) AS gross, coalesce(sum(refunds), 0) AS refunds,"
    "  coalesce(sum(fees), 0) AS fees, coalesce(sum(product_cost), 0) AS product,"
    "  coalesce(sum(shipping), 0) AS shipping FROM o),"
    " t AS (SELECT t0.*, k.*, product + fees + shipping + k.ads + k.other AS spent"
    "  FROM t0, b, LATERAL" PERIOD_COSTS("b") " k)"
    " SELECT json_build_object("
    " 'period', (SELECT json_build_object('startDate', start_day, 'endDate', end_day,"
    "  'timezone', tz, 'groupBy', $6::text) FROM b),"
    " 'revenue', json_build_object('gross', gross, 'net', gross - refunds, 'refunds', refunds,"
    "  'trend', (SELECT coalesce(json_agg(json_build_object('period', k, 'gross', g, 'net', n)"
    "   ORDER BY k), '[]') FROM (SELECT date_trunc($6, local)::date AS k, sum(revenue) AS g,"
    "   sum(revenue - refunds) AS n FROM o GROUP BY 1) x)),"
    " 'costs', json_build_object('product', product, 'marketplaceFees', fees, 'advertising', ads,"
    "  'shipping', shipping, 'other', other, 'total', spent),"
    " 'profit', json_build_object('gross', gross - refunds - product,"
    "  'net', gross - refunds - spent,"
    "  'margin', CASE WHEN gross - refunds > 0 THEN round((gross - refunds - spent) * 100"
    "   / (gross - refunds), 2) ELSE 0 END),"
    " 'breakdown', json_build_object("
    "  'byChannel', (SELECT coalesce(json_agg(json_build_object('channel', channel,"
    "   'orders', n, 'revenue', r, 'profit', p) ORDER BY r DESC, channel), '[]')"
    "   FROM (SELECT channel, count(*) AS n, sum(revenue - refunds) AS r,"
    "   sum(revenue - refunds - product_cost - fees - shipping) AS p FROM o GROUP BY 1) x),"
    "  'byCategory', (SELECT coalesce(json_agg(json_build_object('category', category,"
    "   'units', u, 'revenue', r, 'productCost', c, 'grossProfit', r - c)"
    "   ORDER BY r DESC, category), '[]')"
    "   FROM (SELECT category, sum(units) AS u, sum(revenue) AS r, sum(cost) AS c"
    "   FROM l GROUP BY 1) x),"
    "  'byProduct', (SELECT coalesce(json_agg(json_build_object('sku', sku, 'title', title,"
    "   'category', category, 'units', units, 'revenue', revenue, 'productCost', cost,"
    "   'grossProfit', revenue - cost) ORDER BY revenue DESC, sku), '[]')"
    "   FROM (SELECT * FROM l WHERE sku IS NOT NULL ORDER BY revenue DESC, sku LIMIT 20) x)),"
    " 'currency', coalesce((SELECT max(currency) FROM orders WHERE id IN (SELECT id FROM o)),"
    "  'BRL'))::text FROM t";

/* Every money movement of the period's orders (every status: a cancelled order's refund is
 * money too): a payment's sale (a positive amount), its refund (a negative amount, or a payment
 * refunded or charged back), the marketplace's fee on it, and the shipment's cost. Signed:
 * credits positive. $6 type, $7 minimum size, $8 limit, $9 offset. */
static const char transactions_sql[] =
    "WITH b AS (SELECT * FROM finance_period($1, $2, $3::date, $4::date)),"
    " tx AS (SELECT v.kind || ':' || p.id AS id, v.kind, v.amount,"
    "  coalesce(p.date_approved, o.date_created) AS at, o.id AS order_id, o.external_id,"
    "  o.channel, coalesce(p.currency, o.currency) AS currency"
    "  FROM b, orders o JOIN payments p ON p.order_id = o.id"
    "  CROSS JOIN LATERAL (VALUES"
    "   ('sale', CASE WHEN p.transaction_amount > 0 THEN p.transaction_amount END),"
    "   ('refund', CASE WHEN p.transaction_amount < 0 THEN p.transaction_amount"
    "    WHEN p.status IN ('refunded', 'charged_back') THEN -p.transaction_amount END),"
    "   ('fee', -p.marketplace_fee)) v (kind, amount)"
    "  WHERE o.tenant_id = $1 AND o.date_created >= b.start_at AND o.date_created < b.end_at"
    "  AND ($5::text IS NULL OR o.channel = $5) AND v.amount <> 0"
    "  UNION ALL"
    "  SELECT 'shipping:' || s.id, 'shipping', -s.shipping_cost, o.date_created, o.id,"
    "  o.external_id, o.channel, coalesce(s.currency, o.currency)"
    "  FROM b, orders o JOIN shipments s ON s.tenant_id = o.tenant_id"
    "  AND s.account_id = o.account_id AND s.external_id = o.shipment_external_id"
    "  WHERE o.tenant_id = $1 AND o.date_created >= b.start_at AND o.date_created < b.end_at"
    "  AND ($5::text IS NULL OR o.channel = $5) AND s.shipping_cost > 0"
    "  UNION ALL"
    "  SELECT c.kind || ':' || c.id, c.kind, -c.amount, c.posted_at, NULL, NULL, c.channel,"
    "  c.currency FROM b, account_costs c WHERE c.tenant_id = $1 AND c.posted_at >= b.start_at"
    "  AND c.posted_at < b.end_at AND ($5::text IS NULL OR c.channel = $5) AND c.amount <> 0),"
    " f AS (SELECT * FROM tx WHERE ($6::text IS NULL OR kind = $6)"
    "  AND ($7::numeric IS NULL OR abs(amount) >= $7::numeric))"
    " SELECT json_build_object("
    " 'transactions', (SELECT coalesce(json_agg(json_build_object('id', id, 'type', kind,"
    "  'direction', CASE WHEN amount > 0 THEN 'credit' ELSE 'debit' END, 'amount', amount,"
    "  'currency', currency, 'date', " SQL_TS("at") ", 'orderId', order_id,"
    "  'externalOrderId', external_id, 'channel', channel) ORDER BY at DESC, id), '[]')"
    "  FROM (SELECT * FROM f ORDER BY at DESC, id LIMIT $8::int OFFSET $9::bigint) x),"
    " 'totals', json_build_object("
    "  'credits', coalesce(sum(amount) FILTER (WHERE amount > 0), 0),"
    "  'debits', coalesce(-sum(amount) FILTER (WHERE amount < 0), 0),"
    "  'net', coalesce(sum(amount), 0)),"
    " 'pagination', json_build_object('page', $9::bigint / $8::int + 1, 'limit', $8::int,"
    "  'total', count(*), 'pages', (count(*) + $8::int - 1) / $8::int))::text FROM f";

/* The statement of a period ($2..$3, days) and of its comparison ($4: previous_period or
 * previous_year; NULL: none), with the variance of each line. */
static const char pnl_sql[] =
    "WITH p AS (SELECT 'current' AS name, $2::date AS sd, $3::date AS ed"
    "  UNION ALL SELECT 'comparison',"
    "  CASE $4 WHEN 'previous_period' THEN $2::date - ($3::date - $2::date + 1)"
    "   ELSE ($2::date - interval '1 year')::date END,"
    "  CASE $4 WHEN 'previous_period' THEN $2::date - 1"
    "   ELSE ($3::date - interval '1 year')::date END WHERE $4::text IS NOT NULL),"
    " f AS (SELECT p.name, p.sd, p.ed, coalesce(sum(x.revenue), 0) AS gross,"
    "  coalesce(sum(x.refunds), 0) AS refunds, coalesce(sum(x.product_cost), 0) AS cogs,"
    "  coalesce(sum(x.fees), 0) AS fees, coalesce(sum(x.shipping), 0) AS shipping,"
    "  min(k.ads) AS ads, min(k.other) AS other"
    "  FROM p CROSS JOIN LATERAL finance_period($1, 'custom', p.sd, p.ed) b"
    "  CROSS JOIN LATERAL" PERIOD_COSTS("b") " k"
    "  LEFT JOIN LATERAL (SELECT f.* FROM orders o CROSS JOIN LATERAL order_figures(o) f"
    "   WHERE o.tenant_id = $1 AND o.date_created >= b.start_at AND o.date_created < b.end_at"
    "   AND o.status NOT IN ('cancelled', 'invalid') AND ($5::text IS NULL OR o.channel = $5))"
    "  x ON true GROUP BY 1, 2, 3),"
    " s AS (SELECT name, gross - refunds AS revenue, cogs, gross - refunds - cogs AS gp,"
    "  fees + shipping + ads + other AS opex,"
    "  gross - refunds - cogs - fees - shipping - ads - other AS ni,"
    "  json_build_object('startDate', sd, 'endDate', ed,"
    "  'revenue', json_build_object('total', gross - refunds,"
    "   'lines', json_build_object('gross', gross, 'refunds', -refunds)),"
    "  'cogs', json_build_object('total', cogs, 'lines', json_build_object('productCost', cogs)),"
    "  'grossProfit', gross - refunds - cogs,"
    "  'operatingExpenses', json_build_object('total', fees + shipping + ads + other,"
    "   'lines', json_build_object('marketplaceFees', fees, 'shipping', shipping,"
    "   'advertising', ads, 'other', other)),"
    "  'netIncome', gross - refunds - cogs - fees - shipping - ads - other) AS st FROM f)"
    " SELECT json_build_object('current', c.st, 'comparison', p.st,"
    " 'variance', CASE WHEN p.name IS NOT NULL THEN json_build_object("
    "  'revenue', finance_variance(c.revenue, p.revenue),"
    "  'cogs', finance_variance(c.cogs, p.cogs),"
    "  'grossProfit', finance_variance(c.gp, p.gp),"
    "  'operatingExpenses', finance_variance(c.opex, p.opex),"
    "  'netIncome', finance_variance(c.ni, p.ni)) END)::text"
    " FROM s c LEFT JOIN s p ON p.name = 'comparison' WHERE c.name = 'current'";
// clang-format on

void finance_summary(app_t *app, const finance_query_t *q, const char *group_by, pg_cb cb,
		     void *arg)
{
	const char *p[] = {q->tenant_id, q->period, q->start, q->end, q->channel, group_by};
	pg_query_prepared(app->pg, summary_sql, 6, p, cb, arg);
}

void finance_transactions(app_t *app, const finance_query_t *q, const char *type,
			  const char *min_amount, int limit, long long offset, pg_cb cb, void *arg)
{
	char l[16], o[24];
	snprintf(l, sizeof(l), "%d", limit);
	snprintf(o, sizeof(o), "%lld", offset);
	const char *p[] = {q->tenant_id, q->period,  q->start, q->end, q->channel,
			   type,	 min_amount, l,	       o};
	pg_query_prepared(app->pg, transactions_sql, 9, p, cb, arg);
}

void finance_pnl(app_t *app, const finance_query_t *q, const char *compare_with, pg_cb cb,
		 void *arg)
{
	const char *p[] = {q->tenant_id, q->start, q->end, compare_with, q->channel};
	pg_query_prepared(app->pg, pnl_sql, 5, p, cb, arg);
}
