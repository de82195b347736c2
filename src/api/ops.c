/* Operations endpoints: liveness, readiness, Prometheus metrics and the API reference. They
 * answer plain JSON (not the envelope) as probes and scrapers expect, and are never rate
 * limited. */
#include "api.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define READY_TIMEOUT_MS 2000

static void health(req_t *r)
{
	static const char body[] = "{\"status\":\"ok\"}";
	http_reply(r, 200, "application/json", body, sizeof(body) - 1);
}

/* Readiness waits for two checks. The context outlives the request when a check is slower than
 * the timeout, so it is malloc'd and freed by whichever of the three callbacks comes last. */
typedef struct ready {
	req_t *r;
	struct event *timer;
	int pending;
	bool answered;
	int64_t start_us;
	struct {
		bool done, ok;
		double ms;
		char error[128];
	} pg, redis;
} ready_t;

static void check_json(json_t *checks, const char *name, bool done, bool ok, double ms,
		       const char *error)
{
	json_t *c = json_pack("{s:s, s:f}", "status", ok ? "up" : "down", "ms", ms);
	if (!ok)
		json_object_set_new(c, "error", json_string(done ? error : "no answer in time"));
	json_object_set_new(checks, name, c);
}

static void ready_answer(ready_t *c)
{
	if (c->answered)
		return;
	c->answered = true;
	bool ok = c->pg.ok && c->redis.ok;
	json_t *checks = json_object();
	check_json(checks, "postgres", c->pg.done, c->pg.ok, c->pg.ms, c->pg.error);
	check_json(checks, "redis", c->redis.done, c->redis.ok, c->redis.ms, c->redis.error);
	json_t *body =
	    json_pack("{s:s, s:o}", "status", ok ? "ready" : "unavailable", "checks", checks);
	if (!ok) {
		json_t *down = json_array();
		if (!c->pg.ok)
			json_array_append_new(down, json_string("postgres"));
		if (!c->redis.ok)
			json_array_append_new(down, json_string("redis"));
		json_object_set_new(body, "down", down);
	}
	char *s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(body);
	http_reply(c->r, ok ? 200 : 503, "application/json", s, strlen(s));
	free(s);
	c->r = NULL;
}

static void ready_release(ready_t *c)
{
	if (--c->pending > 0)
		return;
	ready_answer(c);
	event_free(c->timer);
	free(c);
}

/* Both checks answered before the timeout: answer, and the timer no longer holds a reference. */
static void ready_both_done(ready_t *c)
{
	ready_answer(c);
	if (evtimer_pending(c->timer, NULL)) {
		evtimer_del(c->timer);
		c->pending--;
	}
}

static void ready_pg(const PGresult *res, const char *err, void *arg)
{
	ready_t *c = arg;
	c->pg.done = true;
	c->pg.ok = !err;
	c->pg.ms = (double)(now_us() - c->start_us) / 1000.0;
	snprintf(c->pg.error, sizeof(c->pg.error), "%s", err ? err : "");
	if (c->redis.done)
		ready_both_done(c);
	ready_release(c);
}

static void ready_redis(redisReply *reply, const char *err, void *arg)
{
	ready_t *c = arg;
	c->redis.done = true;
	c->redis.ok = reply && reply->type == REDIS_REPLY_STATUS;
	c->redis.ms = (double)(now_us() - c->start_us) / 1000.0;
	snprintf(c->redis.error, sizeof(c->redis.error), "%s",
		 err					     ? err
		 : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
							     : "");
	if (c->pg.done)
		ready_both_done(c);
	ready_release(c);
}

static void ready_timeout(evutil_socket_t fd, short what, void *arg)
{
	ready_answer(arg);
	ready_release(arg);
}

static void ready(req_t *r)
{
	app_t *app = r->app;
	ready_t *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->pending = 3;
	c->start_us = now_us();
	c->timer = evtimer_new(app->base, ready_timeout, c);
	struct timeval tv = {READY_TIMEOUT_MS / 1000, (READY_TIMEOUT_MS % 1000) * 1000};
	evtimer_add(c->timer, &tv);
	pg_ping(app->pg, ready_pg, c);
	redis_command(app->redis, ready_redis, c, "PING");
}

/* With METRICS_TOKEN set, /metrics answers only to "Authorization: Bearer <METRICS_TOKEN>"
 * (compared in constant time); without it, it is open to whoever reaches the port. */
static bool metrics_allowed(req_t *r)
{
	const char *want = ((app_t *)r->app)->cfg.metrics_token;
	if (!want)
		return true;
	const char *h = http_header(r, "Authorization");
	const char *code = "NO_TOKEN";
	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		const char *got = h + 7;
		size_t n = strlen(want);
		if (strlen(got) == n && CRYPTO_memcmp(got, want, n) == 0)
			return true;
		code = "TOKEN_INVALID";
	} else if (h) {
		code = "TOKEN_INVALID";
	}
	http_set_header(r, "WWW-Authenticate", "Bearer realm=\"metrics\"");
	http_error(r, 401, code, "The metrics need Authorization: Bearer <METRICS_TOKEN>.", NULL);
	return false;
}

