/* sellerhubd: read the configuration, apply migrations, open the loop, wire the modules, serve,
 * and on SIGTERM/SIGINT stop accepting, finish what is in flight and exit 0. */
#include "api.h"
#include "app.h"
#include "auth.h"
#include "channel.h"
#include "alerts.h"
#include "exports.h"
#include "janitor.h"
#include "upkeep.h"
#include "log.h"
#include "loop_lag.h"
#include "metrics.h"
#include "migrate.h"
#include "sync_engine.h"
#include "tenant_events.h"
#include "jobs.h"
#include "stock_push.h"
#include "throttle.h"
#include "webhooks.h"
#include "util.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Priorities: 0 unused, 1 everything (libevent's default middle), 2 the log flush, which so
 * runs only when nothing else is ready: one write() per loop turn, just before it sleeps. */
#define PRIORITIES 3

static struct event flush_ev;

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	log_flush();
}

static void schedule_flush(void)
{
	event_active(&flush_ev, EV_TIMEOUT, 0);
}

/* libevent writes its warnings to stderr as bare text; they become our JSON lines, rate-limited
 * (a failed accept is one warning each, and they can come as fast as the loop turns). */
static void libevent_log(int severity, const char *msg)
{
	enum log_level lvl = severity == EVENT_LOG_DEBUG  ? LOG_DEBUG
			     : severity == EVENT_LOG_MSG  ? LOG_INFO
			     : severity == EVENT_LOG_WARN ? LOG_WARN
							  : LOG_ERROR;
	log_library(lvl, "libevent", msg);
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

static void usage(FILE *f)
{
	fputs("usage: sellerhubd [serve|migrate]\n"
	      "  serve    apply migrations, then serve HTTP (default)\n"
	      "  migrate  apply migrations and exit\n"
	      "Settings come from the environment; see etc/sellerhub.env.example.\n",
	      f);
}

static bool run_migrations(const config_t *cfg)
{
	char *dir = migrate_find_dir();
	if (!dir) {
		log_error("migrate: no sql/ directory found (set SQL_DIR)");
		return false;
	}
	char err[512];
	int applied = 0;
	bool ok = migrate_run(cfg->database_url, dir, &applied, err, sizeof(err));
	if (!ok)
		log_error("%s", err);
	else
		log_info("migrate: %d applied, schema up to date", applied);
	free(dir);
	return ok;
}

typedef struct shutdown {
	app_t *app;
	struct event *sigterm, *sigint, *deadline;
	bool stopping;
	int waiting; /* the HTTP drain and the running jobs */
} shutdown_t;

static void drained(void *arg)
{
	shutdown_t *sd = arg;
	if (--sd->waiting > 0)
		return;
	log_info("shutdown: drained, closing");
	event_base_loopexit(sd->app->base, NULL);
}

/* Jobs still running then are abandoned; the stale-job sweep of another process (or of the
 * next start) runs them again. */
static void deadline(evutil_socket_t fd, short what, void *arg)
{
	shutdown_t *sd = arg;
	log_warn("shutdown: deadline passed, exiting with work in flight");
	event_base_loopexit(sd->app->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	shutdown_t *sd = arg;
	if (sd->stopping) {
		log_warn("shutdown: second signal, exiting now");
		event_base_loopbreak(sd->app->base);
		return;
	}
	sd->stopping = true;
	log_info("shutdown: %s received, draining %zu requests (up to %d s)",
		 sig == SIGTERM ? "SIGTERM" : "SIGINT", http_in_flight(sd->app->http),
		 sd->app->cfg.shutdown_timeout_s);
	sd->waiting = 2;
	struct timeval tv = {sd->app->cfg.shutdown_timeout_s + 1, 0};
	evtimer_add(sd->deadline, &tv);
	http_server_drain(sd->app->http, sd->app->cfg.shutdown_timeout_s, drained, sd);
	jobs_stop(sd->app->jobs, drained, sd);
}

static int serve(app_t *app)
{
	event_set_log_callback(libevent_log);
	evthread_use_pthreads();
	struct event_config *ec = event_config_new();
	/* epoll changes made in one loop turn go to the kernel as one epoll_ctl per socket: a
	 * request answered later would otherwise cost four (read off, write on, write off, read
	 * on). Safe here: no socket of ours is dup()ed, the case libevent warns about. */
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	app->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (!app->base || event_base_priority_init(app->base, PRIORITIES) != 0)
		die("cannot create the event loop");
	event_assign(&flush_ev, app->base, -1, 0, flush_cb, NULL);
	event_priority_set(&flush_ev, PRIORITIES - 1);
	log_set_flush_hook(schedule_flush);

	app->started_ms = now_ms();
	loop_lag_t *lag = loop_lag_start(app->base);
	/* Jobs a trigger commits go to this process's queue (sql/0023, jobs_queue_of_session). */
	char pg_settings[96];
	snprintf(pg_settings, sizeof(pg_settings), "-c sellerhub.job_queue=%s", app->cfg.job_queue);
	app->pg =
	    pg_pool_new_with(app->base, app->cfg.database_url, app->cfg.pg_pool_size, pg_settings);
	app->redis = redis_new(app->base, app->cfg.redis_url, "main", 0);
	app->workers = workers_new(app->base, app->cfg.workers, app->cfg.worker_nice);
	app->limits = ratelimit_new();
	channels_configure_rates(app);
	app->httpc = httpc_new(app->base, app->limits);
	httpc_set_user_agent(app->httpc, "sellerhub/0.1");
	/* sync-all fans out 4 calls per account to one host; the per-account limiters pace it. */
	httpc_set_max_host_connections(app->httpc, 128);
	app->throttle = throttle_new();
	app->http = http_server_new(app->base, &app->cfg, app);
	/* Hooks run in this order: who is asking, then how often they ask. */
	auth_install(app);
	throttle_install(app);
	api_ops_routes(app);
	api_auth_routes(app);
	api_users_routes(app);
	app->jobs = jobs_new(app);
	stock_push_register(app);
	app->webhooks = webhooks_new(app);
	jobs_set_pressure(app->jobs, webhooks_flooded, app->webhooks);
	api_webhooks_routes(app);
	api_admin_jobs_routes(app);
	app->upkeep = upkeep_new(app);
	channels_start(app);
	sync_register_jobs(app);
	app->alerts = alerts_new(app);
	app->exports = exports_new(app);
	app->janitor = janitor_start(app);
	api_accounts_routes(app);
	api_channel_accounts_routes(app);
	api_sync_routes(app);
	api_sync_manage_routes(app);
	api_items_routes(app);
	api_orders_routes(app);
	api_inventory_routes(app);
	api_discrepancies_routes(app);
	api_products_routes(app);
	app->events = tenant_events_new(app);
	api_alerts_routes(app);
	api_metrics_routes(app);
	api_shipments_routes(app);
	api_exports_routes(app);
	api_finance_routes(app);

	shutdown_t sd = {.app = app};
	sd.sigterm = evsignal_new(app->base, SIGTERM, on_signal, &sd);
	sd.sigint = evsignal_new(app->base, SIGINT, on_signal, &sd);
	sd.deadline = evtimer_new(app->base, deadline, &sd);
	int rc = 0;
	if (http_server_listen(app->http, app->cfg.bind, app->cfg.port)) {
		event_add(sd.sigterm, NULL);
		event_add(sd.sigint, NULL);
		jobs_start(app->jobs);
		log_info("sellerhubd listening on http://%s:%d (pool %d, workers %d, jobs %d)",
			 app->cfg.bind, app->cfg.port, app->cfg.pg_pool_size, app->cfg.workers,
			 app->cfg.job_concurrency);
		log_flush();
		event_base_dispatch(app->base);
	} else {
		log_error("cannot listen on %s:%d: %m", app->cfg.bind, app->cfg.port);
		rc = 1;
	}

	channels_stop(app);
	/* Callbacks still run while these are freed (each fails what it holds): free the callers
	 * before what their callbacks use. */
	http_server_free(app->http);
	workers_free(app->workers);
	httpc_free(app->httpc);
	ratelimit_free(app->limits);
	pg_pool_free(app->pg);
	/* Before jobs and webhooks: its pending answers (an XADD's) call back into them. */
	redis_free(app->redis);
	jobs_free(app->jobs);
	webhooks_free(app->webhooks);
	/* After the clients: their failing callbacks still finish refreshes and sweeps. */
	upkeep_free(app->upkeep);
	janitor_free(app->janitor);
	tenant_events_free(
	    app->events); /* after the server and the pool: their callbacks reach it */
	alerts_free(app->alerts);
	exports_free(app->exports);
	channels_free(app);
	throttle_free(app->throttle);
	auth_free(app);
	event_free(sd.sigterm);
	event_free(sd.sigint);
	event_free(sd.deadline);
	event_del(&flush_ev);
	loop_lag_free(lag);
	event_base_free(app->base);
	libevent_global_shutdown();
	metrics_reset();
	log_info("shutdown: done");
	log_flush();
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "serve";
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc > 2 || (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0)) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	app_t app = {0};
	char err[256];
	if (!config_load(&app.cfg, env_get, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	log_set_level(app.cfg.log_level);

	int rc = run_migrations(&app.cfg) ? 0 : 1;
	if (rc == 0 && strcmp(cmd, "serve") == 0)
		rc = serve(&app);
	log_flush();
	config_free(&app.cfg);
	return rc;
}
