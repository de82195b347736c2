/* POST /webhooks/ml: Mercado Livre notifications, acknowledged only once committed.
 *
 * Group commit: a notification that arrives while the previous group's INSERT is in flight
 * joins the next group; when a commit returns, every request of its group is answered at once
 * and the next group (everything that arrived meanwhile) goes out as one statement. One round
 * trip commits a whole burst, so acknowledgements keep up with the network, not with fsync.
 * The same statement creates the group's job (the notifications keep their own status: see
 * notifications.c); the job id then goes to the Redis Stream (best effort: the jobs sweeper
 * finds anything Redis lost). */
#include "api.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "notification_rows.h"
#include "util.h"
#include "webhooks.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

/* A group's bounds: its rows, and its bodies' bytes (a body may be up to 64 KiB). */
#define MAX_GROUP	1000
#define MAX_GROUP_BYTES (4 << 20)
/* Groups committing at once. A statement costs PostgreSQL about 180 us of CPU whatever its size
 * (commit flush, executor start, the job row): with one group in flight, groups grow with the
 * load (24 rows at 25,000/s) and that cost is shared; at two or three in flight they were 13
 * and 9 rows and acknowledgements/s fell by 12 and 20 % (make bench-webhooks, 2 cores). */
#define MAX_IN_FLIGHT 1

typedef struct group {
	TAILQ_ENTRY(group) link;
	notification_rows_t *rows;
	req_t **reqs;
	size_t n, cap, bytes;
	int64_t started_us;
} group_t;

struct webhooks {
	app_t *app;
	netaddr_list_t *allow;
	TAILQ_HEAD(group_list, group) waiting; /* filling at the tail, next to commit at the head */
	int in_flight;			       /* groups being committed */
	int64_t app_id;			       /* ML_CLIENT_ID as a number, 0 when unset */
	metric_t *received, *stored, *duplicates, *rejected, *unavailable, *group_size, *commit;
};

/* The group's notifications and, when any of them is new, one job to process them: its id is
 * drawn first so every new row can carry it. Answers (job id or NULL, new rows). A duplicate
 * _id, of an earlier group or of this one, is skipped by ON CONFLICT. */
static const char insert_sql[] =
    "WITH jid AS (SELECT nextval('jobs_id_seq') AS id),"
    " ins AS ("
    " INSERT INTO ml_notifications (notification_id, topic, resource, ml_user_id,"
    " application_id, attempts, sent_at, received_at, body, source, job_id)"
    " SELECT r.*, $10, jid.id FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[],"
    " $5::bigint[], $6::integer[], $7::timestamptz[], $8::timestamptz[], $9::text[]) AS r, jid"
    " ON CONFLICT (notification_id) DO NOTHING"
    " RETURNING id),"
    " job AS ("
    " INSERT INTO jobs (id, kind, queue) SELECT id, 'ml_notifications', $11 FROM jid"
    " WHERE EXISTS (SELECT 1 FROM ins) RETURNING id)"
    " SELECT (SELECT id FROM job), (SELECT count(*) FROM ins)";

static group_t *group_new(void)
{
	group_t *g = xcalloc(1, sizeof(*g));
	g->rows = notification_rows_new();
	return g;
}

static void group_free(group_t *g)
{
	notification_rows_free(g->rows);
	free(g->reqs);
	free(g);
}

static void flush(webhooks_t *w);

static void committed(const PGresult *res, const char *err, void *arg)
{
	group_t *g = arg;
	webhooks_t *w = ((app_t *)g->reqs[0]->app)->webhooks;
	w->in_flight--;
	metric_observe(w->commit, (double)(now_us() - g->started_us) / 1e6);
	/* The next group goes to PostgreSQL before this one's answers are written: the database
	 * commits it while the loop writes, instead of waiting for the loop. */
	flush(w);
	if (err) {
		/* Not committed: Mercado Livre must retry, so never a 200. */
		log_warn("webhooks: %zu notifications not stored: %s", g->n, err);
		metric_add(w->unavailable, (double)g->n);
		for (size_t i = 0; i < g->n; i++)
			http_error(g->reqs[i], 503, "UNAVAILABLE",
				   "The notification could not be stored; retry later.", NULL);
	} else {
		int fresh = (int)pg_int(res, 0, 1, 0);
		int64_t job = pg_int(res, 0, 0, 0);
		if (job > 0)
			jobs_dispatch(((app_t *)w->app)->jobs, &job, 1);
		metric_add(w->stored, fresh);
		metric_add(w->duplicates, (double)g->n - fresh);
		for (size_t i = 0; i < g->n; i++) {
			static const char ok[] = "{\"success\":true}";
			http_reply(g->reqs[i], 200, "application/json", ok, sizeof(ok) - 1);
		}
	}
	group_free(g);
}