static void metrics(req_t *r)
{
	if (!metrics_allowed(r))
		return;
	struct evbuffer *buf = evbuffer_new();
	metrics_render(buf);
	size_t len = evbuffer_get_length(buf);
	http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8",
		   (const char *)evbuffer_pullup(buf, -1), len);
	evbuffer_free(buf);
}

static void openapi(req_t *r)
{
	json_t *doc = openapi_document(r->app);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	http_reply(r, 200, "application/json", s, strlen(s));
	free(s);
}

static double pg_stat(const app_t *app, int which)
{
	pg_stats_t st;
	pg_pool_stats(app->pg, &st);
	switch (which) {
	case 0:
		return st.connected;
	case 1:
		return st.idle;
	case 2:
		return st.busy + st.pinned;
	case 3:
		return (double)st.waiting;
	case 4:
		return (double)st.queries;
	case 5:
		return (double)st.errors;
	case 6:
		return (double)st.reconnects;
	default:
		return (double)st.bulk_yields;
	}
}

#define PG_GAUGE(n)                                                                                \
	static double pg_stat_##n(void *arg)                                                       \
	{                                                                                          \
		return pg_stat(arg, n);                                                            \
	}
PG_GAUGE(0)
PG_GAUGE(1)
PG_GAUGE(2)
PG_GAUGE(3)
PG_GAUGE(4)
PG_GAUGE(5)
PG_GAUGE(6)
PG_GAUGE(7)

static double redis_up(void *arg)
{
	const app_t *app = arg;
	return redis_connected(app->redis);
}

static double workers_queue(void *arg)
{
	const app_t *app = arg;
	return (double)workers_queued(app->workers);
}

#define HTTPC_STAT(field)                                                                          \
	static double outgoing_##field(void *arg)                                                  \
	{                                                                                          \
		const app_t *app = arg;                                                            \
		struct httpc_stats st;                                                             \
		httpc_stats(app->httpc, &st);                                                      \
		return (double)st.field;                                                           \
	}
HTTPC_STAT(requests)
HTTPC_STAT(attempts)
HTTPC_STAT(retries)
HTTPC_STAT(failures)
HTTPC_STAT(throttled)
HTTPC_STAT(ratelimit_waits)
HTTPC_STAT(in_flight)

static double uptime(void *arg)
{
	const app_t *app = arg;
	return (double)(now_ms() - app->started_ms) / 1000.0;
}

void api_ops_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/health", health, ROUTE_PUBLIC, "Liveness: 200 while the loop runs");
	http_route(s, "GET", "/ready", ready, ROUTE_PUBLIC,
		   "Readiness: 200 when PostgreSQL and Redis answer, else 503 naming what is down");
	http_route(s, "GET", "/metrics", metrics, ROUTE_PUBLIC, "Prometheus metrics");
	http_route(s, "GET", "/openapi.json", openapi, ROUTE_PUBLIC, "This API reference");

	metrics_gauge_fn("sellerhub_pg_connections", "PostgreSQL connections up", "", pg_stat_0,
			 app);
	metrics_gauge_fn("sellerhub_pg_connections_idle", "PostgreSQL connections idle", "",
			 pg_stat_1, app);
	metrics_gauge_fn("sellerhub_pg_connections_busy", "PostgreSQL connections running a query",
			 "", pg_stat_2, app);
	metrics_gauge_fn("sellerhub_pg_queue_length", "Queries waiting for a connection", "",
			 pg_stat_3, app);
	metrics_counter_fn("sellerhub_pg_queries_total", "Queries sent", "", pg_stat_4, app);
	metrics_counter_fn("sellerhub_pg_errors_total", "Queries that failed", "", pg_stat_5, app);
	metrics_counter_fn("sellerhub_pg_reconnects_total", "PostgreSQL connections lost", "",
			   pg_stat_6, app);
	metrics_counter_fn("sellerhub_pg_bulk_yields_total",
			   "Large stores that stayed back while acknowledgements committed", "",
			   pg_stat_7, app);
	metrics_gauge_fn("sellerhub_redis_up", "1 when the Redis connection is up", "", redis_up,
			 app);
	metrics_gauge_fn("sellerhub_worker_jobs_queued", "CPU jobs queued or running", "",
			 workers_queue, app);
	metrics_counter_fn("sellerhub_outgoing_requests_total", "Outgoing API calls", "",
			   outgoing_requests, app);
	metrics_counter_fn("sellerhub_outgoing_attempts_total",
			   "Outgoing attempts, retries included", "", outgoing_attempts, app);
	metrics_counter_fn("sellerhub_outgoing_retries_total",
			   "Outgoing attempts that were retries", "", outgoing_retries, app);
	metrics_counter_fn("sellerhub_outgoing_failures_total",
			   "Outgoing calls that ended without an HTTP answer", "",
			   outgoing_failures, app);
	metrics_counter_fn("sellerhub_outgoing_throttled_total", "429 answers from providers", "",
			   outgoing_throttled, app);
	metrics_counter_fn("sellerhub_ratelimit_waits_total",
			   "Outgoing calls that waited for a rate-limit token", "",
			   outgoing_ratelimit_waits, app);
	metrics_gauge_fn("sellerhub_outgoing_in_flight", "Outgoing calls in flight", "",
			 outgoing_in_flight, app);
	metrics_gauge_fn("sellerhub_uptime_seconds", "Seconds since start", "", uptime, app);
}
