/* Every channel's synced orders: see the header. Lists read newest first with a page or a
 * keyset cursor; the detail joins lines, payments and the shipment; the per-day figures read
 * the per-day totals (order_days) so that they never scan the orders. */
#include "orders.h"
#include "sql_json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// clang-format off
#define ORDER_JSON                                                                                 \
	"json_build_object('id', o.id, 'accountId', o.account_id, 'channel', o.channel,"           \
	" 'mlOrderId', " SQL_ML_ONLY("o.channel", SQL_ID("o.external_id")) ","                     \
	" 'externalId', o.external_id, 'status', o.status,"                                        \
	" 'statusDetail', o.status_detail, 'dateCreated', " SQL_TS("o.date_created") ","           \
	" 'dateClosed', " SQL_TS("o.date_closed") ", 'lastUpdated', " SQL_TS("o.last_updated") "," \
	" 'totalAmount', o.total_amount, 'paidAmount', o.paid_amount, 'currency', o.currency,"     \
	" 'buyer', json_build_object('id', o.buyer_id, 'nickname', o.buyer_nickname),"             \
	" 'packId', o.pack_id, 'shippingId', " SQL_ID("o.shipment_external_id") ","                \
	" 'tags', o.tags, 'oversold', o.oversold)"

/* The list's columns (enum order_col), rendered by the caller: building JSON with
 * json_build_object and to_char costs PostgreSQL more than the query itself. Times come as
 * timestamptz text, the cheapest form to produce and exact for the cursor. */
#define ORDER_COLS \
	"o.id, o.account_id, o.external_id, o.status, o.status_detail," \
	" o.date_created, o.date_closed, o.last_updated," \
	" o.total_amount, o.paid_amount, o.currency, o.buyer_id, o.buyer_nickname, o.pack_id," \
	" o.shipment_external_id, array_to_json(o.tags), o.channel, o.oversold"

#define SOLD   "status NOT IN ('cancelled', 'invalid')"
#define SOLD_O "o.status NOT IN ('cancelled', 'invalid')"

/* $10: ?oversold= (boolean text or NULL), orders flagged oversold (sql/0023) or not. */
#define ORDER_FILTERS \
	" WHERE o.tenant_id = $1 AND ($2::uuid IS NULL OR o.account_id = $2::uuid)" \
	" AND ($3::text IS NULL OR o.status = $3)" \
	" AND ($4::timestamptz IS NULL OR o.date_created >= $4::timestamptz)" \
	" AND ($5::timestamptz IS NULL OR o.date_created <= $5::timestamptz)" \
	" AND ($6::text IS NULL OR o.channel = $6)" \
	" AND ($7::text IS NULL OR order_fulfillment(o) = $7)" \
	" AND ($8::numeric IS NULL OR o.total_amount >= $8::numeric)" \
	" AND ($9::numeric IS NULL OR o.total_amount <= $9::numeric)" \
	" AND ($10::boolean IS NULL OR o.oversold = $10::boolean)"

/* $11/$12: the cursor (date_created and id of the last row seen). */
static const char list_sql[] =
    "SELECT " ORDER_COLS " FROM orders o" ORDER_FILTERS
    " AND ($11::timestamptz IS NULL OR (o.date_created, o.id) < ($11::timestamptz, $12::uuid))"
    " ORDER BY o.date_created DESC, o.id DESC LIMIT $13 OFFSET $14";

/* The figures of every order that passes the filters (enum order_summary_col); revenue,
 * average and units count the orders not cancelled or invalid. */
static const char summary_sql[] =
    "SELECT count(*), coalesce(sum(o.total_amount) FILTER (WHERE " SOLD_O "), 0),"
    " coalesce(round(avg(o.total_amount) FILTER (WHERE " SOLD_O "), 2), 0),"
    " coalesce(sum(u.units) FILTER (WHERE " SOLD_O "), 0), max(o.currency)"
    " FROM orders o LEFT JOIN LATERAL (SELECT sum(l.quantity) AS units FROM order_items l"
    "  WHERE l.order_id = o.id) u ON true" ORDER_FILTERS;

