/* The ml_notification job. A notification may concern several accounts (the same seller
 * connected by two tenants); the job succeeds when every account's fetch succeeded. Topics that
 * sellerhub keeps (orders, items, questions, shipments, claims) wait for their fetcher; others
 * are recorded as done with a note. */
#include "notifications.h"
#include "app.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOPICS	    16
#define NO_FETCHER_RETRY_MS (10 * 60 * 1000)

typedef struct topic {
	char name[40];
	ml_fetcher_fn fn;
} topic_t;

static topic_t topics[MAX_TOPICS];
static int ntopics;
static metric_t *orphans, *processed;

/* Topics whose data sellerhub stores: never marked done without their fetcher. */
static const char *const kept_topics[] = {"orders_v2", "orders",	"items", "questions",
					  "shipments", "post_purchase", "claims"};

void notifications_register_topic(const char *topic, ml_fetcher_fn fn)
{
	if (ntopics == MAX_TOPICS)
		die("notifications: too many topics");
	snprintf(topics[ntopics].name, sizeof(topics[0].name), "%s", topic);
	topics[ntopics++].fn = fn;
}

static ml_fetcher_fn fetcher_for(const char *topic)
{
	for (int i = 0; i < ntopics; i++)
		if (strcmp(topics[i].name, topic) == 0)
			return topics[i].fn;
	return NULL;
}

static bool kept(const char *topic)
{
	for (size_t i = 0; i < ARRAY_LEN(kept_topics); i++)
		if (strcmp(kept_topics[i], topic) == 0)
			return true;
	return false;
}

/* now(): when this run began, before any fetch; notifications of the same resource that
 * arrived until then are covered by this run. */
static const char load_sql[] =
    "SELECT n.topic, n.resource, n.ml_user_id, n.status,"
    " coalesce(json_agg(json_build_object('id', a.id, 'tenant', a.tenant_id))"
    " FILTER (WHERE a.id IS NOT NULL), '[]')::text, now()::text"
    " FROM ml_notifications n"
    " LEFT JOIN ml_accounts a ON a.ml_user_id = n.ml_user_id AND a.disconnected_at IS NULL"
    " WHERE n.id = $1 GROUP BY n.id";

/* Done (or orphan): this notification and every notification of the same resource that was
 * waiting when this run began (the fetch that followed covers them), with their queued jobs.
 * SKIP LOCKED everywhere: two runs for one resource never wait on each other; a row one of
 * them skips is covered by the other, or processed by its own job. */
static const char finish_sql[] =
    "WITH covered AS ("
    " UPDATE ml_notifications SET status = $2, processed_at = now(), note = $3"
    " WHERE id IN (SELECT id FROM ml_notifications WHERE id = $1 OR (ml_user_id = $4"
    " AND resource = $5 AND status = 'pending' AND arrived_at <= $6::timestamptz)"
    " FOR UPDATE SKIP LOCKED)"
    " RETURNING id)"
    " UPDATE jobs SET status = 'done', finished_at = now(), collapsed_into = $7,"
    " note = 'covered by job ' || $7"
    " WHERE id IN (SELECT id FROM jobs WHERE collapse_key = $4 || ':' || $5"
    " AND status = 'queued' AND id <> $7"
    " AND (payload->>'notification')::bigint IN (SELECT id FROM covered)"
    " FOR UPDATE SKIP LOCKED)";

static const char dead_sql[] =
    "UPDATE ml_notifications SET status = 'dead', processed_at = now(), note = $2 WHERE id = $1";

/* One job's progress through its accounts. */
typedef struct work {
	job_t *job;
	int64_t notification_id;
	char *topic, *resource;
	int64_t ml_user_id;
	char *started; /* database time when the run began */
	json_t *accounts;
	size_t pending;
	char *error; /* the first failure */
	bool retry;
	char status[16], note[160];
} work_t;

static void work_free(work_t *w)
{
	free(w->topic);
	free(w->resource);
	free(w->started);
	free(w->error);
	json_decref(w->accounts);
	free(w);
}

static void recorded(const PGresult *res, const char *err, void *arg)
{
	work_t *w = arg;
	if (err)
		job_retry(w->job, err, -1);
	else if (strcmp(w->status, "dead") == 0)
		job_retry(w->job, w->error, -1); /* the last attempt: the job dies with it */
	else
		job_done(w->job, w->note[0] ? w->note : NULL);
	work_free(w);
}

