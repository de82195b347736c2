/* /api/orders: the synced orders of the caller's tenant, every channel's (?channel= one). Lists
 * newest first with page/limit or a cursor; the detail joins lines, payments and the shipment;
 * stats read the per-day totals (order_days) so they never scan the orders. */
#include "api.h"
#include "listing.h"
#include "permissions.h"
#include "util.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// clang-format off
#define ORDER_JSON                                                                                 \
	"json_build_object('id', o.id, 'accountId', o.account_id, 'channel', o.channel,"           \
	" 'mlOrderId', " SQL_ID("o.external_id") ", 'status', o.status,"                           \
	" 'statusDetail', o.status_detail, 'dateCreated', " SQL_TS("o.date_created") ","           \
	" 'dateClosed', " SQL_TS("o.date_closed") ", 'lastUpdated', " SQL_TS("o.last_updated") "," \
	" 'totalAmount', o.total_amount, 'paidAmount', o.paid_amount, 'currency', o.currency,"     \
	" 'buyer', json_build_object('id', o.buyer_id, 'nickname', o.buyer_nickname),"             \
	" 'packId', o.pack_id, 'shippingId', " SQL_ID("o.shipment_external_id") ","                \
	" 'tags', o.tags)"

/* The list's columns, rendered in C (render_orders): building JSON with json_build_object
 * and to_char costs PostgreSQL more than the query itself. Times come as timestamptz text in
 * the session's UTC (pg.c pins it): "2026-10-25 10:00:00.123456+00", the cheapest form to
 * produce and exact for the cursor. */
#define ORDER_COLS \
	"o.id, o.account_id, o.external_id, o.status, o.status_detail," \
	" o.date_created, o.date_closed, o.last_updated," \
	" o.total_amount, o.paid_amount, o.currency, o.buyer_id, o.buyer_nickname, o.pack_id," \
	" o.shipment_external_id, array_to_json(o.tags), o.channel"
#define ORDER_NCOLS 17

#define ORDER_FILTERS \
	" WHERE o.tenant_id = $1 AND ($2::uuid IS NULL OR o.account_id = $2::uuid)" \
	" AND ($3::text IS NULL OR o.status = $3)" \
	" AND ($4::timestamptz IS NULL OR o.date_created >= $4::timestamptz)" \
	" AND ($5::timestamptz IS NULL OR o.date_created <= $5::timestamptz)" \
	" AND ($6::text IS NULL OR o.channel = $6)"

/* $7/$8: the cursor (date_created and id of the last row seen). */
static const char list_sql[] =
    "SELECT " ORDER_COLS " FROM orders o" ORDER_FILTERS
    " AND ($7::timestamptz IS NULL OR (o.date_created, o.id) < ($7::timestamptz, $8::uuid))"
    " ORDER BY o.date_created DESC, o.id DESC LIMIT $9 OFFSET $10";

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
    " 'shipment', (SELECT json_build_object('id', s.id,"
    "   'mlShipmentId', " SQL_ID("s.external_id") ", 'status', s.status,"
    "   'substatus', s.substatus, 'logisticType', s.logistic_type,"
    "   'trackingNumber', s.tracking_number, 'slaStatus', s.sla_status,"
    "   'destination', json_build_object('city', s.dest_city, 'state', s.dest_state))"
    "   FROM shipments s WHERE s.tenant_id = o.tenant_id AND s.account_id = o.account_id"
    "   AND s.external_id = o.shipment_external_id))::text"
    " FROM orders o WHERE o.id = $1 AND o.tenant_id = $2";

/* Count, revenue (orders not cancelled or invalid) and average ticket per UTC day, with the
 * period's totals as window sums over the days; rendered in C (stats_done). One statement per
 * shape (all accounts, or one) so that each keeps a generic plan instead of being planned
 * again for every request. */
#define SOLD "status NOT IN ('cancelled', 'invalid')"
#define STATS_SQL(ACCOUNT_FILTER)                                                                  \
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

static const char stats_sql[] = STATS_SQL("");
static const char stats_account_sql[] = STATS_SQL(" AND account_id = $4::uuid");

// clang-format on

static pg_pool_t *pool(req_t *r)
{
	return ((app_t *)r->app)->pg;
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]+00" as the API's "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void add_time(char **b, size_t *at, size_t *cap, const char *utc)
{
	if (!utc) {
		list_json_raw(b, at, cap, NULL);
		return;
	}
	size_t n = strlen(utc);
	if (n >= 22 && strcmp(utc + n - 3, "+00") == 0)
		n -= 3;
	else
		n = 0; /* not UTC */
	if (n < 19 || n > 26 || utc[10] != ' ' || (n > 19 && utc[19] != '.')) {
		list_json_str(b, at, cap, utc); /* not the shape pg.c pins: as it is */
		return;
	}
	char iso[25];
	memcpy(iso, utc, 19);
	iso[10] = 'T';
	iso[19] = '.';
	for (size_t i = 0; i < 3; i++)
		iso[20 + i] = 20 + i < n ? utc[20 + i] : '0';
	iso[23] = 'Z';
	iso[24] = '\0';
	list_json_str(b, at, cap, iso);
}