/* The same without a filter, from the totals kept at write time (order_days' all-time rows,
 * dashboard_days' units): a tenant's every order is never scanned for it. */
static const char summary_all_sql[] =
    "SELECT coalesce(sum(orders), 0), coalesce(sum(amount) FILTER (WHERE " SOLD "), 0),"
    " coalesce(round(sum(amount) FILTER (WHERE " SOLD ")"
    "  / nullif(sum(orders) FILTER (WHERE " SOLD "), 0), 2), 0),"
    " (SELECT coalesce(sum(units), 0) FROM dashboard_days WHERE tenant_id = $1), max(currency)"
    " FROM order_days WHERE tenant_id = $1 AND day = '-infinity'";

/* The common case (no filter, no cursor) as its own prepared statement: no planning per
 * request, the index on (tenant_id, date_created DESC, id DESC) is all it reads, and the
 * total rides along as a last column (computed once, from the per-day totals) instead of
 * costing a second statement. A page past the end has no row to carry it: plain_rows then asks
 * for the count alone. */
#define LIST_PLAIN(LIMIT)                                                                         \
	"SELECT " ORDER_COLS ", (SELECT coalesce(sum(orders), 0) FROM order_days d"                \
	" WHERE d.tenant_id = $1 AND d.day = '-infinity') FROM orders o"                           \
	" WHERE o.tenant_id = $1 ORDER BY o.date_created DESC, o.id DESC LIMIT " LIMIT
static const char list_plain_sql[] = LIST_PLAIN("$2 OFFSET $3");
/* The first page, what dashboards poll, with its limit written in: PostgreSQL plans a LIMIT
 * parameter as 10 % of the rows, so with one it plans every execution again (a third of its
 * time per request); with a constant the plan is made once per connection and limit. */
static const char list_first_fmt[] = LIST_PLAIN("%d");

static const char count_sql[] = "SELECT count(*) FROM orders o" ORDER_FILTERS;

/* Without a date range the all-time rows of the per-day totals (day '-infinity', sql/0009)
 * answer the count: a few rows per account (a channel is its accounts). */
static const char count_days_sql[] =
    "SELECT coalesce(sum(orders), 0) FROM order_days WHERE tenant_id = $1"
    " AND day = '-infinity' AND ($2::uuid IS NULL OR account_id = $2::uuid)"
    " AND ($3::text IS NULL OR status = $3)"
    " AND ($4::text IS NULL OR account_id IN (SELECT id FROM accounts"
    "  WHERE tenant_id = $1 AND channel = $4))";

