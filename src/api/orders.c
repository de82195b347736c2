/* /api/orders: the synced Mercado Livre orders of the caller's tenant. Lists newest first with
 * page/limit or a cursor; the detail joins lines, payments and the shipment; stats read the
 * per-day totals (ml_order_days) so they never scan the orders. */
#include "api.h"
#include "listing.h"
#include "permissions.h"
#include "util.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

// clang-format off
#define ORDER_JSON                                                                                 \
	"json_build_object('id', o.id, 'accountId', o.account_id, 'mlOrderId', o.ml_id,"           \
	" 'status', o.status, 'statusDetail', o.status_detail,"                                    \
	" 'dateCreated', " SQL_TS("o.date_created") ", 'dateClosed', " SQL_TS(                     \
	    "o.date_closed") ", 'lastUpdated', " SQL_TS("o.last_updated") ", 'totalAmount', "      \
									  "o.total_amount,"        \
									  " 'paidAmount', "        \
									  "o.paid_amount, "        \
									  "'currency', "           \
									  "o.currency,"            \
									  " 'buyer', "             \
									  "json_build_object('id'" \
									  ", o.buyer_id, "         \
									  "'nickname', "           \
									  "o.buyer_nickname),"     \
									  " 'packId', o.pack_id, " \
									  "'shippingId', "         \
									  "o.shipping_id, "        \
									  "'tags', o.tags)"

/* $6/$7: the cursor (date_created and id of the last row seen). */
static const char list_sql[] =
    "SELECT " ORDER_JSON "::text, o.date_created::text, o.id FROM ml_orders o"
    " WHERE o.tenant_id = $1 AND ($2::uuid IS NULL OR o.account_id = $2::uuid)"
    " AND ($3::text IS NULL OR o.status = $3)"
    " AND ($4::timestamptz IS NULL OR o.date_created >= $4::timestamptz)"
    " AND ($5::timestamptz IS NULL OR o.date_created <= $5::timestamptz)"
    " AND ($6::timestamptz IS NULL OR (o.date_created, o.id) < ($6::timestamptz, $7::uuid))"
    " ORDER BY o.date_created DESC, o.id DESC LIMIT $8 OFFSET $9";

static const char count_sql[] =
    "SELECT count(*) FROM ml_orders o WHERE o.tenant_id = $1"
    " AND ($2::uuid IS NULL OR o.account_id = $2::uuid) AND ($3::text IS NULL OR o.status = $3)"
    " AND ($4::timestamptz IS NULL OR o.date_created >= $4::timestamptz)"
    " AND ($5::timestamptz IS NULL OR o.date_created <= $5::timestamptz)";

/* Without a date range the per-day totals answer the count. */
static const char count_days_sql[] =
    "SELECT coalesce(sum(orders), 0) FROM ml_order_days WHERE tenant_id = $1"
    " AND ($2::uuid IS NULL OR account_id = $2::uuid) AND ($3::text IS NULL OR status = $3)";

static const char get_sql[] =
    "SELECT json_build_object('order', " ORDER_JSON ","
    " 'items', coalesce((SELECT json_agg(json_build_object('itemId', l.item_ml_id,"
    "   'variationId', l.variation_id, 'title', l.title, 'sku', l.sku, 'quantity', l.quantity,"
    "   'unitPrice', l.unit_price, 'saleFee', l.sale_fee, 'currency', l.currency) ORDER BY l.id)"
    "   FROM ml_order_items l WHERE l.order_id = o.id AND l.tenant_id = o.tenant_id), '[]'),"
    " 'payments', coalesce((SELECT json_agg(json_build_object('id', p.payment_id,"
    "   'status', p.status, 'statusDetail', p.status_detail, 'paymentType', p.payment_type,"
    "   'paymentMethodId', p.payment_method_id, 'installments', p.installments,"
    "   'transactionAmount', p.transaction_amount, 'totalPaidAmount', p.total_paid_amount,"
    "   'shippingCost', p.shipping_cost, 'marketplaceFee', p.marketplace_fee,"
    "   'currency', p.currency, 'dateApproved', " SQL_TS(
	"p.date_approved") ") ORDER BY p.id)"
			   "   FROM ml_order_payments p WHERE p.order_id = o.id AND p.tenant_id = "
			   "o.tenant_id), '[]'),"
			   " 'shipment', (SELECT json_build_object('id', s.id, 'mlShipmentId', "
			   "s.ml_id,"
			   "   'status', s.status, 'substatus', s.substatus, 'logisticType', "
			   "s.logistic_type,"
			   "   'trackingNumber', s.tracking_number, 'slaStatus', s.sla_status,"
			   "   'destination', json_build_object('city', s.dest_city, 'state', "
			   "s.dest_state))"
			   "   FROM ml_shipments s WHERE s.tenant_id = o.tenant_id AND "
			   "s.account_id = o.account_id"
			   "   AND s.ml_id = o.shipping_id))::text"
			   " FROM ml_orders o WHERE o.id = $1 AND o.tenant_id = $2";