static void finish(work_t *w, const char *status, const char *note)
{
	char id[24], job[24], user[24];
	snprintf(id, sizeof(id), "%" PRId64, w->notification_id);
	snprintf(job, sizeof(job), "%" PRId64, w->job->id);
	snprintf(user, sizeof(user), "%" PRId64, w->ml_user_id);
	snprintf(w->status, sizeof(w->status), "%s", status);
	snprintf(w->note, sizeof(w->note), "%s", note ? note : "");
	metric_inc(processed);
	if (strcmp(status, "dead") == 0) {
		const char *params[] = {id, note};
		pg_query_prepared(w->job->app->pg, dead_sql, 2, params, recorded, w);
		return;
	}
	const char *params[] = {id, w->status, note, user, w->resource, w->started, job};
	pg_query_prepared(w->job->app->pg, finish_sql, 7, params, recorded, w);
}

static void account_done(const char *err, bool retry, const char *note, void *arg)
{
	work_t *w = arg;
	if (err && !w->error) {
		w->error = xstrdup(err);
		w->retry = retry;
	}
	if (note && !w->note[0])
		snprintf(w->note, sizeof(w->note), "%s", note);
	if (--w->pending > 0)
		return;
	if (!w->error) {
		finish(w, "done", w->note[0] ? w->note : NULL);
		return;
	}
	if (w->retry && job_is_last_attempt(w->job)) {
		finish(w, "dead", w->error); /* then the job dies too (recorded) */
		return;
	}
	if (w->retry) {
		job_retry(w->job, w->error, -1);
		work_free(w);
		return;
	}
	finish(w, "done", w->error); /* permanent: done, with why */
}

static void loaded(const PGresult *res, const char *err, void *arg)
{
	job_t *job = arg;
	if (err) {
		job_retry(job, err, -1);
		return;
	}
	if (PQntuples(res) != 1) {
		job_done(job, "notification no longer exists");
		return;
	}
	work_t *w = xcalloc(1, sizeof(*w));
	w->job = job;
	w->notification_id = json_integer_value(json_object_get(job->payload, "notification"));
	w->topic = xstrdup(pg_value(res, 0, 0));
	w->resource = xstrdup(pg_value(res, 0, 1));
	w->ml_user_id = pg_int(res, 0, 2, 0);
	w->accounts = json_loads(pg_value(res, 0, 4), 0, NULL);
	w->started = xstrdup(pg_value(res, 0, 5));
	size_t n = json_array_size(w->accounts);
	if (n == 0) {
		metric_inc(orphans);
		finish(w, "orphan", "no connected account has this user_id");
		return;
	}
	ml_fetcher_fn fn = fetcher_for(w->topic);
	if (!fn) {
		if (kept(w->topic)) {
			job_retry(job, "no fetcher for this topic in this process",
				  NO_FETCHER_RETRY_MS);
			work_free(w);
		} else {
			finish(w, "done", "topic not kept by sellerhub");
		}
		return;
	}
	w->pending = n;
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_array_get(w->accounts, i);
		ml_notice_t notice = {
		    .notification_id = w->notification_id,
		    .topic = w->topic,
		    .resource = w->resource,
		    .ml_user_id = w->ml_user_id,
		    .account_id = json_string_value(json_object_get(a, "id")),
		    .tenant_id = json_string_value(json_object_get(a, "tenant")),
		};
		fn(job->app, &notice, account_done, w);
	}
}

static void run(job_t *job)
{
	json_int_t id = json_integer_value(json_object_get(job->payload, "notification"));
	if (id <= 0) {
		job_fail(job, "payload has no notification id");
		return;
	}
	char ids[24];
	snprintf(ids, sizeof(ids), "%" JSON_INTEGER_FORMAT, id);
	const char *params[] = {ids};
	pg_query_prepared(job->app->pg, load_sql, 1, params, loaded, job);
}

void notifications_register_jobs(struct app *app)
{
	orphans = metrics_counter("sellerhub_notifications_orphan_total",
				  "Notifications for no connected account", "");
	processed = metrics_counter("sellerhub_notifications_processed_total",
				    "Notifications processed", "");
	jobs_register(app->jobs, "ml_notification", run);
}