/* One page of ORDER_COLS rows as the API's order objects (what ORDER_JSON builds). */
static void render_orders(req_t *r, const PGresult *res, long long total, const list_req_t *l)
{
	int n = res ? PQntuples(res) : 0; /* NULL: an empty page */
	size_t cap = 512 * (size_t)(n + 1), at = 0;
	char *b = xmalloc(cap);
	list_json_raw(&b, &at, &cap, "[");
	for (int i = 0; i < n; i++) {
		const char *v[ORDER_NCOLS];
		for (int k = 0; k < ORDER_NCOLS; k++)
			v[k] = pg_value(res, i, k);
		list_json_raw(&b, &at, &cap, i ? ",{\"id\":" : "{\"id\":");
		list_json_str(&b, &at, &cap, v[0]);
		list_json_raw(&b, &at, &cap, ",\"accountId\":");
		list_json_str(&b, &at, &cap, v[1]);
		list_json_raw(&b, &at, &cap, ",\"channel\":");
		list_json_str(&b, &at, &cap, v[16]);
		list_json_raw(&b, &at, &cap, ",\"mlOrderId\":");
		list_json_id(&b, &at, &cap, v[2]);
		list_json_raw(&b, &at, &cap, ",\"status\":");
		list_json_str(&b, &at, &cap, v[3]);
		list_json_raw(&b, &at, &cap, ",\"statusDetail\":");
		list_json_str(&b, &at, &cap, v[4]);
		list_json_raw(&b, &at, &cap, ",\"dateCreated\":");
		add_time(&b, &at, &cap, v[5]);
		list_json_raw(&b, &at, &cap, ",\"dateClosed\":");
		add_time(&b, &at, &cap, v[6]);
		list_json_raw(&b, &at, &cap, ",\"lastUpdated\":");
		add_time(&b, &at, &cap, v[7]);
		list_json_raw(&b, &at, &cap, ",\"totalAmount\":");
		list_json_raw(&b, &at, &cap, v[8]);
		list_json_raw(&b, &at, &cap, ",\"paidAmount\":");
		list_json_raw(&b, &at, &cap, v[9]);
		list_json_raw(&b, &at, &cap, ",\"currency\":");
		list_json_str(&b, &at, &cap, v[10]);
		list_json_raw(&b, &at, &cap, ",\"buyer\":{\"id\":");
		list_json_raw(&b, &at, &cap, v[11]);
		list_json_raw(&b, &at, &cap, ",\"nickname\":");
		list_json_str(&b, &at, &cap, v[12]);
		list_json_raw(&b, &at, &cap, "},\"packId\":");
		list_json_raw(&b, &at, &cap, v[13]);
		list_json_raw(&b, &at, &cap, ",\"shippingId\":");
		list_json_id(&b, &at, &cap, v[14]);
		list_json_raw(&b, &at, &cap, ",\"tags\":");
		list_json_raw(&b, &at, &cap, v[15] ? v[15] : "[]");
		list_json_raw(&b, &at, &cap, "}");
	}
	list_json_raw(&b, &at, &cap, "]");
	bool more = n == l->limit && n > 0;
	/* The cursor: the last row's exact date_created and id. */
	list_render_text(r, "orders", b, at, total, l, more ? pg_value(res, n - 1, 5) : NULL,
			 more ? pg_value(res, n - 1, 0) : NULL);
	free(b);
}

typedef struct list_call {
	req_t *r;
	list_req_t l;
} list_call_t;

static void empty_total(const PGresult *res, const char *err, void *arg)
{
	list_call_t *c = arg;
	if (err) {
		list_db_error(c->r, "orders: list", res, err);
		return;
	}
	render_orders(c->r, NULL, pg_int(res, 0, 0, 0), &c->l);
}

static void plain_rows(const PGresult *res, const char *err, void *arg)
{
	list_call_t *c = arg;
	if (err) {
		list_db_error(c->r, "orders: list", res, err);
		return;
	}
	if (PQntuples(res) > 0) {
		render_orders(c->r, res, pg_int(res, 0, ORDER_NCOLS, 0), &c->l);
		return;
	}
	const char *cp[] = {c->r->tenant_id, NULL, NULL, NULL};
	pg_query_prepared(pool(c->r), count_days_sql, 4, cp, empty_total, c);
}

