/* /api/orders: the synced orders of the caller's tenant, every channel's (?channel= one), read
 * by src/orders.c. Lists newest first with page/limit or a cursor; the detail with lines,
 * payments and the shipment; stats per day. */
#include "api.h"
#include "channel.h"
#include "exports.h"
#include "listing.h"
#include "orders.h"
#include "permissions.h"
#include "util.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "YYYY-MM-DD HH:MM:SS[.ffffff]+00" as the API's "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void add_time(char **b, size_t *at, size_t *cap, const char *utc)
{
	char iso[25];
	if (!utc)
		list_json_raw(b, at, cap, NULL);
	else if (export_iso_time(utc, iso))
		list_json_str(b, at, cap, iso);
	else
		list_json_str(b, at, cap, utc); /* not the shape pg.c pins: as it is */
}

/* The legacy mlOrderId: the order's id for channel ml's orders only (every channel's is
 * externalId), as SQL_ML_ONLY does. */
static const char *legacy_ml_id(const char *channel, const char *id)
{
	return channel && strcmp(channel, "ml") == 0 ? id : NULL;
}

/* The page and its summary are asked for at once (each on its own connection). Each answer is
 * kept as text (a result dies with its callback); the second one back answers. */
typedef struct list_call {
	req_t *r;
	list_req_t l;
	int pending;
	const char *failed; /* what failed, with err and res's SQLSTATE class */
	char *err;
	bool bad_value;
	char *items, *summary, *next_key, *next_id; /* malloc'd */
	size_t items_len;
	long long total;
} list_call_t;

/* One page of orders_list's rows as the API's order objects (what orders_get's JSON holds),
 * with the cursor of the next page when there is one. */
static void keep_orders(list_call_t *c, const PGresult *res, long long total)
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
		list_json_str(&b, &at, &cap, v[ORDER_ID]);
		list_json_raw(&b, &at, &cap, ",\"accountId\":");
		list_json_str(&b, &at, &cap, v[ORDER_ACCOUNT_ID]);
		list_json_raw(&b, &at, &cap, ",\"channel\":");
		list_json_str(&b, &at, &cap, v[ORDER_CHANNEL]);
		list_json_raw(&b, &at, &cap, ",\"mlOrderId\":");
		list_json_id(&b, &at, &cap, legacy_ml_id(v[ORDER_CHANNEL], v[ORDER_EXTERNAL_ID]));
		list_json_raw(&b, &at, &cap, ",\"externalId\":");
		list_json_str(&b, &at, &cap, v[ORDER_EXTERNAL_ID]);
		list_json_raw(&b, &at, &cap, ",\"status\":");
		list_json_str(&b, &at, &cap, v[ORDER_STATUS]);
		list_json_raw(&b, &at, &cap, ",\"statusDetail\":");
		list_json_str(&b, &at, &cap, v[ORDER_STATUS_DETAIL]);
		list_json_raw(&b, &at, &cap, ",\"dateCreated\":");
		add_time(&b, &at, &cap, v[ORDER_DATE_CREATED]);
		list_json_raw(&b, &at, &cap, ",\"dateClosed\":");
		add_time(&b, &at, &cap, v[ORDER_DATE_CLOSED]);
		list_json_raw(&b, &at, &cap, ",\"lastUpdated\":");
		add_time(&b, &at, &cap, v[ORDER_LAST_UPDATED]);
		list_json_raw(&b, &at, &cap, ",\"totalAmount\":");
		list_json_raw(&b, &at, &cap, v[ORDER_TOTAL_AMOUNT]);
		list_json_raw(&b, &at, &cap, ",\"paidAmount\":");
		list_json_raw(&b, &at, &cap, v[ORDER_PAID_AMOUNT]);
		list_json_raw(&b, &at, &cap, ",\"currency\":");
		list_json_str(&b, &at, &cap, v[ORDER_CURRENCY]);
		list_json_raw(&b, &at, &cap, ",\"buyer\":{\"id\":");
		list_json_raw(&b, &at, &cap, v[ORDER_BUYER_ID]);
		list_json_raw(&b, &at, &cap, ",\"nickname\":");
		list_json_str(&b, &at, &cap, v[ORDER_BUYER_NICKNAME]);
		list_json_raw(&b, &at, &cap, "},\"packId\":");
		list_json_raw(&b, &at, &cap, v[ORDER_PACK_ID]);
		list_json_raw(&b, &at, &cap, ",\"shippingId\":");
		list_json_id(&b, &at, &cap, v[ORDER_SHIPMENT_EXTERNAL_ID]);
		list_json_raw(&b, &at, &cap, ",\"tags\":");
		list_json_raw(&b, &at, &cap, v[ORDER_TAGS] ? v[ORDER_TAGS] : "[]");
		list_json_raw(&b, &at, &cap, ",\"oversold\":");
		list_json_raw(&b, &at, &cap,
			      v[ORDER_OVERSOLD] && v[ORDER_OVERSOLD][0] == 't' ? "true" : "false");
		list_json_raw(&b, &at, &cap, "}");
	}
	list_json_raw(&b, &at, &cap, "]");
	c->items = b;
	c->items_len = at;
	c->total = total;
	/* The cursor: the last row's exact date_created and id. */
	if (n == c->l.limit && n > 0) {
		c->next_key = xstrdup(pg_value(res, n - 1, ORDER_DATE_CREATED));
		c->next_id = xstrdup(pg_value(res, n - 1, ORDER_ID));
	}
}

