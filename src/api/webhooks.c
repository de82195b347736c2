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
#include "util.h"
#include "webhooks.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUP     1000 /* rows per INSERT: bounds the statement's size */
#define MAX_IN_FLIGHT 3	   /* groups committing at once, each on its own connection */

typedef struct group {
	json_t *rows;
	req_t **reqs;
	size_t n, cap;
	int64_t started_us;
} group_t;

struct webhooks {
	app_t *app;
	netaddr_list_t *allow;
	group_t *next;	/* filling */
	int in_flight;	/* groups being committed */
	int64_t app_id; /* ML_CLIENT_ID as a number, 0 when unset */
	metric_t *received, *stored, *duplicates, *rejected, *unavailable, *group_size, *commit;
};

/* The group's notifications and, when any of them is new, one job to process them: its id is
 * drawn first so every new row can carry it. Answers (job id or NULL, new rows). */
static const char insert_sql[] =
    "WITH input AS ("
    " SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(nid text, topic text, resource text,"
    " user_id bigint, app_id bigint, attempts integer, sent timestamptz, received timestamptz,"
    " source text, body jsonb)),"
    " jid AS (SELECT nextval('jobs_id_seq') AS id),"
    " ins AS ("
    " INSERT INTO ml_notifications (notification_id, topic, resource, ml_user_id,"
    " application_id, attempts, sent_at, received_at, source, body, job_id)"
    " SELECT nid, topic, resource, user_id, app_id, attempts, sent, received, source, body,"
    " jid.id FROM input, jid"
    " ON CONFLICT (notification_id) DO NOTHING"
    " RETURNING id),"
    " job AS ("
    " INSERT INTO jobs (id, kind, queue) SELECT id, 'ml_notifications', $2 FROM jid"
    " WHERE EXISTS (SELECT 1 FROM ins) RETURNING id)"
    " SELECT (SELECT id FROM job), (SELECT count(*) FROM ins)";

static group_t *group_new(void)
{
	group_t *g = xcalloc(1, sizeof(*g));
	g->rows = json_array();
	return g;
}

static void group_free(group_t *g)
{
	json_decref(g->rows);
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
	if (err) {
		/* Not committed: Mercado Livre must retry, so never a 200. */
		log_warn("webhooks: %zu notifications not stored: %s", g->n, err);
		metric_add(w->unavailable, (double)g->n);
		for (size_t i = 0; i < g->n; i++)
			http_error(g->reqs[i], 503, "UNAVAILABLE",
				   "The notification could not be stored; retry later.", NULL);
	} else {
		int fresh = (int)pg_int(res, 0, 1, 0);
		metric_add(w->stored, fresh);
		metric_add(w->duplicates, (double)g->n - fresh);
		for (size_t i = 0; i < g->n; i++) {
			static const char ok[] = "{\"success\":true}";
			http_reply(g->reqs[i], 200, "application/json", ok, sizeof(ok) - 1);
		}
		int64_t job = pg_int(res, 0, 0, 0);
		if (job > 0)
			jobs_dispatch(((app_t *)w->app)->jobs, &job, 1);
	}
	group_free(g);
	flush(w);
}

static void flush(webhooks_t *w)
{
	/* A few groups commit at once: PostgreSQL merges their WAL flushes, and a request waits for
	 * about one commit instead of the one in flight plus its own. */
	if (!w->next || w->next->n == 0 || w->in_flight >= MAX_IN_FLIGHT)
		return;
	group_t *g = w->next;
	w->next = NULL;
	w->in_flight++;
	g->started_us = now_us();
	metric_observe(w->group_size, (double)g->n);
	webhooks_store(w->app, g->rows, committed, g);
}

static void enqueue(webhooks_t *w, req_t *r, json_t *row)
{
	if (!w->next)
		w->next = group_new();
	group_t *g = w->next;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->reqs = xrealloc(g->reqs, g->cap * sizeof(req_t *));
	}
	g->reqs[g->n++] = r;
	json_array_append_new(g->rows, row);
	flush(w);
}

/* --- validation: lenient about known variants, strict about garbage ------------------------ */

