/* The dashboard versions' copy in Redis: see the header. */
#include "dashboard_versions.h"
#include "log.h"
#include "metrics.h"
#include "pg_listen.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CATCH_UP_CHUNK 500 /* tenants per ZADD */

struct dashboard_versions {
	app_t *app;
	pg_listener_t *listener;
	/* Bumped by every change of the listening state: a catch-up of an older one is void. */
	unsigned gen;
	unsigned pending; /* catch-up ZADDs not answered yet */
	bool failed;	  /* one of them failed: not live until the next catch-up */
	bool live;
	metric_t *heard;
};

/* A catch-up's ZADD (or a notification's, with arg NULL) in flight. */
typedef struct zadd_call {
	dashboard_versions_t *dv;
	unsigned gen;
} zadd_call_t;

static void raised(redisReply *reply, const char *err, void *arg)
{
	if (err || (reply && reply->type == REDIS_REPLY_ERROR))
		log_warn("dashboard versions: ZADD failed: %s", err ? err : reply->str);
	zadd_call_t *c = arg;
	if (!c)
		return;
	dashboard_versions_t *dv = c->dv;
	if (c->gen == dv->gen) {
		if (err || (reply && reply->type == REDIS_REPLY_ERROR))
			dv->failed = true;
		if (--dv->pending == 0 && !dv->failed) {
			dv->live = true;
			log_info("dashboard versions: live");
		}
	}
	free(c);
}

void dashboard_versions_raise(app_t *app, const char *tenant_id, const char *version)
{
	redis_command(app->redis, raised, NULL, "ZADD %s GT %s %s", DASHBOARD_VERSIONS_KEY, version,
		      tenant_id);
}

static void on_notify(const char *channel, const char *payload, void *arg)
{
	(void)channel;
	dashboard_versions_t *dv = arg;
	char tenant[40], version[24];
	if (sscanf(payload, "%39s %23s", tenant, version) != 2) {
		log_warn("dashboard versions: bad notification ignored");
		return;
	}
	metric_inc(dv->heard);
	dashboard_versions_raise(dv->app, tenant, version);
}

/* Every tenant's version, as PostgreSQL has it now, into Redis. */
static void caught_up(const PGresult *res, const char *err, void *arg)
{
	zadd_call_t *c = arg;
	dashboard_versions_t *dv = c->dv;
	if (c->gen != dv->gen || err) {
		if (err)
			log_warn("dashboard versions: catch-up failed: %s", err);
		free(c);
		return;
	}
	free(c);
	int n = PQntuples(res);
	dv->pending = 1; /* held until every chunk is sent */
	dv->failed = false;
	for (int i = 0; i < n; i += CATCH_UP_CHUNK) {
		int m = n - i < CATCH_UP_CHUNK ? n - i : CATCH_UP_CHUNK;
		const char *argv[3 + 2 * CATCH_UP_CHUNK];
		size_t lens[3 + 2 * CATCH_UP_CHUNK];
		argv[0] = "ZADD";
		argv[1] = DASHBOARD_VERSIONS_KEY;
		argv[2] = "GT";
		for (int j = 0; j < m; j++) {
			argv[3 + 2 * j] = pg_value(res, i + j, 1);
			argv[4 + 2 * j] = pg_value(res, i + j, 0);
		}
		for (int j = 0; j < 3 + 2 * m; j++)
			lens[j] = strlen(argv[j]);
		zadd_call_t *z = xcalloc(1, sizeof(*z));
		z->dv = dv;
		z->gen = dv->gen;
		dv->pending++;
		redis_commandv(dv->app->redis, raised, z, 3 + 2 * m, argv, lens);
	}
	zadd_call_t *z = xcalloc(1, sizeof(*z));
	z->dv = dv;
	z->gen = dv->gen;
	raised(NULL, NULL, z); /* the hold */
}

static void on_listen_state(bool listening, void *arg)
{
	dashboard_versions_t *dv = arg;
	dv->gen++;
	dv->live = false;
	if (!listening) {
		log_warn("dashboard versions: not listening: cached dashboards are checked against "
			 "PostgreSQL");
		return;
	}
	zadd_call_t *c = xcalloc(1, sizeof(*c));
	c->dv = dv;
	c->gen = dv->gen;
	pg_query(dv->app->pg, "SELECT tenant_id, version FROM dashboard_versions", 0, NULL,
		 caught_up, c);
}

bool dashboard_versions_check(dashboard_versions_t *dv)
{
	if (!dv || !dv->live)
		return false;
	pg_listener_drain(dv->listener);
	return dv->live;
}

static double live_read(void *arg)
{
	return ((dashboard_versions_t *)arg)->live ? 1 : 0;
}

dashboard_versions_t *dashboard_versions_new(app_t *app)
{
	dashboard_versions_t *dv = xcalloc(1, sizeof(*dv));
	dv->app = app;
	static const char *const channels[] = {"dashboard_versions", NULL};
	dv->listener = pg_listener_new(app->base, app->cfg.database_url, channels, on_notify,
				       on_listen_state, dv);
	dv->heard =
	    metrics_counter("sellerhub_dashboard_versions_heard_total",
			    "Dashboard version bumps heard (NOTIFY dashboard_versions)", "");
	metrics_gauge_fn("sellerhub_dashboard_versions_live",
			 "1 while the dashboard versions' copy in Redis is trusted", "", live_read,
			 dv);
	return dv;
}

void dashboard_versions_free(dashboard_versions_t *dv)
{
	if (!dv)
		return;
	pg_listener_free(dv->listener);
	free(dv);
}