/* Count, revenue (orders not cancelled or invalid) and average ticket per UTC day. */
static const char stats_sql[] =
    "WITH d AS (SELECT day, sum(orders) AS orders,"
    "  sum(amount) FILTER (WHERE status NOT IN ('cancelled', 'invalid')) AS revenue,"
    "  sum(orders) FILTER (WHERE status NOT IN ('cancelled', 'invalid')) AS sold,"
    "  max(currency) AS currency"
    " FROM ml_order_days WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid)"
    " AND day >= $3::date AND day <= $4::date AND orders <> 0 GROUP BY day)"
    " SELECT json_build_object('from', $3::date, 'to', $4::date,"
    " 'count', coalesce(sum(orders), 0), 'revenue', coalesce(sum(revenue), 0),"
    " 'averageTicket', coalesce(round(sum(revenue) / nullif(sum(sold), 0), 2), 0),"
    " 'currency', coalesce(max(currency), 'BRL'),"
    " 'perDay', coalesce(json_agg(json_build_object('date', day, 'count', orders,"
    "   'revenue', coalesce(revenue, 0),"
    "   'averageTicket', coalesce(round(revenue / nullif(sold, 0), 2), 0)) ORDER BY day), '[]'))"
    "::text FROM d";

// clang-format on

static pg_pool_t *pool(req_t *r)
{
	return ((app_t *)r->app)->pg;
}

typedef struct list_call {
	req_t *r;
	list_req_t l;
} list_call_t;

static void listed(PGresult *const *results, int n, const char *err, void *arg)
{
	list_call_t *c = arg;
	if (err) {
		list_db_error(c->r, "orders: list", n > 0 ? results[n - 1] : NULL, err);
		return;
	}
	list_render(c->r, "orders", results[0], pg_int(results[1], 0, 0, 0), &c->l);
}

static void orders_list(req_t *r)
{
	if (!perm_require(r, "orders.view"))
		return;
	json_t *d = NULL;
	list_call_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	list_parse(r, &c->l, &d);
	const char *account = list_uuid_param(r, "accountId", &d);
	const char *status = list_text_param(r, "status", 40, &d);
	const char *from = list_time_param(r, "from", &d);
	const char *to = list_time_param(r, "to", &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	const char *p[] = {r->tenant_id,    account,	    status,	  from,	      to,
			   c->l.cursor_key, c->l.cursor_id, c->l.limit_s, c->l.offset};
	bool ranged = from || to;
	pg_stmt_t stmts[] = {{list_sql, 9, p},
			     {ranged ? count_sql : count_days_sql, ranged ? 5 : 3, p}};
	pg_batch(pool(r), stmts, 2, listed, c);
}

static void got(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		list_db_error(r, "orders: get", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "NOT_FOUND", "No such order.", NULL);
		return;
	}
	http_ok(r, 200, list_json_cell(res, 0, 0), NULL);
}

static void orders_get(req_t *r)
{
	if (!perm_require(r, "orders.view"))
		return;
	const char *id = http_param(r, "id");
	if (!validate_uuid(id)) {
		http_error(r, 404, "NOT_FOUND", "No such order.", NULL);
		return;
	}
	const char *p[] = {id, r->tenant_id};
	pg_query_prepared(pool(r), get_sql, 2, p, got, r);
}

static void stats_done(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		list_db_error(r, "orders: stats", res, err);
		return;
	}
	http_ok(r, 200, list_json_cell(res, 0, 0), NULL);
}

/* ?from=&to= (dates, UTC; default the last 30 days) and ?accountId=. */
static void orders_stats(req_t *r)
{
	if (!perm_require(r, "orders.view"))
		return;
	json_t *d = NULL;
	const char *account = list_uuid_param(r, "accountId", &d);
	const char *from = list_time_param(r, "from", &d);
	const char *to = list_time_param(r, "to", &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	char f[16], t[16];
	if (from)
		snprintf(f, sizeof(f), "%.10s", from);
	if (to)
		snprintf(t, sizeof(t), "%.10s", to);
	if (!to) {
		int64_t now_s = wall_ms() / 1000;
		time_t tt = (time_t)now_s;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(t, sizeof(t), "%Y-%m-%d", &tm);
	}
	if (!from) {
		time_t tt = (time_t)(wall_ms() / 1000 - 29 * 86400);
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(f, sizeof(f), "%Y-%m-%d", &tm);
	}
	const char *p[] = {r->tenant_id, account, f, t};
	pg_query_prepared(pool(r), stats_sql, 4, p, stats_done, r);
}

void api_orders_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(
	    s, "GET", "/api/orders", orders_list, ROUTE_AUTH,
	    "Synced orders, newest first (accountId, status, from, to; page/limit or cursor)");
	http_route(s, "GET", "/api/orders/stats", orders_stats, ROUTE_AUTH,
		   "Order count, revenue and average ticket per day (from, to, accountId)");
	http_route(s, "GET", "/api/orders/:id", orders_get, ROUTE_AUTH,
		   "One order with its lines, payments and shipment");
}