/* A positive int64 from a JSON number or a string of digits. */
static bool int64_of(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return *out > 0;
	}
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	if (!*s || strlen(s) > 19)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	errno = 0;
	long long n = strtoll(s, NULL, 10);
	*out = n;
	return errno == 0 && n > 0;
}

/* ISO-8601 as Mercado Livre writes it; anything else is kept only in the raw body. */
static const char *timestamp_of(json_t *v)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) < 19 || strlen(s) > 40)
		return NULL;
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return NULL;
	for (const char *p = s + 19; *p; p++)
		if (!isdigit((unsigned char)*p) && !strchr(".Z+-:", *p))
			return NULL;
	return s;
}

json_t *webhooks_row(json_t *b, const char *source, int64_t app_id_required, json_t **details,
		     bool *foreign)
{
	*foreign = false;
	json_t *idv = json_object_get(b, "_id");
	if (!idv)
		idv = json_object_get(b, "id");
	char idbuf[32];
	const char *nid = NULL;
	if (json_is_string(idv) && json_string_length(idv) > 0 && json_string_length(idv) <= 100)
		nid = json_string_value(idv);
	else if (json_is_integer(idv) && json_integer_value(idv) > 0) {
		snprintf(idbuf, sizeof(idbuf), "%" JSON_INTEGER_FORMAT, json_integer_value(idv));
		nid = idbuf;
	}
	if (!nid)
		*details = http_problem(*details, "_id", "must be a non-empty string (or id)");
	const char *topic = json_string_value(json_object_get(b, "topic"));
	if (!topic || !*topic || strlen(topic) > 64)
		*details = http_problem(*details, "topic", "must be a non-empty string");
	const char *resource = json_string_value(json_object_get(b, "resource"));
	if (!resource || !*resource || strlen(resource) > 500)
		*details = http_problem(*details, "resource", "must be a non-empty string");
	int64_t user_id = 0;
	if (!int64_of(json_object_get(b, "user_id"), &user_id))
		*details = http_problem(*details, "user_id", "must be a positive integer");
	int64_t app_id = 0;
	json_t *appv = json_object_get(b, "application_id");
	if (appv && !int64_of(appv, &app_id))
		*details = http_problem(*details, "application_id", "must be a positive integer");
	if (*details)
		return NULL;
	if (app_id_required && app_id != app_id_required) {
		*foreign = true;
		return NULL;
	}
	/* "orders/1" and "/orders/1" name the same resource; bare ids (messages) stay as they are.
	 */
	json_t *resv = resource[0] != '/' && strchr(resource, '/') ? json_sprintf("/%s", resource)
								   : json_string(resource);
	json_t *attempts = json_object_get(b, "attempts");
	json_t *received = json_object_get(b, "received");
	if (!received)
		received = json_object_get(b, "recieved");
	return json_pack("{s:s, s:s, s:o, s:I, s:o, s:o, s:s?, s:s?, s:s, s:O}", "nid", nid,
			 "topic", topic, "resource", resv, "user_id", (json_int_t)user_id, "app_id",
			 app_id ? json_integer(app_id) : json_null(), "attempts",
			 json_is_integer(attempts) ? json_integer(json_integer_value(attempts))
						   : json_null(),
			 "sent", timestamp_of(json_object_get(b, "sent")), "received",
			 timestamp_of(received), "source", source, "body", b);
}

void webhooks_store(struct app *app, const json_t *rows, pg_cb cb, void *arg)
{
	char *text = json_dumps(rows, JSON_COMPACT);
	const char *params[] = {text, app->cfg.job_queue};
	pg_query_urgent(app->pg, insert_sql, 2, params, cb, arg);
	free(text);
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
	json_t *row = webhooks_row(r->body, "webhook", w->app_id, &details, &foreign);
	if (row) {
		enqueue(w, r, row);
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
	if (w->next)
		group_free(w->next); /* empty: drain answered every request */
	netaddr_list_free(w->allow);
	free(w);
}

void api_webhooks_routes(app_t *app)
{
	http_route(app->http, "POST", "/webhooks/ml", intake, ROUTE_PUBLIC,
		   "Mercado Livre notification: 200 once committed, 400 malformed, 403 foreign "
		   "application or source, 413 too large, 503 database down");
}