static void listed(PGresult *const *results, int n, const char *err, void *arg)
{
	list_call_t *c = arg;
	if (err) {
		list_db_error(c->r, "orders: list", n > 0 ? results[n - 1] : NULL, err);
		return;
	}
	render_orders(c->r, results[0], pg_int(results[1], 0, 0, 0), &c->l);
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
	const char *channel = list_channel_param(r, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	const char *p[] = {r->tenant_id,    account,	    status,	  from,	      to, channel,
			   c->l.cursor_key, c->l.cursor_id, c->l.limit_s, c->l.offset};
	if (!account && !status && !from && !to && !channel && !c->l.cursor_key) {
		const char *lp[] = {r->tenant_id, c->l.limit_s, c->l.offset};
		if (strcmp(c->l.offset, "0") == 0)
			pg_query_prepared(pool(r),
					  arena_printf(r->arena, list_first_fmt, c->l.limit), 1, lp,
					  plain_rows, c);
		else
			pg_query_prepared(pool(r), list_plain_sql, 3, lp, plain_rows, c);
		return;
	}
	bool ranged = from || to;
	const char *dp[] = {r->tenant_id, account, status, channel};
	pg_stmt_t stmts[] = {{list_sql, 10, p},
			     ranged ? (pg_stmt_t){count_sql, 6, p}
				    : (pg_stmt_t){count_days_sql, 4, dp}};
	pg_batch(pool(r), stmts, 2, listed, c);
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
	list_one(r, "order", get_sql, 2, p);
}

typedef struct stats_call {
	req_t *r;
	char from[16], to[16];
} stats_call_t;

/* The rows of STATS_SQL as {from, to, count, revenue, averageTicket, currency, perDay}; numbers
 * go out as PostgreSQL's decimal text. */
static void stats_done(const PGresult *res, const char *err, void *arg)
{
	stats_call_t *c = arg;
	if (err) {
		list_db_error(c->r, "orders: stats", res, err);
		return;
	}
	int n = PQntuples(res);
	size_t cap = 256 + 128 * (size_t)n, at = 0;
	char *b = xmalloc(cap);
	list_json_raw(&b, &at, &cap, "{\"from\":");
	list_json_str(&b, &at, &cap, c->from);
	list_json_raw(&b, &at, &cap, ",\"to\":");
	list_json_str(&b, &at, &cap, c->to);
	list_json_raw(&b, &at, &cap, ",\"count\":");
	list_json_raw(&b, &at, &cap, n ? pg_value(res, 0, 5) : "0");
	list_json_raw(&b, &at, &cap, ",\"revenue\":");
	list_json_raw(&b, &at, &cap, n ? pg_value(res, 0, 6) : "0");
	list_json_raw(&b, &at, &cap, ",\"averageTicket\":");
	list_json_raw(&b, &at, &cap, n ? pg_value(res, 0, 7) : "0");
	list_json_raw(&b, &at, &cap, ",\"currency\":");
	list_json_str(&b, &at, &cap, n && pg_value(res, 0, 8) ? pg_value(res, 0, 8) : "BRL");
	list_json_raw(&b, &at, &cap, ",\"perDay\":[");
	for (int i = 0; i < n; i++) {
		list_json_raw(&b, &at, &cap, i ? ",{\"date\":" : "{\"date\":");
		list_json_str(&b, &at, &cap, pg_value(res, i, 0));
		list_json_raw(&b, &at, &cap, ",\"count\":");
		list_json_raw(&b, &at, &cap, pg_value(res, i, 1));
		list_json_raw(&b, &at, &cap, ",\"revenue\":");
		list_json_raw(&b, &at, &cap, pg_value(res, i, 2));
		list_json_raw(&b, &at, &cap, ",\"averageTicket\":");
		list_json_raw(&b, &at, &cap, pg_value(res, i, 3));
		list_json_raw(&b, &at, &cap, "}");
	}
	list_json_raw(&b, &at, &cap, "]}");
	list_reply_json(c->r, b);
	free(b);
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
	stats_call_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	snprintf(c->from, sizeof(c->from), "%s", f);
	snprintf(c->to, sizeof(c->to), "%s", t);
	const char *p[] = {r->tenant_id, f, t, account};
	pg_query_prepared(pool(r), account ? stats_account_sql : stats_sql, account ? 4 : 3, p,
			  stats_done, c);
}

void api_orders_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(
	    s, "GET", "/api/orders", orders_list, ROUTE_AUTH,
	    "Synced orders of every channel, newest first (accountId, channel, status, from, to; "
	    "page/limit or cursor)");
	http_route(s, "GET", "/api/orders/stats", orders_stats, ROUTE_AUTH,
		   "Order count, revenue and average ticket per day (from, to, accountId)");
	http_route(s, "GET", "/api/orders/:id", orders_get, ROUTE_AUTH,
		   "One order with its lines, payments and shipment");
}
