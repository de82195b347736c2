/* /api/webhooks: the tenant's view of its notifications: counts by status and topic with the
 * processing lag, and the backlog still waiting. A notification belongs to a tenant through
 * the tenant's accounts (its user_id) from the account's connection on: a seller another tenant
 * holds too brings none of what arrived before this tenant connected it. */
#include "api.h"
#include "ml.h"
#include "identity.h"
#include "permissions.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>

/* Both statements start from the tenant's Mercado Livre accounts (one per seller: unique
 * (tenant_id, channel, external_id)) and read each seller's rows by index: its window from
 * ml_notifications_processed and ml_notifications_pending (0011), its waiting ones from the latter.
 * OFFSET 0 keeps each subquery a per-account scan: with "ml_user_id IN (the accounts)", or a plain
 * join, the planner could read every tenant's rows (the whole table for the pending list). */
static const char stats_sql[] =
    "WITH mine AS (SELECT n.status, n.topic, n.arrived_at, n.processed_at"
    " FROM accounts a CROSS JOIN LATERAL (SELECT status, topic, arrived_at, processed_at"
    " FROM ml_notifications WHERE ml_user_id = a.external_id::bigint AND status <> 'pending'"
    " AND arrived_at >= greatest(a.created_at, now() - make_interval(hours => $2::int))"
    " UNION ALL SELECT status, topic, arrived_at, processed_at"
    " FROM ml_notifications WHERE ml_user_id = a.external_id::bigint AND status = 'pending'"
    " AND arrived_at >= greatest(a.created_at, now() - make_interval(hours => $2::int))"
    " OFFSET 0) n"
    " WHERE a.tenant_id = $1 AND a.channel = 'ml'),"
    " lag AS (SELECT extract(epoch FROM processed_at - arrived_at) * 1000 AS ms FROM mine"
    " WHERE processed_at IS NOT NULL)"
    " SELECT json_build_object("
    " 'total', (SELECT count(*) FROM mine),"
    " 'byStatus', (SELECT coalesce(json_object_agg(status, c), '{}') FROM"
    " (SELECT status, count(*) AS c FROM mine GROUP BY 1) s),"
    " 'byTopic', (SELECT coalesce(json_object_agg(topic, c), '{}') FROM"
    " (SELECT topic, count(*) AS c FROM mine GROUP BY 1) t),"
    " 'lagMs', (SELECT json_build_object("
    " 'p50', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),"
    " 'p95', round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 1),"
    " 'max', round(max(ms)::numeric, 1)) FROM lag),"
    " 'oldestPending', (SELECT to_char(min(arrived_at) AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM mine WHERE status = 'pending'))::text";

static const char pending_sql[] =
    "SELECT count(*) OVER (), json_build_object("
    " 'id', n.id::text, 'notificationId', n.notification_id, 'topic', n.topic,"
    " 'resource', n.resource, 'mlUserId', n.ml_user_id::text, 'attempts', n.attempts,"
    " 'source', n.source,"
    " 'arrivedAt', to_char(n.arrived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " 'job', (SELECT json_build_object('id', j.id::text, 'status', j.status,"
    " 'attempts', j.attempts, 'lastError', j.last_error,"
    " 'nextAttemptAt', to_char(j.run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))"
    " FROM jobs j WHERE j.id = n.job_id))::text"
    " FROM accounts a CROSS JOIN LATERAL (SELECT id, notification_id, topic, resource,"
    " ml_user_id, attempts, source, arrived_at, job_id FROM ml_notifications"
    " WHERE ml_user_id = a.external_id::bigint AND status = 'pending'"
    " AND arrived_at >= a.created_at OFFSET 0) n"
    " WHERE a.tenant_id = $1 AND a.channel = 'ml'"
    " ORDER BY n.arrived_at, n.id LIMIT $2 OFFSET $3";

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
	const char *params[] = {r->tenant_id, arena_printf(r->arena, "%d", h)};
	pg_query_prepared(((app_t *)r->app)->pg, stats_sql, 2, params, stats_done, w);
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
	const char *params[] = {
	    r->tenant_id, arena_printf(r->arena, "%d", p->limit),
	    arena_printf(r->arena, "%lld", (long long)(p->page - 1) * p->limit)};
	pg_query_prepared(((app_t *)r->app)->pg, pending_sql, 3, params, pending_done, p);
}

void ml_webhook_stats_routes(app_t *app)
{
	http_route(
	    app->http, "GET", "/api/webhooks/stats", stats, ROUTE_AUTH,
	    "Notification counts by status and topic, processing lag p50/p95/max (?hours=24)");
	http_route(app->http, "GET", "/api/webhooks/pending", pending, ROUTE_AUTH,
		   "The tenant's notifications not yet processed, oldest first, with their jobs");
}
