/* /api/metrics: the dashboard (a period's KPIs with an optional comparison, and its charts) and
 * the realtime snapshot of the caller's tenant, read by src/dashboard.c. The dashboard is cached
 * in Redis for 5 minutes under the tenant's dashboard version, which every order write bumps
 * (sql/0019), so a cached answer never hides an order committed after it. The version is read
 * from its copy in Redis (dashboard_versions.h) while that copy is live: a cached answer is then
 * two Redis commands and no PostgreSQL round trip. */
#include "api.h"
#include "dashboard.h"
#include "dashboard_versions.h"
#include "listing.h"
#include "log.h"
#include "permissions.h"
#include "redis.h"
#include "tenant_events.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define CACHE_TTL_S	300
#define MAX_RANGE_YEARS 3

/* "YYYY-MM-DD" as a UTC midnight; false when it is not such a real date. */
static bool parse_day(const char *s, time_t *out)
{
	int y, m, d, n = 0;
	if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    s[4] != '-' || s[7] != '-')
		return false;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
	time_t t = timegm(&tm);
	struct tm back;
	gmtime_r(&t, &back);
	if (back.tm_year != y - 1900 || back.tm_mon != m - 1 || back.tm_mday != d)
		return false; /* 2026-02-30 */
	*out = t;
	return true;
}

static const char *format_day(req_t *r, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	char *b = arena_alloc(r->arena, 11);
	strftime(b, 11, "%Y-%m-%d", &tm);
	return b;
}

static time_t add_years(time_t t, int years)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	tm.tm_year += years;
	return timegm(&tm);
}

/* A date parameter: its value when it is a date, else a problem; *t its midnight. */
static const char *day_param(req_t *r, const char *name, time_t *t, json_t **d)
{
	const char *v = http_query(r, name);
	if (v && *v && !parse_day(v, t)) {
		*d = http_problem(*d, name, "must be an ISO-8601 date (YYYY-MM-DD)");
		return NULL;
	}
	return v && *v ? v : NULL;
}

/* ?startDate&endDate (default: the last 30 days), ?comparison and its dates, ?channel,
 * ?accountId into q; problems into *d. */
static void dashboard_parse(req_t *r, dashboard_query_t *q, json_t **d)
{
	time_t s = 0, e = 0, cs = 0, ce = 0;
	const char *start = day_param(r, "startDate", &s, d);
	const char *end = day_param(r, "endDate", &e, d);
	q->channel = list_channel_param(r, d);
	q->account_id = list_uuid_param(r, "accountId", d);
	if (!start && !end && !http_query(r, "startDate") && !http_query(r, "endDate")) {
		e = (time_t)(wall_ms() / 1000 / 86400 * 86400);
		s = e - 29 * 86400;
		start = format_day(r, s);
		end = format_day(r, e);
	} else if (!start || !end) {
		if (!start && !http_query(r, "startDate"))
			*d = http_problem(*d, "startDate", "is required with endDate");
		if (!end && !http_query(r, "endDate"))
			*d = http_problem(*d, "endDate", "is required with startDate");
		return;
	}
	if (e < s) {
		*d = http_problem(*d, "endDate", "must not be before startDate");
		return;
	}
	if (e > add_years(s, MAX_RANGE_YEARS)) {
		*d = http_problem(*d, "endDate", "must be at most 3 years after startDate");
		return;
	}
	q->start = start;
	q->end = end;
	const char *cmp = http_query(r, "comparison");
	if (!cmp || !*cmp)
		return;
	if (strcmp(cmp, "previous_period") == 0) {
		long days = (long)((e - s) / 86400) + 1;
		cs = s - days * 86400;
		ce = s - 86400;
	} else if (strcmp(cmp, "previous_year") == 0) {
		cs = add_years(s, -1);
		ce = add_years(e, -1);
	} else if (strcmp(cmp, "custom") == 0) {
		const char *a = day_param(r, "comparisonStartDate", &cs, d);
		const char *b = day_param(r, "comparisonEndDate", &ce, d);
		if (!a && !http_query(r, "comparisonStartDate"))
			*d = http_problem(*d, "comparisonStartDate",
					  "is required with comparison=custom");
		if (!b && !http_query(r, "comparisonEndDate"))
			*d = http_problem(*d, "comparisonEndDate",
					  "is required with comparison=custom");
		if (!a || !b)
			return;
		if (ce < cs) {
			*d = http_problem(*d, "comparisonEndDate",
					  "must not be before comparisonStartDate");
			return;
		}
		if (ce > add_years(cs, MAX_RANGE_YEARS)) {
			*d = http_problem(*d, "comparisonEndDate",
					  "must be at most 3 years after comparisonStartDate");
			return;
		}
	} else {
		*d = http_problem(*d, "comparison",
				  "must be previous_period, previous_year or custom");
		return;
	}
	q->prev_start = format_day(r, cs);
	q->prev_end = format_day(r, ce);
}

/* A dashboard request in flight (r's arena): the query and its cache key once the version is
 * known. */
typedef struct dash_call {
	req_t *r;
	dashboard_query_t q;
	char *key;
} dash_call_t;