static const char get_sql[] =
    "SELECT json_build_object('order', " ORDER_JSON ","
    " 'items', coalesce((SELECT json_agg(json_build_object('itemId', l.listing_external_id,"
    "   'variationId', " SQL_ID("l.variation_external_id") ", 'title', l.title, 'sku', l.sku,"
    "   'quantity', l.quantity, 'unitPrice', l.unit_price, 'saleFee', l.sale_fee,"
    "   'currency', l.currency) ORDER BY l.id)"
    "   FROM order_items l WHERE l.order_id = o.id AND l.tenant_id = o.tenant_id), '[]'),"
    " 'payments', coalesce((SELECT json_agg(json_build_object('id', " SQL_ID("p.external_id") ","
    "   'status', p.status, 'statusDetail', p.status_detail, 'paymentType', p.payment_type,"
    "   'paymentMethodId', p.payment_method_id, 'installments', p.installments,"
    "   'transactionAmount', p.transaction_amount, 'totalPaidAmount', p.total_paid_amount,"
    "   'shippingCost', p.shipping_cost, 'marketplaceFee', p.marketplace_fee,"
    "   'currency', p.currency, 'dateApproved', " SQL_TS("p.date_approved") ") ORDER BY p.id)"
    "   FROM payments p WHERE p.order_id = o.id AND p.tenant_id = o.tenant_id), '[]'),"
    " 'erp', (SELECT json_build_object('status', e.status, 'pedidoId', e.pedido_id,"
    "   'numero', e.numero, 'situacao', e.situacao, 'situacaoAt', " SQL_TS("e.situacao_at") ","
    "   'invoice', CASE WHEN e.invoice_numero IS NOT NULL THEN json_build_object('id',"
    "   e.invoice_id, 'numero', e.invoice_numero, 'serie', e.invoice_serie, 'chave',"
    "   e.invoice_chave, 'emittedAt', e.invoice_emitted_at) END,"
    "   'cancellation', e.cancel_state, 'cancellationError', e.cancel_error,"
    "   'attempts', e.attempts, 'lastError', e.last_error)"
    "   FROM erp_orders e WHERE e.order_id = o.id AND e.tenant_id = o.tenant_id),"
    " 'shipment', (SELECT json_build_object('id', s.id, 'channel', s.channel,"
    "   'mlShipmentId', " SQL_ML_ONLY("s.channel", SQL_ID("s.external_id")) ","
    "   'externalId', s.external_id, 'status', s.status,"
    "   'substatus', s.substatus, 'logisticType', s.logistic_type,"
    "   'trackingNumber', s.tracking_number, 'slaStatus', s.sla_status,"
    "   'destination', json_build_object('city', s.dest_city, 'state', s.dest_state))"
    "   FROM shipments s WHERE s.tenant_id = o.tenant_id AND s.account_id = o.account_id"
    "   AND s.external_id = o.shipment_external_id),"
    " 'financial', (SELECT json_build_object('revenue', f.revenue, 'refunds', f.refunds,"
    "   'fees', json_build_object('marketplace', f.fees, 'shipping', f.shipping,"
    "    'total', f.fees + f.shipping),"
    "   'productCost', f.product_cost, 'units', f.units,"
    "   'profit', f.revenue - f.refunds - f.fees - f.shipping - f.product_cost,"
    "   'margin', CASE WHEN f.revenue - f.refunds > 0 THEN round((f.revenue - f.refunds - f.fees"
    "    - f.shipping - f.product_cost) * 100 / (f.revenue - f.refunds), 2) END,"
    "   'currency', o.currency) FROM order_figures(o) f))::text"
    " FROM orders o WHERE o.id = $1 AND o.tenant_id = $2";

/* Count, revenue (orders not cancelled or invalid) and average ticket per UTC day, with the
 * period's totals as window sums over the days (enum order_day_col). One statement per shape
 * (all accounts, or one) so that each keeps a generic plan instead of being planned again for
 * every request. */
#define PER_DAY_SQL(ACCOUNT_FILTER)                                                                \
	"SELECT day::text, orders, revenue,"                                                       \
	" coalesce(round(revenue / nullif(sold, 0), 2), 0), currency,"                             \
	" sum(orders) OVER (), sum(revenue) OVER (),"                                              \
	" coalesce(round(sum(revenue) OVER () / nullif(sum(sold) OVER (), 0), 2), 0),"            \
	" max(currency) OVER ()"                                                                   \
	" FROM (SELECT day, sum(orders) AS orders,"                                                \
	"  coalesce(sum(amount) FILTER (WHERE " SOLD "), 0) AS revenue,"                           \
	"  coalesce(sum(orders) FILTER (WHERE " SOLD "), 0) AS sold, max(currency) AS currency"    \
	"  FROM order_days WHERE tenant_id = $1 AND day >= $2::date AND day <= $3::date"        \
	ACCOUNT_FILTER " AND orders <> 0 GROUP BY day) d ORDER BY day"

static const char per_day_sql[] = PER_DAY_SQL("");
static const char per_day_account_sql[] = PER_DAY_SQL(" AND account_id = $4::uuid");

// clang-format on

/* A list in flight (owned here, freed once cb ran): the caller's callback, and the tenant for
 * the count that an empty plain page asks for. */
typedef struct list_call {
	pg_pool_t *pool;
	paging_cb cb;
	void *arg;
	char tenant_id[64];
} list_call_t;

static void answer(list_call_t *c, const PGresult *rows, long long total, const char *err)
{
	c->cb(rows, total, err, c->arg);
	free(c);
}