static void flush(webhooks_t *w)
{
	group_t *g = TAILQ_FIRST(&w->waiting);
	if (!g || w->in_flight >= MAX_IN_FLIGHT)
		return;
	TAILQ_REMOVE(&w->waiting, g, link);
	w->in_flight++;
	g->started_us = now_us();
	metric_observe(w->group_size, (double)g->n);
	webhooks_store(w->app, g->rows, "webhook", committed, g);
}

static void enqueue(webhooks_t *w, req_t *r, const notification_t *n)
{
	size_t len;
	const char *body = http_body_raw(r, &len);
	group_t *g = TAILQ_LAST(&w->waiting, group_list);
	if (!g || g->n == MAX_GROUP || (g->n > 0 && g->bytes + len > MAX_GROUP_BYTES)) {
		g = group_new();
		TAILQ_INSERT_TAIL(&w->waiting, g, link);
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->reqs = xrealloc(g->reqs, g->cap * sizeof(req_t *));
	}
	g->reqs[g->n++] = r;
	g->bytes += len;
	notification_rows_add(g->rows, n, body, len);
	flush(w);
}

void webhooks_store(struct app *app, notification_rows_t *rows, const char *source, pg_cb cb,
		    void *arg)
{
	const char *params[NOTIFICATION_COLUMNS + 2];
	notification_rows_params(rows, params);
	params[NOTIFICATION_COLUMNS] = source;
	params[NOTIFICATION_COLUMNS + 1] = app->cfg.job_queue;
	pg_query_urgent(app->pg, insert_sql, NOTIFICATION_COLUMNS + 2, params, cb, arg);
}

static void intake(req_t *r)
{
	app_t *app = r->app;
	webhooks_t *w = app->webhooks;
	metric_inc(w->received);
	if (!netaddr_list_empty(w->allow) && !netaddr_list_has(w->allow, r->client_ip)) {
		metric_inc(w->rejected);
		http_error(r, 403, "FORBIDDEN_SOURCE", "This address may not send notifications.",
			   NULL);
		return;
	}
	if (!r->body) {
		metric_inc(w->rejected);
		http_error(r, 400, "INVALID_NOTIFICATION", "The notification body is empty.", NULL);
		return;
	}
	json_t *details = NULL;
	bool foreign;
	notification_t n;
	if (notification_parse(r->body, w->app_id, &n, &details, &foreign)) {
		enqueue(w, r, &n);
		return;
	}
	metric_inc(w->rejected);
	if (foreign)
		http_error(r, 403, "FOREIGN_APPLICATION",
			   "The notification is for another application.", NULL);
	else
		http_error(r, 400, "INVALID_NOTIFICATION",
			   "This is not a Mercado Livre notification.", details);
}

webhooks_t *webhooks_new(app_t *app)
{
	webhooks_t *w = xcalloc(1, sizeof(*w));
	w->app = app;
	TAILQ_INIT(&w->waiting);
	char err[96];
	w->allow = netaddr_list_parse(app->cfg.webhook_allow_ips, err, sizeof(err));
	if (!w->allow)
		die("webhooks: WEBHOOK_ALLOW_IPS: %s", err); /* config_load validated it */
	if (app->cfg.ml_client_id) {
		char *end;
		long long id = strtoll(app->cfg.ml_client_id, &end, 10);
		w->app_id = *end ? 0 : id;
	}
	w->received = metrics_counter("sellerhub_webhooks_received_total", "Notifications received",
				      "source=\"ml\"");
	w->stored = metrics_counter("sellerhub_webhooks_stored_total",
				    "Notifications committed (new)", "source=\"ml\"");
	w->duplicates =
	    metrics_counter("sellerhub_webhooks_duplicates_total",
			    "Notifications already stored (acknowledged again)", "source=\"ml\"");
	w->rejected = metrics_counter("sellerhub_webhooks_rejected_total",
				      "Notifications refused (400/403)", "source=\"ml\"");
	w->unavailable =
	    metrics_counter("sellerhub_webhooks_unavailable_total",
			    "Notifications answered 503 (database down)", "source=\"ml\"");
	static const double sizes[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
	w->group_size =
	    metrics_histogram("sellerhub_webhooks_group_size", "Notifications per group commit", "",
			      sizes, ARRAY_LEN(sizes));
	w->commit = metrics_histogram("sellerhub_webhooks_commit_seconds", "Group commit latency",
				      "", NULL, 0);
	return w;
}

void webhooks_free(webhooks_t *w)
{
	if (!w)
		return;
	group_t *g;
	while ((g = TAILQ_FIRST(&w->waiting))) { /* none: drain answered every request */
		TAILQ_REMOVE(&w->waiting, g, link);
		group_free(g);
	}
	netaddr_list_free(w->allow);
	free(w);
}

void api_webhooks_routes(app_t *app)
{
	http_route(app->http, "POST", "/webhooks/ml", intake, ROUTE_PUBLIC,
		   "Mercado Livre notification: 200 once committed, 400 malformed, 403 foreign "
		   "application or source, 413 too large, 503 database down");
}
