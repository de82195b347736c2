/* The ml_notifications job: one group of notifications committed together. Each notification
 * keeps its own status, so an attempt only processes what is still pending. For each one:
 *   - no connected account has its user_id (in any tenant): orphan, counted, never retried;
 *   - a topic sellerhub does not keep: done, with a note;
 *   - a kept topic with no fetcher in this process: left pending, the job tries again later;
 *   - otherwise one fetch per account and resource, however many notifications of the group
 *     name that resource; when it succeeds they are done, and so is any other pending
 *     notification of the same resource that arrived before this attempt began (the fetch
 *     came after it, so it covers it too).
 * One seller may be held by several tenants, each with its own account and tokens. Each gets
 * the resource, and one account's own trouble is not the others': an account whose
 * authorization expired is left out while another of the seller's works, and when one account
 * stored the resource, another's permanent failure (its tokens refused, say) does not fail the
 * notification. That account's tenant reconnects it (its account says so) and syncs.
 * Retryable failures (429, 5xx, network) retry the job with backoff; at the last attempt the
 * notifications still failing are marked dead with the job, unless an account stored them.
 * The job is JOB_REPLAYABLE: its claim, the marks and its end commit without waiting for the
 * WAL flush (three fsyncs fewer per group). Lost in a PostgreSQL crash, they leave the
 * notifications pending and the job queued or running, to be run again: fetches and upserts. */
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
static metric_t *orphans, *processed, *fetches;

/* Topics whose data sellerhub stores: never marked done without their fetcher, and the only
 * ones stored (rows of other topics, from before the intake checked, are done at once). */
static const char *const kept_topics[] = {"orders_v2", "orders",	"items", "questions",
					  "shipments", "post_purchase", "claims"};

void notifications_register_topic(const char *topic, ml_fetcher_fn fn)
{
	if (ntopics == MAX_TOPICS)
		die("notifications: too many topics");
	snprintf(topics[ntopics].name, sizeof(topics[0].name), "%s", topic);
	topics[ntopics++].fn = fn;
}

bool ml_resource_id(const char *resource, const char *prefix, bool digits_only, size_t max,
		    char *out, size_t size)
{
	static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789_-";
	const char *id;
	if (prefix) {
		size_t n = strlen(prefix);
		if (strncmp(resource, prefix, n) != 0)
			return false;
		id = resource + n;
	} else {
		const char *slash = strrchr(resource, '/');
		id = slash ? slash + 1 : resource;
	}
	size_t len = strlen(id);
	if (len == 0 || len > max || len >= size ||
	    strspn(id, digits_only ? "0123456789" : id_chars) != len)
		return false;
	memcpy(out, id, len + 1);
	return true;
}

static ml_fetcher_fn fetcher_for(const char *topic)
{
	for (int i = 0; i < ntopics; i++)
		if (strcmp(topics[i].name, topic) == 0)
			return topics[i].fn;
	return NULL;
}

bool notifications_topic_kept(const char *topic)
{
	for (size_t i = 0; i < ARRAY_LEN(kept_topics); i++)
		if (strcmp(kept_topics[i], topic) == 0)
			return true;
	return false;
}

/* now(): when this attempt began, before any fetch. */
static const char load_sql[] =
    "SELECT n.id, n.topic, n.resource, n.ml_user_id,"
    " coalesce(json_agg(json_build_object('id', a.id, 'tenant', a.tenant_id,"
    " 'expired', a.status = 'expired') ORDER BY a.created_at, a.id)"
    " FILTER (WHERE a.id IS NOT NULL), '[]')::text, now()::text"
    " FROM ml_notifications n"
    " LEFT JOIN accounts a ON a.channel = 'ml' AND a.external_id = n.ml_user_id::text"
    " AND a.disconnected_at IS NULL"
    " WHERE n.job_id = $1 AND n.status = 'pending' GROUP BY n.id ORDER BY n.id";

/* The group's rows are named by job as well as by id: (job_id, status) is then an exact index
 * range whatever the statistics say. By id and status alone, with statistics taken before a
 * burst (few pending rows), the planner scanned every pending row for each job, and a backlog
 * of 100,000 took 400 us per notification instead of 30. */
static const char mark_sql[] =
    "UPDATE ml_notifications SET status = $2, processed_at = now(), note = $3"
    " WHERE job_id = $4 AND status = 'pending' AND id = ANY($1::bigint[])"
    " AND " PG_COMMIT_NO_FLUSH_WAIT;

/* SKIP LOCKED: two attempts covering one resource never wait on each other; a row one skips
 * is covered by the other. The resource's pending rows are one range of ml_notifications_pending
 * (ml_user_id, resource, arrived_at), however large the seller's backlog. */