static void empty_total(const PGresult *res, const char *err, void *arg)
{
	if (err)
		answer(arg, res, 0, err);
	else
		answer(arg, NULL, pg_int(res, 0, 0, 0), NULL);
}

static void plain_rows(const PGresult *res, const char *err, void *arg)
{
	list_call_t *c = arg;
	if (err || PQntuples(res) > 0) {
		answer(c, res, err ? 0 : pg_int(res, 0, ORDER_NCOLS, 0), err);
		return;
	}
	const char *p[] = {c->tenant_id, NULL, NULL, NULL};
	pg_query_prepared(c->pool, count_days_sql, 4, p, empty_total, c);
}

static void listed(PGresult *const *results, int n, const char *err, void *arg)
{
	if (err)
		answer(arg, n > 0 ? results[n - 1] : NULL, 0, err);
	else
		answer(arg, results[0], pg_int(results[1], 0, 0, 0), NULL);
}

void orders_list(app_t *app, const char *tenant_id, const orders_filter_t *f, const page_t *page,
		 paging_cb cb, void *arg)
{
	list_call_t *c = xcalloc(1, sizeof(*c));
	c->pool = app->pg;
	c->cb = cb;
	c->arg = arg;
	snprintf(c->tenant_id, sizeof(c->tenant_id), "%s", tenant_id);
	page_params_t pp;
	paging_params(page, &pp);
	if (orders_filter_empty(f) && !page->after_key) {
		const char *p[] = {tenant_id, pp.limit, pp.offset};
		if (strcmp(pp.offset, "0") == 0) {
			char sql[sizeof(list_first_fmt) + 16];
			snprintf(sql, sizeof(sql), list_first_fmt, page->limit);
			pg_query_prepared(app->pg, sql, 1, p, plain_rows, c);
		} else {
			pg_query_prepared(app->pg, list_plain_sql, 3, p, plain_rows, c);
		}
		return;
	}
	const char *p[] = {tenant_id,	  f->account_id, f->status,	  f->from,
			   f->to,	  f->channel,	 f->fulfillment,  f->min_amount,
			   f->max_amount, f->oversold,	 page->after_key, page->after_id,
			   pp.limit,	  pp.offset};
	const char *dp[] = {tenant_id, f->account_id, f->status, f->channel};
	/* The per-day totals count by account, status and channel only. */
	bool scan =
	    f->from || f->to || f->fulfillment || f->min_amount || f->max_amount || f->oversold;
	pg_stmt_t stmts[] = {{list_sql, 14, p},
			     scan ? (pg_stmt_t){count_sql, 10, p}
				  : (pg_stmt_t){count_days_sql, 4, dp}};
	pg_batch(app->pg, stmts, 2, listed, c);
}

void orders_get(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg)
{
	const char *p[] = {id, tenant_id};
	pg_query_prepared(app->pg, get_sql, 2, p, cb, arg);
}

void orders_per_day(app_t *app, const char *tenant_id, const char *account_id, const char *from_day,
		    const char *to_day, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, from_day, to_day, account_id};
	pg_query_prepared(app->pg, account_id ? per_day_account_sql : per_day_sql,
			  account_id ? 4 : 3, p, cb, arg);
}

bool orders_filter_empty(const orders_filter_t *f)
{
	return !f->account_id && !f->status && !f->from && !f->to && !f->channel &&
	       !f->fulfillment && !f->min_amount && !f->max_amount && !f->oversold;
}

void orders_summary(app_t *app, const char *tenant_id, const orders_filter_t *f, pg_cb cb,
		    void *arg)
{
	if (orders_filter_empty(f)) {
		const char *p[] = {tenant_id};
		pg_query_prepared(app->pg, summary_all_sql, 1, p, cb, arg);
		return;
	}
	const char *p[] = {tenant_id,  f->account_id,  f->status,     f->from,	     f->to,
			   f->channel, f->fulfillment, f->min_amount, f->max_amount, f->oversold};
	pg_query_prepared(app->pg, summary_sql, 10, p, cb, arg);
}