static void keep_failure(list_call_t *c, const char *what, const PGresult *res, const char *err)
{
	if (c->failed)
		return;
	c->failed = what;
	c->err = xstrdup(err);
	c->bad_value = res && strncmp(pg_sqlstate(res), "22", 2) == 0;
}

static void list_answer(list_call_t *c)
{
	if (--c->pending > 0)
		return;
	req_t *r = c->r;
	if (c->failed && c->bad_value)
		http_invalid(r, http_problem(NULL, "query", "has a value that cannot be read"));
	else if (c->failed)
		list_db_error(r, c->failed, NULL, c->err);
	else {
		/* list_render_text writes the items' text after "orders": the summary rides along.
		 */
		size_t at = c->items_len, cap = c->items_len + 1;
		list_json_raw(&c->items, &at, &cap, ",\"summary\":");
		list_json_raw(&c->items, &at, &cap, c->summary);
		list_render_text(r, "orders", c->items, at, c->total, &c->l, c->next_key,
				 c->next_id);
	}
	free(c->err);
	free(c->items);
	free(c->summary);
	free(c->next_key);
	free(c->next_id);
	free(c);
}

static void summarized(const PGresult *res, const char *err, void *arg)
{
	list_call_t *c = arg;
	if (err || PQntuples(res) != 1) {
		keep_failure(c, "orders: summary", res, err ? err : "no row");
	} else {
		const char *cur = pg_value(res, 0, ORDER_SUMMARY_CURRENCY);
		char buf[512];
		snprintf(
		    buf, sizeof(buf),
		    "{\"totalOrders\":%s,\"totalRevenue\":%s,\"avgOrderValue\":%s,"
		    "\"totalUnits\":%s,\"currency\":\"%s\"}",
		    pg_value(res, 0, ORDER_SUMMARY_COUNT), pg_value(res, 0, ORDER_SUMMARY_REVENUE),
		    pg_value(res, 0, ORDER_SUMMARY_AVERAGE), pg_value(res, 0, ORDER_SUMMARY_UNITS),
		    cur && strlen(cur) == 3 ? cur : "BRL");
		c->summary = xstrdup(buf);
	}
	list_answer(c);
}

static void listed(const PGresult *rows, long long total, const char *err, void *arg)
{
	list_call_t *c = arg;
	if (err)
		keep_failure(c, "orders: list", rows, err);
	else
		keep_orders(c, rows, total);
	list_answer(c);
}

#define AMOUNT_MAX 1e11 /* numeric(14, 2) holds less than 1e12 */

/* ?oversold=true|false: NULL when absent. */
static const char *oversold_param(req_t *r, json_t **details)
{
	const char *v = list_text_param(r, "oversold", 8, details);
	if (v && strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
		*details = http_problem(*details, "oversold", "must be true or false");
		return NULL;
	}
	return v;
}