static const char cover_sql[] =
    "UPDATE ml_notifications SET status = 'done', processed_at = now(), note = $2"
    " WHERE id IN (SELECT id FROM ml_notifications WHERE status = 'pending'"
    " AND ((job_id = $6 AND id = ANY($1::bigint[])) OR (ml_user_id = $3 AND resource = $4"
    " AND arrived_at <= $5::timestamptz)) FOR UPDATE SKIP LOCKED)"
    " AND " PG_COMMIT_NO_FLUSH_WAIT;

typedef struct group group_t;

/* One resource of the group, for one user_id: fetched once per account. */
typedef struct target {
	group_t *g;
	char *topic, *resource;
	int64_t ml_user_id;
	json_t *ids;	  /* the group's notifications naming it */
	json_t *accounts; /* [{id, tenant, expired}]: the ones to fetch for */
	size_t fetching;
	size_t stored; /* accounts that got the resource */
	char *error;   /* the first failure of an account */
	bool retry;    /* some account's failure was retryable */
	char note[160];
} target_t;

struct group {
	job_t *job;
	char job_id[24]; /* as a statement parameter */
	char *started;
	target_t *targets;
	size_t ntargets;
	json_t *orphan_ids, *unkept_ids;
	size_t outstanding; /* fetches and updates not yet answered */
	bool waiting_fetcher;
	char *error; /* the first retryable failure */
	json_t *failed_ids;
};

static char *id_array(json_t *ids)
{
	size_t n = json_array_size(ids), cap = 2 + n * 21, len = 0;
	char *s = xmalloc(cap);
	s[len++] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
					json_integer_value(json_array_get(ids, i)));
	s[len++] = '}';
	s[len] = '\0';
	return s;
}

static void group_free(group_t *g)
{
	for (size_t i = 0; i < g->ntargets; i++) {
		target_t *t = &g->targets[i];
		free(t->topic);
		free(t->resource);
		free(t->error);
		json_decref(t->ids);
		json_decref(t->accounts);
	}
	free(g->targets);
	free(g->started);
	free(g->error);
	json_decref(g->orphan_ids);
	json_decref(g->unkept_ids);
	json_decref(g->failed_ids);
	free(g);
}

static void group_end(group_t *g)
{
	job_t *job = g->job;
	if (g->error) {
		job_retry(job, g->error, -1);
	} else if (g->waiting_fetcher) {
		job_retry(job, "no fetcher for a kept topic in this process", NO_FETCHER_RETRY_MS);
	} else {
		job_done(job, NULL);
	}
	group_free(g);
}

static void release(group_t *g);

static void updated(const PGresult *res, const char *err, void *arg)
{
	group_t *g = arg;
	if (err && !g->error)
		g->error = xstrdup(err);
	release(g);
}

static void update(group_t *g, const char *sql, int n, const char *const *params)
{
	g->outstanding++;
	pg_query_prepared(g->job->app->pg, sql, n, params, updated, g);
}

static void mark(group_t *g, json_t *ids, const char *status, const char *note)
{
	if (json_array_size(ids) == 0)
		return;
	char *arr = id_array(ids);
	const char *params[] = {arr, status, note, g->job_id};
	update(g, mark_sql, 4, params);
	free(arr);
}

/* Everything answered: record what is dead (last attempt), then end the job. */
static void release(group_t *g)
{
	if (--g->outstanding > 0)
		return;
	if (g->error && job_is_last_attempt(g->job) && json_array_size(g->failed_ids) > 0) {
		json_t *failed = g->failed_ids;
		g->failed_ids = json_array();
		g->outstanding = 1;
		mark(g, failed, "dead", g->error);
		json_decref(failed);
		release(g);
		return;
	}
	group_end(g);
}

static void target_done(target_t *t)
{
	group_t *g = t->g;
	metric_add(processed, (double)json_array_size(t->ids));
	/* Retried for the accounts that failed; at the last attempt, done if one stored it. */
	bool last = job_is_last_attempt(g->job);
	if (t->error && t->stored > 0 && (!t->retry || last)) {
		log_info("notifications: %s fetched for %zu of %zu accounts of user %" PRId64
			 "; the others: %s",
			 t->resource, t->stored, json_array_size(t->accounts), t->ml_user_id,
			 t->error);
		free(t->error);
		t->error = NULL;
	}
	if (!t->error) {
		char *arr = id_array(t->ids), user[24];
		snprintf(user, sizeof(user), "%" PRId64, t->ml_user_id);
		const char *params[] = {
		    arr, t->note[0] ? t->note : NULL, user, t->resource, g->started, g->job_id};
		update(g, cover_sql, 6, params);
		free(arr);
	} else if (t->retry) {
		if (!g->error)
			g->error = xstrdup(t->error);
		json_array_extend(g->failed_ids, t->ids);
	} else {
		mark(g, t->ids, "done", t->error); /* permanent (e.g. 404): done, with why */
	}
	release(g);
}