static void cache_stored(redisReply *reply, const char *err, void *arg)
{
	(void)arg;
	if (err || (reply && reply->type == REDIS_REPLY_ERROR))
		log_warn("metrics: dashboard not cached: %s", err ? err : reply->str);
}

/* The answer's whole body is what is cached: a hit is written out as Redis returned it. */
static void figured(const PGresult *res, const char *err, void *arg)
{
	dash_call_t *c = arg;
	if (err) {
		list_db_error(c->r, "metrics: dashboard", res, err);
		return;
	}
	const char *json = pg_value(res, 0, 0);
	size_t n = strlen(json) + 32;
	char *body = arena_alloc(c->r->arena, n);
	size_t len = (size_t)snprintf(body, n, "{\"success\":true,\"data\":%s}", json);
	if (c->key)
		redis_command(((app_t *)c->r->app)->redis, cache_stored, NULL, "SET %s %b EX %d",
			      c->key, body, len, CACHE_TTL_S);
	http_set_header(c->r, "X-Cache", "miss");
	http_reply(c->r, 200, "application/json; charset=utf-8", body, len);
}

static void cache_read(redisReply *reply, const char *err, void *arg)
{
	dash_call_t *c = arg;
	if (!err && reply && reply->type == REDIS_REPLY_STRING) {
		http_set_header(c->r, "X-Cache", "hit");
		http_reply(c->r, 200, "application/json; charset=utf-8", reply->str, reply->len);
		return;
	}
	if (err)
		c->key = NULL; /* Redis is down: answer from PostgreSQL, cache nothing */
	dashboard_figures(c->r->app, c->r->tenant_id, &c->q, figured, c);
}

/* The cache key of the answer at the tenant's version v, then its lookup. */
static void cache_lookup(dash_call_t *c, const char *v)
{
	const dashboard_query_t *q = &c->q;
	size_t n = 512;
	c->key = arena_alloc(c->r->arena, n);
	snprintf(c->key, n, "dash2:%s:%s:%s:%s:%s:%s:%s:%s", c->r->tenant_id, v, q->start, q->end,
		 q->prev_start ? q->prev_start : "", q->prev_end ? q->prev_end : "",
		 q->channel ? q->channel : "", q->account_id ? q->account_id : "");
	redis_command(((app_t *)c->r->app)->redis, cache_read, c, "GET %s", c->key);
}

static void versioned(const PGresult *res, const char *err, void *arg)
{
	dash_call_t *c = arg;
	if (err) {
		list_db_error(c->r, "metrics: dashboard version", res, err);
		return;
	}
	const char *v = pg_value(res, 0, 0);
	dashboard_versions_raise(c->r->app, c->r->tenant_id,
				 v); /* Redis lost it, or never had it */
	cache_lookup(c, v);
}

/* The version's copy in Redis; none there (a tenant never written, a flushed Redis) or Redis
 * down: PostgreSQL's. */
static void version_copy(redisReply *reply, const char *err, void *arg)
{
	dash_call_t *c = arg;
	if (!err && reply && reply->type == REDIS_REPLY_STRING)
		cache_lookup(c, reply->str);
	else
		dashboard_version(c->r->app, c->r->tenant_id, versioned, c);
}

static void dashboard(req_t *r)
{
	if (!perm_require(r, "reports.view"))
		return;
	json_t *d = NULL;
	dash_call_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	dashboard_parse(r, &c->q, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	app_t *app = r->app;
	if (dashboard_versions_check(app->dash_versions))
		redis_command(app->redis, version_copy, c, "ZSCORE %s %s", DASHBOARD_VERSIONS_KEY,
			      r->tenant_id);
	else
		dashboard_version(r->app, r->tenant_id, versioned, c);
}

static void realtime(req_t *r)
{
	if (!perm_require(r, "reports.view"))
		return;
	json_t *d = NULL;
	const char *channel = list_channel_param(r, &d);
	const char *account = list_uuid_param(r, "accountId", &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	dashboard_realtime(r->app, r->tenant_id, channel, account, list_value_done,
			   list_ctx(r, "metrics: realtime", NULL));
}

/* Server-Sent Events of the caller's tenant (tenant_events.h). */
static void stream(req_t *r)
{
	if (!perm_require(r, "reports.view"))
		return;
	tenant_events_subscribe(((app_t *)r->app)->events, r);
}

void api_metrics_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(
	    s, "GET", "/api/metrics/dashboard", dashboard, ROUTE_AUTH,
	    "A period's KPIs with an optional comparison, and its charts (startDate, endDate, "
	    "comparison, comparisonStartDate, comparisonEndDate, channel, accountId)");
	http_route(s, "GET", "/api/metrics/realtime", realtime, ROUTE_AUTH,
		   "Today's sales, the stock's value, low-stock SKUs and the sync state (channel, "
		   "accountId)");
	http_route(
	    s, "GET", "/api/metrics/stream", stream, ROUTE_AUTH | ROUTE_NO_BODY | ROUTE_QUERY_TOKEN,
	    "Server-Sent Events of the tenant: realtime, order, alert and sync (the access "
	    "token may be given as ?access_token=); order, alert and sync carry an id, and "
	    "a client reconnecting with Last-Event-ID gets what it missed (kept SSE_RESUME_S)"
	    " or, when that is gone, only the fresh realtime object");
}