static void list(req_t *r)
{
	if (!perm_require(r, "orders.view"))
		return;
	json_t *d = NULL;
	list_call_t *c = xcalloc(1, sizeof(*c));
	c->r = r;
	list_parse(r, &c->l, &d);
	orders_filter_t f = {
	    .account_id = list_uuid_param(r, "accountId", &d),
	    .status = list_text_param(r, "status", 40, &d),
	    .from = list_time_param(r, "from", &d),
	    .to = list_time_param(r, "to", &d),
	    .channel = list_channel_param(r, &d),
	    .fulfillment =
		validate_query_enum(r, "fulfillmentChannel", channels_fulfillments(), &d),
	    .min_amount = validate_query_amount(r, "minAmount", AMOUNT_MAX, &d),
	    .max_amount = validate_query_amount(r, "maxAmount", AMOUNT_MAX, &d),
	    .oversold = oversold_param(r, &d),
	};
	if (f.min_amount && f.max_amount && strtod(f.min_amount, NULL) > strtod(f.max_amount, NULL))
		d = http_problem(d, "minAmount", "must not exceed maxAmount");
	if (d) {
		free(c);
		http_invalid(r, d);
		return;
	}
	page_t page = list_page_of(&c->l);
	c->pending = 2;
	orders_summary(r->app, r->tenant_id, &f, summarized, c);
	orders_list(r->app, r->tenant_id, &f, &page, listed, c);
}

static void get(req_t *r)
{
	const char *id;
	if (!perm_require(r, "orders.view") || !(id = list_id(r, "order")))
		return;
	orders_get(r->app, r->tenant_id, id, list_one_done, list_ctx(r, "order", NULL));
}

typedef struct stats_call {
	req_t *r;
	char from[16], to[16];
} stats_call_t;

/* orders_per_day's rows as {from, to, count, revenue, averageTicket, currency, perDay}; numbers
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
	list_json_raw(&b, &at, &cap, n ? pg_value(res, 0, ORDER_PERIOD_COUNT) : "0");
	list_json_raw(&b, &at, &cap, ",\"revenue\":");
	list_json_raw(&b, &at, &cap, n ? pg_value(res, 0, ORDER_PERIOD_REVENUE) : "0");
	list_json_raw(&b, &at, &cap, ",\"averageTicket\":");
	list_json_raw(&b, &at, &cap, n ? pg_value(res, 0, ORDER_PERIOD_AVERAGE_TICKET) : "0");
	list_json_raw(&b, &at, &cap, ",\"currency\":");
	list_json_str(&b, &at, &cap,
		      n && pg_value(res, 0, ORDER_PERIOD_CURRENCY)
			  ? pg_value(res, 0, ORDER_PERIOD_CURRENCY)
			  : "BRL");
	list_json_raw(&b, &at, &cap, ",\"perDay\":[");
	for (int i = 0; i < n; i++) {
		list_json_raw(&b, &at, &cap, i ? ",{\"date\":" : "{\"date\":");
		list_json_str(&b, &at, &cap, pg_value(res, i, ORDER_DAY_DATE));
		list_json_raw(&b, &at, &cap, ",\"count\":");
		list_json_raw(&b, &at, &cap, pg_value(res, i, ORDER_DAY_COUNT));
		list_json_raw(&b, &at, &cap, ",\"revenue\":");
		list_json_raw(&b, &at, &cap, pg_value(res, i, ORDER_DAY_REVENUE));
		list_json_raw(&b, &at, &cap, ",\"averageTicket\":");
		list_json_raw(&b, &at, &cap, pg_value(res, i, ORDER_DAY_AVERAGE_TICKET));
		list_json_raw(&b, &at, &cap, "}");
	}
	list_json_raw(&b, &at, &cap, "]}");
	list_reply_json(c->r, b);
	free(b);
}

/* ?from=&to= (dates, UTC; default the last 30 days) and ?accountId=. */
static void stats(req_t *r)
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
	orders_per_day(r->app, r->tenant_id, account, f, t, stats_done, c);
}

void api_orders_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(
	    s, "GET", "/api/orders", list, ROUTE_AUTH,
	    "Synced orders of every channel, newest first (accountId, channel, status, from, to, "
	    "oversold; "
	    "page/limit or cursor)");
	http_route(s, "GET", "/api/orders/stats", stats, ROUTE_AUTH,
		   "Order count, revenue and average ticket per day (from, to, accountId)");
	http_route(s, "GET", "/api/orders/:id", get, ROUTE_AUTH,
		   "One order with its lines, payments and shipment");
}
