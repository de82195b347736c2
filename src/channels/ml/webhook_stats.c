/* /api/webhooks: the tenant's view of its notifications: counts by status and topic with the
 * processing lag, and the backlog still waiting. A notification belongs to a tenant through
 * the tenant's accounts (its user_id) from the account's connection on: a seller another tenant
 * holds too brings none of what arrived before this tenant connected it. */
#include "api.h"
#include "ml.h"
#include "notification_views.h"
#include "identity.h"
#include "permissions.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>

typedef struct window {
	req_t *r;
	int hours;
} window_t;

static void stats_done(const PGresult *res, const char *err, void *arg)
{
	window_t *w = arg;
	if (err) {
		identity_db_error(w->r, "webhooks: stats", res, err);
		return;
	}
	json_t *data = json_loads(pg_value(res, 0, 0), 0, NULL);
	json_object_set_new(data, "windowHours", json_integer(w->hours));
	http_ok(w->r, 200, data, NULL);
}

static void stats(req_t *r)
{
	if (!perm_require(r, "webhooks.view"))
		return;
	json_t *d = NULL;
	int h = validate_query_int(r, "hours", 24, 1, 24 * 30, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	window_t *w = arena_calloc(r->arena, 1, sizeof(*w));
	w->r = r;
	w->hours = h;
	ml_notification_stats(r->app, r->tenant_id, arena_printf(r->arena, "%d", h), stats_done, w);
}

typedef struct page {
	req_t *r;
	int page, limit;
} page_t;

static void pending_done(const PGresult *res, const char *err, void *arg)
{
	page_t *p = arg;
	if (err) {
		identity_db_error(p->r, "webhooks: pending", res, err);
		return;
	}
	long long total = PQntuples(res) ? pg_int(res, 0, 0, 0) : 0;
	json_t *list = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(list, json_loads(pg_value(res, i, 1), 0, NULL));
	http_ok(p->r, 200,
		json_pack("{s:o, s:{s:i, s:i, s:I, s:I}}", "notifications", list, "pagination",
			  "page", p->page, "limit", p->limit, "total", (json_int_t)total, "pages",
			  (json_int_t)((total + p->limit - 1) / p->limit)),
		NULL);
}

static void pending(req_t *r)
{
	if (!perm_require(r, "webhooks.view"))
		return;
	page_t *p = arena_calloc(r->arena, 1, sizeof(*p));
	p->r = r;
	json_t *d = NULL;
	validate_page(r, &p->page, &p->limit, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	ml_notification_backlog(r->app, r->tenant_id, arena_printf(r->arena, "%d", p->limit),
				arena_printf(r->arena, "%lld", (long long)(p->page - 1) * p->limit),
				pending_done, p);
}

void ml_webhook_stats_routes(app_t *app)
{
	http_route(
	    app->http, "GET", "/api/webhooks/stats", stats, ROUTE_AUTH,
	    "Notification counts by status and topic, processing lag p50/p95/max (?hours=24)");
	http_route(app->http, "GET", "/api/webhooks/pending", pending, ROUTE_AUTH,
		   "The tenant's notifications not yet processed, oldest first, with their jobs");
}