static void account_done(const char *err, bool retry, const char *note, void *arg)
{
	target_t *t = arg;
	if (!err)
		t->stored++;
	if (err && !t->error) {
		t->error = xstrdup(err);
		t->retry = retry;
	} else if (err && retry) {
		t->retry = true; /* one account's transient failure makes the resource retry */
	}
	if (note && !t->note[0])
		snprintf(t->note, sizeof(t->note), "%s", note);
	if (--t->fetching == 0)
		target_done(t);
}

static target_t *target_for(group_t *g, const char *topic, const char *resource, int64_t user)
{
	for (size_t i = 0; i < g->ntargets; i++)
		if (g->targets[i].ml_user_id == user &&
		    strcmp(g->targets[i].resource, resource) == 0)
			return &g->targets[i];
	return NULL;
}

/* The accounts to fetch for: those whose authorization has not expired, when the seller has any;
 * else all of them (each fails at once, and says why). */
static json_t *usable_accounts(json_t *accounts)
{
	json_t *usable = json_array();
	size_t i;
	json_t *a;
	json_array_foreach(accounts, i, a) if (!json_is_true(json_object_get(a, "expired")))
	    json_array_append(usable, a);
	if (json_array_size(usable) == 0) {
		json_decref(usable);
		return json_incref(accounts);
	}
	return usable;
}

static void loaded(const PGresult *res, const char *err, void *arg)
{
	job_t *job = arg;
	if (err) {
		job_retry(job, err, -1);
		return;
	}
	int rows = PQntuples(res);
	if (rows == 0) {
		job_done(job, "nothing pending (covered by another run)");
		return;
	}
	group_t *g = xcalloc(1, sizeof(*g));
	g->job = job;
	snprintf(g->job_id, sizeof(g->job_id), "%" PRId64, job->id);
	g->started = xstrdup(pg_value(res, 0, 5));
	g->orphan_ids = json_array();
	g->unkept_ids = json_array();
	g->failed_ids = json_array();
	g->targets = xcalloc((size_t)rows, sizeof(target_t));
	for (int i = 0; i < rows; i++) {
		json_t *id = json_integer(pg_int(res, i, 0, 0));
		const char *topic = pg_value(res, i, 1), *resource = pg_value(res, i, 2);
		int64_t user = pg_int(res, i, 3, 0);
		json_t *accounts = json_loads(pg_value(res, i, 4), 0, NULL);
		if (json_array_size(accounts) == 0) {
			json_array_append_new(g->orphan_ids, id);
		} else if (!fetcher_for(topic)) {
			if (notifications_topic_kept(topic))
				g->waiting_fetcher = true;
			else
				json_array_append(g->unkept_ids, id);
			json_decref(id);
		} else {
			target_t *t = target_for(g, topic, resource, user);
			if (!t) {
				t = &g->targets[g->ntargets++];
				t->g = g;
				t->topic = xstrdup(topic);
				t->resource = xstrdup(resource);
				t->ml_user_id = user;
				t->ids = json_array();
				t->accounts = usable_accounts(accounts);
			}
			json_array_append_new(t->ids, id);
		}
		json_decref(accounts);
	}
	metric_add(orphans, (double)json_array_size(g->orphan_ids));
	metric_add(processed,
		   (double)(json_array_size(g->orphan_ids) + json_array_size(g->unkept_ids)));
	g->outstanding = 1; /* held until every fetch has started */
	mark(g, g->orphan_ids, "orphan", "no connected account has this user_id");
	mark(g, g->unkept_ids, "done", "topic not kept by sellerhub");
	for (size_t i = 0; i < g->ntargets; i++) {
		target_t *t = &g->targets[i];
		size_t n = json_array_size(t->accounts);
		t->fetching = n;
		g->outstanding++;
		ml_fetcher_fn fn = fetcher_for(t->topic);
		for (size_t a = 0; a < n; a++) {
			json_t *acc = json_array_get(t->accounts, a);
			ml_notice_t notice = {
			    .notification_id = json_integer_value(json_array_get(t->ids, 0)),
			    .topic = t->topic,
			    .resource = t->resource,
			    .ml_user_id = t->ml_user_id,
			    .account_id = json_string_value(json_object_get(acc, "id")),
			    .tenant_id = json_string_value(json_object_get(acc, "tenant")),
			};
			metric_inc(fetches);
			fn(job->app, &notice, account_done, t);
		}
	}
	release(g);
}

static void run(job_t *job)
{
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, job->id);
	const char *params[] = {id};
	pg_query_prepared(job->app->pg, load_sql, 1, params, loaded, job);
}

void notifications_register_jobs(struct app *app)
{
	orphans = metrics_counter("sellerhub_notifications_orphan_total",
				  "Notifications for no connected account", "");
	processed = metrics_counter("sellerhub_notifications_processed_total",
				    "Notifications processed", "");
	fetches =
	    metrics_counter("sellerhub_notifications_fetches_total",
			    "Resource fetches made for notifications (one per resource and account "
			    "in a group)",
			    "");
	jobs_register(app->jobs, ML_NOTIFICATIONS_JOB, run, JOB_REPLAYABLE);
}
