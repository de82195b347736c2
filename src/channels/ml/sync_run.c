/* One sync run of one account: a queue of Mercado Livre calls ("tasks") of which up to
 * ML_RUN_IN_FLIGHT are in flight, each answer upserted as it arrives and possibly adding tasks
 * (a scan page adds the next page and its multigets, an orders page adds its shipments).
 *
 *   items      search_type=scan (past the 1000-offset cap), ids 20 at a time through /items?ids=
 *   orders     one window of order.date_created (backfill) or order.date_last_updated
 *              (scheduled) over the whole range; a window holding more than WINDOW_MAX orders
 *              is cut into enough whole-hour parts to hold about 3/4 of that each (its first
 *              page told how many), and so on; then 51 per page
 *   shipments  /shipments/{id} (x-format-new) of each order's shipping.id, and the SLA of the
 *              shipments not yet delivered or cancelled
 *   questions  /questions/search by status, 100 per page
 *
 * Cursors: orders resume from the start of the earliest window not completely stored (pages
 * and shipments); questions from the first status not finished; items rescan their ids (cheap)
 * and skip the multiget of those already stored by this run. Progress is flushed once a second
 * together with a heartbeat (sync_runs.heartbeat_at, and jobs.locked_at so the job sweeper does
 * not take a long run for a dead one). */
#include "sync_run.h"
#include "jobs.h"
#include "log.h"
#include "data.h"
#include "util.h"

#include <event2/event.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW_MAX     1000 /* orders per window: stays under any offset cap */
#define ORDERS_PAGE    51
#define ITEMS_PAGE     100
#define MULTIGET       20
#define QUESTIONS_PAGE 100
#define TASK_ATTEMPTS  8
#define FLUSH_MS       1000

enum res { R_ITEMS, R_ORDERS, R_SHIPMENTS, R_QUESTIONS, R_N };
static const char *const res_names[R_N] = {"items", "orders", "shipments", "questions"};

static const char *const question_statuses[] = {
    "UNANSWERED", "ANSWERED", "CLOSED_UNANSWERED", "UNDER_REVIEW", "BANNED", "DELETED", "DISABLED"};
#define N_QSTATUS ((int)ARRAY_LEN(question_statuses))

enum task_kind { T_SCAN, T_ITEMS, T_ORDERS, T_SHIPMENT, T_SLA, T_QUESTIONS };

typedef struct window window_t;
typedef struct run run_t;

/* One call to make. Owned by the run's queue, then by the call in flight. */
typedef struct task {
	struct task *next;
	run_t *run;
	enum task_kind kind;
	int attempt;
	window_t *win;	     /* T_ORDERS, T_SHIPMENT, T_SLA: the window it belongs to */
	long offset;	     /* T_ORDERS, T_QUESTIONS */
	int status_idx;	     /* T_QUESTIONS */
	int64_t id;	     /* T_SHIPMENT, T_SLA */
	char *ids;	     /* T_ITEMS: comma list; T_SCAN: scroll id or NULL */
	struct event *timer; /* a retry waiting */
} task_t;

/* A range of orders [from, to) in whole hours; done when every page and shipment is stored. */
struct window {
	window_t *next;
	int64_t from, to; /* epoch seconds */
	long total;	  /* -1 until the first page answered */
	int pending;	  /* tasks and upserts not finished */
	bool split, failed;
};

struct res_state {
	const char *state; /* pending, running, done, failed, skipped */
	long long done, total;
	char started[32], finished[32];
	char error[200];
};

struct run {
	app_t *app;
	job_t *job; /* NULL for a scheduled run */
	ml_run_cb cb;
	void *cb_arg;
	char id[40], tenant_id[40], account_id[40], started_at[40];
	int64_t seller;
	bool scheduled, resume, want[R_N];
	int days;
	int64_t since; /* scheduled: orders updated since (epoch s), 0 = none */
	struct res_state r[R_N];
	long long records;
	int errors;
	char fatal[200]; /* set: stop issuing and fail */
	/* the queue: front for follow-ups that must not wait (scroll pages) */
	task_t *head, *tail;
	int in_flight, db_pending, timers;
	/* items */
	bool scan_started, scan_done;
	/* orders */
	window_t *windows; /* sorted by from */
	int64_t orders_end, orders_cursor;
	bool orders_by_update;
	/* questions */
	int q_status, q_pending, q_cursor;
	long q_total[N_QSTATUS];
	/* progress flush */
	struct event *flush_ev;
	bool flushing, finishing;
	char *final_status;
};

static const char load_sql[] =
    "SELECT r.id, r.tenant_id, r.account_id, a.external_id, r.kind, r.scope, r.days,"
    " extract(epoch FROM r.since)::bigint, r.progress::text, r.status, r.started_at::text"
    " FROM sync_runs r JOIN accounts a ON a.id = r.account_id WHERE r.id = $1";

/* A run whose process died (no heartbeat for a minute) and whose job will not resume it. */
static const char abandon_sql[] =
    "UPDATE sync_runs r SET status = 'failed', finished_at = now(),"
    " error = coalesce(error, 'abandoned: the process running it stopped')"
    " WHERE account_id = $1 AND status = 'running'"
    " AND heartbeat_at < now() - interval '60 seconds'"
    " AND (job_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = r.job_id"
    "  AND j.status IN ('queued', 'running', 'failed')))";

/* Orders since the last successful run that covered them, an hour back (the filter counts
 * hours). DO NOTHING: another run holds the account (sync_runs_one_running). */
static const char scheduled_sql[] =
    "INSERT INTO sync_runs (tenant_id, account_id, kind, scope, days, since)"
    " SELECT a.tenant_id, a.id, 'scheduled', 'all', 30,"
    "  (SELECT max(started_at) - interval '1 hour' FROM sync_runs s WHERE s.account_id = a.id"
    "   AND s.status = 'success' AND s.scope IN ('all', 'orders'))"
    " FROM accounts a WHERE a.id = $1"
    " ON CONFLICT DO NOTHING RETURNING id";

static const char flush_sql[] =
    "UPDATE sync_runs SET progress = $2::jsonb, records = $3, errors = $4, heartbeat_at = now()"
    " WHERE id = $1";

static const char heartbeat_job_sql[] =
    "UPDATE jobs SET locked_at = now() WHERE id = $1 AND status = 'running'";

static const char finish_sql[] =
    "UPDATE sync_runs SET status = $2, progress = $3::jsonb, records = $4, errors = $5,"
    " error = $6, finished_at = now(), heartbeat_at = now() WHERE id = $1";

/* cachedData from the synced tables. */
static const char cached_sql[] =
    "UPDATE accounts a SET"
    " cached_products = (SELECT count(*) FROM listings i WHERE i.account_id = a.id),"
    " cached_orders = (SELECT count(*) FROM orders o WHERE o.account_id = a.id),"
    " cached_issues = (SELECT count(*) FROM ml_questions q WHERE q.tenant_id = a.tenant_id"
    "   AND q.account_id = a.id AND q.status = 'UNANSWERED')"
    "  + (SELECT count(*) FROM ml_claims c WHERE c.tenant_id = a.tenant_id"
    "   AND c.account_id = a.id AND c.status = 'opened'),"
    " cached_at = now() WHERE a.id = $1";

/* On resume: which of these item ids this run has not stored yet. */
static const char unsynced_sql[] =
    "SELECT coalesce(string_agg(x, ','), '') FROM unnest(string_to_array($3, ',')) x"
    " WHERE NOT EXISTS (SELECT 1 FROM listings i WHERE i.tenant_id = $1 AND i.account_id = $2"
    " AND i.external_id = x AND i.synced_at >= $4::timestamptz)";

static void pump(run_t *run);
static void maybe_finish(run_t *run);
static void questions_next_status(run_t *run);

/* --- time -------------------------------------------------------------------------------- */

static void iso_now(char *buf, size_t size)
{
	iso8601_utc(wall_ms(), buf, size);
}

/* Whole hours, "2026-08-01T13:00:00.000Z" (Mercado Livre counts these filters to the hour). */
static void iso_hour(int64_t epoch_s, char *buf, size_t size)
{
	time_t t = (time_t)epoch_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:00:00.000Z", &tm);
}

/* --- progress ---------------------------------------------------------------------------- */

static json_t *progress_json(const run_t *run)
{
	json_t *p = json_object();
	for (int i = 0; i < R_N; i++) {
		const struct res_state *s = &run->r[i];
		json_t *o = json_pack("{s:s, s:I, s:I}", "state", s->state, "done",
				      (json_int_t)s->done, "total", (json_int_t)s->total);
		json_object_set_new(o, "started",
				    s->started[0] ? json_string(s->started) : json_null());
		json_object_set_new(o, "finished",
				    s->finished[0] ? json_string(s->finished) : json_null());
		json_object_set_new(o, "error", s->error[0] ? json_string(s->error) : json_null());
		json_object_set_new(p, res_names[i], o);
	}
	json_object_set_new(json_object_get(p, "orders"), "cursor",
			    json_integer(run->orders_cursor));
	json_object_set_new(json_object_get(p, "questions"), "cursor", json_integer(run->q_cursor));
	return p;
}

static void restore_progress(run_t *run, const char *text)
{
	json_t *p = json_loads(text ? text : "{}", 0, NULL);
	for (int i = 0; i < R_N && p; i++) {
		json_t *o = json_object_get(p, res_names[i]);
		if (!o)
			continue;
		struct res_state *s = &run->r[i];
		const char *st = json_string_value(json_object_get(o, "state"));
		if (st && strcmp(st, "done") == 0)
			s->state = "done";
		s->done = json_integer_value(json_object_get(o, "done"));
		s->total = json_integer_value(json_object_get(o, "total"));
		const char *started = json_string_value(json_object_get(o, "started"));
		const char *finished = json_string_value(json_object_get(o, "finished"));
		snprintf(s->started, sizeof(s->started), "%s", started ? started : "");
		snprintf(s->finished, sizeof(s->finished), "%s", finished ? finished : "");
		run->resume = true;
	}
	json_t *oc = json_object_get(json_object_get(p, "orders"), "cursor");
	if (json_is_integer(oc))
		run->orders_cursor = json_integer_value(oc);
	json_t *qc = json_object_get(json_object_get(p, "questions"), "cursor");
	if (json_is_integer(qc))
		run->q_status = run->q_cursor = (int)json_integer_value(qc);
	json_decref(p);
}

static void res_start(run_t *run, enum res r)
{
	struct res_state *s = &run->r[r];
	if (strcmp(s->state, "pending") == 0) {
		s->state = "running";
		if (!s->started[0])
			iso_now(s->started, sizeof(s->started));
	}
}

static void res_finish(run_t *run, enum res r)
{
	struct res_state *s = &run->r[r];
	if (strcmp(s->state, "running") != 0 && strcmp(s->state, "pending") != 0)
		return;
	s->state = s->error[0] ? "failed" : "done";
	iso_now(s->finished, sizeof(s->finished));
}

static void res_error(run_t *run, enum res r, const char *msg)
{
	run->errors++;
	if (!run->r[r].error[0])
		snprintf(run->r[r].error, sizeof(run->r[r].error), "%s", msg);
}

static void flushed(const PGresult *res, const char *err, void *arg)
{
	run_t *run = arg;
	run->flushing = false;
	if (err)
		log_warn("ml_run %s: saving progress failed: %s", run->id, err);
	maybe_finish(run);
}

static void heartbeat_done(const PGresult *res, const char *err, void *arg)
{
	if (err)
		log_warn("ml_run: job heartbeat failed: %s", err);
}

static void flush_progress(run_t *run)
{
	if (run->flushing)
		return;
	run->flushing = true;
	json_t *p = progress_json(run);
	char *text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	char records[24], errors[16];
	snprintf(records, sizeof(records), "%lld", run->records);
	snprintf(errors, sizeof(errors), "%d", run->errors);
	const char *params[] = {run->id, text, records, errors};
	pg_query_prepared(run->app->pg, flush_sql, 4, params, flushed, run);
	free(text);
	if (run->job) {
		char job[24];
		snprintf(job, sizeof(job), "%" PRId64, run->job->id);
		const char *jp[] = {job};
		pg_query_prepared(run->app->pg, heartbeat_job_sql, 1, jp, heartbeat_done, NULL);
	}
}

static void flush_tick(evutil_socket_t fd, short what, void *arg)
{
	flush_progress(arg);
}

/* --- the queue --------------------------------------------------------------------------- */

static task_t *task_new(run_t *run, enum task_kind kind)
{
	task_t *t = xcalloc(1, sizeof(*t));
	t->run = run;
	t->kind = kind;
	return t;
}

static void task_free(task_t *t)
{
	if (t->timer)
		event_free(t->timer);
	free(t->ids);
	free(t);
}

static void push(run_t *run, task_t *t, bool front)
{
	if (t->win)
		t->win->pending++;
	if (front) {
		t->next = run->head;
		run->head = t;
		if (!run->tail)
			run->tail = t;
	} else {
		t->next = NULL;
		if (run->tail)
			run->tail->next = t;
		else
			run->head = t;
		run->tail = t;
	}
}

static task_t *pop(run_t *run)
{
	task_t *t = run->head;
	if (t) {
		run->head = t->next;
		if (!run->head)
			run->tail = NULL;
		t->next = NULL;
	}
	return t;
}

/* --- orders windows ---------------------------------------------------------------------- */

static void window_release(run_t *run, window_t *w);
static void issue_window(run_t *run, window_t *w);

static window_t *window_add(run_t *run, int64_t from, int64_t to)
{
	window_t *w = xcalloc(1, sizeof(*w));
	w->from = from;
	w->to = to;
	w->total = -1;
	window_t **pp = &run->windows;
	while (*pp && (*pp)->from < from)
		pp = &(*pp)->next;
	w->next = *pp;
	*pp = w;
	return w;
}

/* The cursor: the start of the earliest window not finished; finished windows at the front
 * are dropped. */
static void windows_advance(run_t *run)
{
	while (run->windows && run->windows->pending == 0 && !run->windows->failed) {
		window_t *w = run->windows;
		run->windows = w->next;
		if (!w->split) /* a split window's range belongs to its halves */
			run->orders_cursor = w->to;
		free(w);
	}
}

static void window_release(run_t *run, window_t *w)
{
	if (w && --w->pending == 0)
		windows_advance(run);
}

static void issue_window(run_t *run, window_t *w)
{
	task_t *t = task_new(run, T_ORDERS);
	t->win = w;
	t->offset = 0;
	push(run, t, false);
}

/* --- issuing ----------------------------------------------------------------------------- */

static void task_answered(const ml_result_t *res, void *arg);

static void task_path(const task_t *t, char *path, size_t size)
{
	const run_t *run = t->run;
	char from[40], to[40];
	switch (t->kind) {
	case T_SCAN:
		if (t->ids)
			snprintf(path, size,
				 "/users/%" PRId64 "/items/search?search_type=scan&scroll_id=%s",
				 run->seller, t->ids);
		else
			snprintf(path, size,
				 "/users/%" PRId64 "/items/search?search_type=scan&limit=%d",
				 run->seller, ITEMS_PAGE);
		return;
	case T_ITEMS:
		snprintf(path, size, "/items?ids=%s", t->ids);
		return;
	case T_ORDERS:
		iso_hour(t->win->from, from, sizeof(from));
		iso_hour(t->win->to - 3600, to, sizeof(to));
		snprintf(path, size,
			 "/orders/search?seller=%" PRId64 "&order.%s.from=%s&order.%s.to=%s"
			 "&sort=date_asc&offset=%ld&limit=%d",
			 run->seller, run->orders_by_update ? "date_last_updated" : "date_created",
			 from, run->orders_by_update ? "date_last_updated" : "date_created", to,
			 t->offset, ORDERS_PAGE);
		return;
	case T_SHIPMENT:
		snprintf(path, size, "/shipments/%" PRId64, t->id);
		return;
	case T_SLA:
		snprintf(path, size, "/shipments/%" PRId64 "/sla", t->id);
		return;
	case T_QUESTIONS:
		snprintf(path, size,
			 "/questions/search?seller_id=%" PRId64
			 "&api_version=4&status=%s&sort_fields=date_created&sort_types=ASC"
			 "&offset=%ld&limit=%d",
			 run->seller, question_statuses[t->status_idx], t->offset, QUESTIONS_PAGE);
		return;
	}
}

static void issue(task_t *t)
{
	run_t *run = t->run;
	char path[1024];
	task_path(t, path, sizeof(path));
	run->in_flight++;
	ml_account_get(run->app, run->account_id, ML_SYNC_OP, path, task_answered, t);
}

static void pump(run_t *run)
{
	while (!run->fatal[0] && run->in_flight < ML_RUN_IN_FLIGHT && run->head)
		issue(pop(run));
	maybe_finish(run);
}

static void retry_fire(evutil_socket_t fd, short what, void *arg)
{
	task_t *t = arg;
	run_t *run = t->run;
	event_free(t->timer);
	t->timer = NULL;
	run->timers--;
	if (t->win)
		t->win->pending--; /* push counts it again */
	push(run, t, true);
	pump(run);
}

static enum res task_res(const task_t *t)
{
	switch (t->kind) {
	case T_SCAN:
	case T_ITEMS:
		return R_ITEMS;
	case T_ORDERS:
		return R_ORDERS;
	case T_SHIPMENT:
	case T_SLA:
		return R_SHIPMENTS;
	case T_QUESTIONS:
		return R_QUESTIONS;
	}
	return R_ITEMS;
}

/* A task is over (stored, skipped or failed for good). */
static void task_end(task_t *t)
{
	run_t *run = t->run;
	window_t *w = t->win;
	bool question = t->kind == T_QUESTIONS;
	task_free(t);
	if (question && --run->q_pending == 0) {
		/* This status is complete: on to the next (the cursor stays at a failed one). */
		if (!run->r[R_QUESTIONS].error[0])
			run->q_cursor = run->q_status + 1;
		run->q_status++;
		questions_next_status(run);
	}
	window_release(run, w);
	pump(run);
}

/* --- storing ----------------------------------------------------------------------------- */

typedef struct store {
	task_t *t;
	long n; /* documents in the batch */
} store_t;

static void stored(const char *err, long written, void *arg)
{
	store_t *s = arg;
	task_t *t = s->t;
	run_t *run = t->run;
	run->db_pending--;
	enum res r = task_res(t);
	if (err) {
		res_error(run, r, err);
		if (t->win)
			t->win->failed = true;
		log_warn("ml_run %s: storing %s failed: %s", run->id, res_names[r], err);
	} else if (t->kind != T_SLA) {
		run->r[r].done += s->n;
		run->records += s->n;
	}
	free(s);
	task_end(t);
}

static void store_docs(task_t *t, ml_upsert_fn fn, json_t *docs)
{
	run_t *run = t->run;
	store_t *s = xcalloc(1, sizeof(*s));
	s->t = t;
	s->n = (long)json_array_size(docs);
	if (s->n == 0) {
		free(s);
		task_end(t);
		return;
	}
	char *text = json_dumps(docs, JSON_COMPACT);
	run->db_pending++;
	fn(run->app, run->tenant_id, run->account_id, text, stored, s);
	free(text);
}

static void add_shipment(run_t *run, window_t *w, json_t *order)
{
	json_int_t id =
	    json_integer_value(json_object_get(json_object_get(order, "shipping"), "id"));
	if (id <= 0 || !run->want[R_SHIPMENTS])
		return;
	task_t *t = task_new(run, T_SHIPMENT);
	t->id = id;
	t->win = w;
	run->r[R_SHIPMENTS].total++;
	res_start(run, R_SHIPMENTS);
	push(run, t, false);
}

typedef struct unsynced {
	run_t *run;
	json_t *ids;
} unsynced_t;

static void push_multigets(run_t *run, json_t *ids)
{
	size_t n = json_array_size(ids);
	for (size_t i = 0; i < n; i += MULTIGET) {
		char buf[MULTIGET * 24] = "";
		size_t len = 0;
		for (size_t k = i; k < n && k < i + MULTIGET; k++)
			len +=
			    (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", k > i ? "," : "",
					     json_string_value(json_array_get(ids, k)));
		task_t *t = task_new(run, T_ITEMS);
		t->ids = xstrdup(buf);
		push(run, t, false);
	}
}

static void unsynced_done(const PGresult *res, const char *err, void *arg)
{
	unsynced_t *u = arg;
	run_t *run = u->run;
	run->db_pending--;
	if (err) {
		push_multigets(run, u->ids); /* fetch them all again: harmless */
	} else {
		const char *list = pg_value(res, 0, 0);
		json_t *keep = json_array();
		char *copy = xstrdup(list ? list : ""), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			json_array_append_new(keep, json_string(tok));
		free(copy);
		long skipped = (long)(json_array_size(u->ids) - json_array_size(keep));
		run->r[R_ITEMS].done += skipped;
		push_multigets(run, keep);
		json_decref(keep);
	}
	json_decref(u->ids);
	free(u);
	pump(run);
}

static void scan_answered(task_t *t, json_t *body)
{
	run_t *run = t->run;
	json_t *ids = json_object_get(body, "results");
	const char *scroll = json_string_value(json_object_get(body, "scroll_id"));
	json_t *total = json_object_get(json_object_get(body, "paging"), "total");
	if (json_is_integer(total))
		run->r[R_ITEMS].total = json_integer_value(total);
	if (json_array_size(ids) > 0 && scroll) {
		task_t *next = task_new(run, T_SCAN);
		next->ids = xstrdup(scroll);
		push(run, next, true); /* the scroll lives 5 minutes from its last use */
	} else {
		run->scan_done = true;
	}
	if (json_array_size(ids) > 0) {
		if (run->resume) {
			unsynced_t *u = xcalloc(1, sizeof(*u));
			u->run = run;
			u->ids = json_incref(ids);
			char *list = NULL;
			size_t len = 0;
			for (size_t i = 0; i < json_array_size(ids); i++) {
				const char *s = json_string_value(json_array_get(ids, i));
				if (!s)
					continue;
				list = xrealloc(list, len + strlen(s) + 2);
				len += (size_t)sprintf(list + len, "%s%s", len ? "," : "", s);
			}
			const char *params[] = {run->tenant_id, run->account_id, list ? list : "",
						run->started_at};
			run->db_pending++;
			pg_query(run->app->pg, unsynced_sql, 4, params, unsynced_done, u);
			free(list);
		} else {
			push_multigets(run, ids);
		}
	}
	task_end(t);
}

static void items_answered(task_t *t, json_t *body)
{
	json_t *docs = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(body, i, e)
	{
		json_t *code = json_object_get(e, "code");
		if (!code)
			code = json_object_get(e, "status_code");
		if (json_integer_value(code) == 200 && json_is_object(json_object_get(e, "body")))
			json_array_append(docs, json_object_get(e, "body"));
		else
			t->run->r[R_ITEMS].done++; /* gone meanwhile: counted, nothing to store */
	}
	store_docs(t, ml_items_upsert, docs);
	json_decref(docs);
}

static void orders_answered(task_t *t, json_t *body)
{
	run_t *run = t->run;
	window_t *w = t->win;
	long total =
	    (long)json_integer_value(json_object_get(json_object_get(body, "paging"), "total"));
	if (t->offset == 0) {
		int64_t hours = (w->to - w->from) / 3600;
		if (total > WINDOW_MAX && hours > 1) {
			/* Too many for one window: cut it in whole hours and ask each part. */
			int64_t parts = (total + WINDOW_MAX * 3 / 4 - 1) / (WINDOW_MAX * 3 / 4);
			if (parts > hours)
				parts = hours;
			w->split = true;
			w->total = 0;
			int64_t from = w->from;
			for (int64_t i = 1; i <= parts; i++) {
				int64_t to =
				    i == parts ? w->to : w->from + (hours * i / parts) * 3600;
				issue_window(run, window_add(run, from, to));
				from = to;
			}
			/* w stays (before its parts) until this task ends. */
			task_end(t);
			return;
		}
		w->total = total;
		run->r[R_ORDERS].total += total;
		for (long off = ORDERS_PAGE; off < total; off += ORDERS_PAGE) {
			task_t *p = task_new(run, T_ORDERS);
			p->win = w;
			p->offset = off;
			push(run, p, false);
		}
	}
	json_t *results = json_object_get(body, "results");
	size_t i;
	json_t *o;
	json_array_foreach(results, i, o) add_shipment(run, w, o);
	store_docs(t, ml_orders_upsert, results);
}

static void shipment_answered(task_t *t, json_t *body)
{
	run_t *run = t->run;
	const char *status = json_string_value(json_object_get(body, "status"));
	if (ml_shipment_open(status)) {
		task_t *sla = task_new(run, T_SLA);
		sla->id = t->id;
		sla->win = t->win;
		push(run, sla, false);
	}
	json_t *docs = json_pack("[O]", body);
	store_docs(t, ml_shipments_upsert, docs);
	json_decref(docs);
}

static void sla_answered(task_t *t, json_t *body)
{
	run_t *run = t->run;
	store_t *s = xcalloc(1, sizeof(*s));
	s->t = t;
	s->n = 1;
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, t->id);
	char *text = json_dumps(body, JSON_COMPACT);
	run->db_pending++;
	ml_shipments_sla(run->app, run->tenant_id, run->account_id, id, text, stored, s);
	free(text);
}

static void questions_answered(task_t *t, json_t *body)
{
	run_t *run = t->run;
	if (t->offset == 0) {
		long total = (long)json_integer_value(json_object_get(body, "total"));
		run->q_total[t->status_idx] = total;
		run->r[R_QUESTIONS].total += total;
		for (long off = QUESTIONS_PAGE; off < total; off += QUESTIONS_PAGE) {
			task_t *p = task_new(run, T_QUESTIONS);
			p->status_idx = t->status_idx;
			p->offset = off;
			run->q_pending++;
			push(run, p, false);
		}
	}
	store_docs(t, ml_questions_upsert, json_object_get(body, "questions"));
}

static void task_answered(const ml_result_t *res, void *arg)
{
	task_t *t = arg;
	run_t *run = t->run;
	run->in_flight--;
	enum res r = task_res(t);
	if (res->err == ML_OK) {
		switch (t->kind) {
		case T_SCAN:
			scan_answered(t, res->body);
			return;
		case T_ITEMS:
			items_answered(t, res->body);
			return;
		case T_ORDERS:
			orders_answered(t, res->body);
			return;
		case T_SHIPMENT:
			shipment_answered(t, res->body);
			return;
		case T_SLA:
			sla_answered(t, res->body);
			return;
		case T_QUESTIONS:
			questions_answered(t, res->body);
			return;
		}
	}
	const char *msg = res->message ? res->message : ml_err_name(res->err);
	bool again = res->err == ML_ERR_RATE_LIMITED || res->err == ML_ERR_TRANSIENT;
	if (again && ++t->attempt < TASK_ATTEMPTS && !run->fatal[0]) {
		/* httpc already retried with backoff; wait longer before the next round. */
		int64_t ms = 500LL << (t->attempt < 4 ? t->attempt : 4); /* 1 s .. 8 s */
		struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
		t->timer = evtimer_new(run->app->base, retry_fire, t);
		run->timers++;
		evtimer_add(t->timer, &tv);
		maybe_finish(run);
		return;
	}
	if (t->kind == T_SCAN && t->ids && res->status == 400) {
		/* The scroll expired: scan again; what this run stored is skipped. */
		log_info("ml_run %s: items scroll expired, scanning again", run->id);
		run->resume = true;
		free(t->ids);
		t->ids = NULL;
		t->attempt++;
		push(run, t, true);
		pump(run);
		return;
	}
	if (res->err == ML_ERR_NOT_FOUND && (t->kind == T_SHIPMENT || t->kind == T_SLA)) {
		task_end(t); /* no such shipment (or no SLA): nothing to keep */
		return;
	}
	log_warn("ml_run %s: %s call failed: %s", run->id, res_names[r], msg);
	res_error(run, r, msg);
	if (t->win)
		t->win->failed = true;
	if (res->err == ML_ERR_EXPIRED || res->err == ML_ERR_INVALID_GRANT ||
	    res->err == ML_ERR_UNAUTHORIZED || res->err == ML_ERR_FORBIDDEN ||
	    res->err == ML_ERR_CONFIG)
		snprintf(run->fatal, sizeof(run->fatal), "%s", msg);
	if (t->kind == T_SCAN)
		run->scan_done = true;
	task_end(t);
}

/* --- questions by status ----------------------------------------------------------------- */

static void questions_next_status(run_t *run)
{
	if (run->q_status >= N_QSTATUS || run->fatal[0])
		return;
	/* The scheduled sync refreshes the unanswered ones; answers arrive by webhook. */
	if (run->scheduled && run->q_status > 0) {
		run->q_status = run->q_cursor = N_QSTATUS;
		return;
	}
	task_t *t = task_new(run, T_QUESTIONS);
	t->status_idx = run->q_status;
	run->q_pending++;
	push(run, t, false);
}

/* --- finishing ----------------------------------------------------------------------------- */

static void run_free(run_t *run)
{
	while (run->windows) {
		window_t *w = run->windows;
		run->windows = w->next;
		free(w);
	}
	task_t *t;
	while ((t = pop(run)))
		task_free(t);
	if (run->flush_ev)
		event_free(run->flush_ev);
	free(run);
}

/* Why a run did not succeed: the fatal error, else the first resource's error. */
static const char *run_error(const run_t *run)
{
	if (run->fatal[0])
		return run->fatal;
	for (int i = 0; i < R_N; i++)
		if (run->r[i].error[0])
			return run->r[i].error;
	return "some calls failed";
}

/* A backfill can add thousands of rows to tables the planner still believes empty, and the
 * lists would be planned on that belief until autovacuum comes by: refresh the statistics. */
#define ANALYZE_AFTER_RECORDS 1000

static const char analyze_sql[] = "ANALYZE listings, listing_variations, orders, order_items,"
				  " payments, order_days, shipments, ml_questions";

static void analyzed(const PGresult *res, const char *err, void *arg)
{
	(void)res;
	(void)arg;
	if (err)
		log_warn("ml_run: ANALYZE after a large sync failed: %s", err);
}

static void finished_saved(const PGresult *res, const char *err, void *arg)
{
	run_t *run = arg;
	if (err)
		log_warn("ml_run %s: saving the outcome failed: %s", run->id, err);
	if (--run->db_pending > 0)
		return;
	bool ok = strcmp(run->final_status, "success") == 0;
	const char *error = ok ? NULL : run_error(run);
	log_info("ml_run %s: %s, %lld records, %d errors", run->id, run->final_status, run->records,
		 run->errors);
	if (run->records >= ANALYZE_AFTER_RECORDS)
		pg_query(run->app->pg, analyze_sql, 0, NULL, analyzed, NULL);
	if (run->job) {
		if (ok)
			job_done(run->job, NULL);
		else if (!strcmp(run->final_status, "running"))
			job_retry(run->job, error, -1); /* resumes from the saved cursors */
		else
			job_fail(run->job, error);
	}
	if (run->cb)
		run->cb(error, run->records, run->cb_arg);
	free(run->final_status);
	run_free(run);
}

/* Everything issued has come back: advance questions, then end the run. */
static void maybe_finish(run_t *run)
{
	if (run->finishing || run->in_flight || run->timers || run->db_pending)
		return;
	if (!run->fatal[0] && run->head) {
		pump(run);
		return;
	}
	if (run->flushing)
		return;
	/* Done (or stopped by a fatal error). */
	if (run->scan_done || !run->want[R_ITEMS])
		res_finish(run, R_ITEMS);
	if (!run->windows && run->orders_cursor >= run->orders_end) {
		res_finish(run, R_ORDERS);
		res_finish(run, R_SHIPMENTS);
	}
	if (run->q_status >= N_QSTATUS)
		res_finish(run, R_QUESTIONS);
	bool complete = true;
	for (int i = 0; i < R_N; i++) {
		const char *st = run->r[i].state;
		if (strcmp(st, "done") != 0 && strcmp(st, "skipped") != 0)
			complete = false;
		if (strcmp(st, "running") == 0 || strcmp(st, "pending") == 0)
			run->r[i].state =
			    run->fatal[0] || run->r[i].error[0] ? "failed" : "stopped";
	}
	run->finishing = true;
	evtimer_del(run->flush_ev);
	bool retry = !complete && run->job && !run->fatal[0] && !job_is_last_attempt(run->job);
	run->final_status = xstrdup(complete ? "success" : retry ? "running" : "failed");
	json_t *p = progress_json(run);
	char *text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	char records[24], errors[16];
	snprintf(records, sizeof(records), "%lld", run->records);
	snprintf(errors, sizeof(errors), "%d", run->errors);
	const char *error = complete ? NULL : run_error(run);
	const char *params[] = {run->id, run->final_status, text, records, errors, error};
	run->db_pending = 2;
	pg_query_prepared(run->app->pg, finish_sql, 6, params, finished_saved, run);
	const char *cp[] = {run->account_id};
	pg_query_prepared(run->app->pg, cached_sql, 1, cp, finished_saved, run);
	free(text);
}

/* --- starting ------------------------------------------------------------------------------ */

static void run_begin(run_t *run)
{
	struct timeval tv = {FLUSH_MS / 1000, (FLUSH_MS % 1000) * 1000};
	run->flush_ev = event_new(run->app->base, -1, EV_PERSIST, flush_tick, run);
	evtimer_add(run->flush_ev, &tv);
	if (run->want[R_ITEMS] && strcmp(run->r[R_ITEMS].state, "done") != 0) {
		res_start(run, R_ITEMS);
		run->r[R_ITEMS].done = 0;
		push(run, task_new(run, T_SCAN), false);
	}
	if (run->want[R_ORDERS] && strcmp(run->r[R_ORDERS].state, "done") != 0) {
		int64_t now = wall_ms() / 1000;
		run->orders_end = (now / 3600 + 1) * 3600; /* through the current hour */
		int64_t start;
		if (run->scheduled && run->since > 0) {
			run->orders_by_update = true;
			start = (run->since / 3600) * 3600;
		} else {
			start = ((now - (int64_t)run->days * 86400) / 3600) * 3600;
		}
		if (run->orders_cursor < start || run->orders_cursor > run->orders_end)
			run->orders_cursor = start;
		if (run->resume) {
			run->r[R_ORDERS].total = run->r[R_ORDERS].done;
			run->r[R_SHIPMENTS].total = run->r[R_SHIPMENTS].done;
		}
		res_start(run, R_ORDERS);
		if (run->want[R_SHIPMENTS])
			res_start(run, R_SHIPMENTS);
		if (run->orders_cursor < run->orders_end)
			issue_window(run, window_add(run, run->orders_cursor, run->orders_end));
	}
	if (run->want[R_QUESTIONS] && strcmp(run->r[R_QUESTIONS].state, "done") != 0) {
		if (run->resume)
			run->r[R_QUESTIONS].total = run->r[R_QUESTIONS].done;
		res_start(run, R_QUESTIONS);
		questions_next_status(run);
	}
	flush_progress(run);
	pump(run);
}

static bool want_from_scope(run_t *run, const char *scope)
{
	bool all = strcmp(scope, "all") == 0;
	run->want[R_ITEMS] = all || strcmp(scope, "items") == 0;
	run->want[R_ORDERS] =
	    all || strcmp(scope, "orders") == 0 || strcmp(scope, "shipments") == 0;
	run->want[R_SHIPMENTS] =
	    all || strcmp(scope, "orders") == 0 || strcmp(scope, "shipments") == 0;
	run->want[R_QUESTIONS] = all || strcmp(scope, "questions") == 0;
	return true;
}

static void loaded(const PGresult *res, const char *err, void *arg)
{
	run_t *run = arg;
	const char *fail = err ? err : PQntuples(res) != 1 ? "the sync run no longer exists" : NULL;
	if (!fail && strcmp(pg_value(res, 0, 9), "running") != 0) {
		if (run->job)
			job_done(run->job, "the sync run had already ended");
		if (run->cb)
			run->cb("the sync run had already ended", 0, run->cb_arg);
		free(run);
		return;
	}
	if (fail) {
		if (run->job) {
			if (err)
				job_retry(run->job, err, -1);
			else
				job_done(run->job, fail);
		}
		if (run->cb)
			run->cb(fail, 0, run->cb_arg);
		free(run);
		return;
	}
	snprintf(run->tenant_id, sizeof(run->tenant_id), "%s", pg_value(res, 0, 1));
	snprintf(run->account_id, sizeof(run->account_id), "%s", pg_value(res, 0, 2));
	run->seller = (int64_t)pg_int(res, 0, 3, 0);
	run->scheduled = strcmp(pg_value(res, 0, 4), "scheduled") == 0;
	want_from_scope(run, pg_value(res, 0, 5));
	run->days = (int)pg_int(res, 0, 6, 30);
	run->since = (int64_t)pg_int(res, 0, 7, 0);
	snprintf(run->started_at, sizeof(run->started_at), "%s", pg_value(res, 0, 10));
	for (int i = 0; i < R_N; i++)
		run->r[i].state = run->want[i] ? "pending" : "skipped";
	for (int i = 0; i < N_QSTATUS; i++)
		run->q_total[i] = -1;
	restore_progress(run, pg_value(res, 0, 8));
	for (int i = 0; i < R_N; i++)
		if (!run->want[i])
			run->r[i].state = "skipped";
	if (run->job && run->job->attempt > 1)
		run->resume = true;
	if (run->resume)
		log_info("ml_run %s: resuming (orders from %" PRId64 ", questions from status %d)",
			 run->id, run->orders_cursor, run->q_status);
	run_begin(run);
}

static void load(run_t *run)
{
	const char *params[] = {run->id};
	pg_query(run->app->pg, load_sql, 1, params, loaded, run);
}

static void job_run(job_t *job)
{
	const char *id = json_string_value(json_object_get(job->payload, "run"));
	if (!id || strlen(id) != 36) {
		job_fail(job, "payload has no run id");
		return;
	}
	run_t *run = xcalloc(1, sizeof(*run));
	run->app = job->app;
	run->job = job;
	snprintf(run->id, sizeof(run->id), "%s", id);
	load(run);
}

void ml_run_register_jobs(app_t *app)
{
	jobs_register(app->jobs, ML_RUN_JOB, job_run, JOB_DURABLE);
}

typedef struct incremental {
	app_t *app;
	char account_id[40];
	ml_run_cb cb;
	void *arg;
} incremental_t;

static void scheduled_created(PGresult *const *results, int n, const char *err, void *arg)
{
	incremental_t *inc = arg;
	if (err || PQntuples(results[1]) != 1) {
		inc->cb(err ? err : "busy", 0, inc->arg);
		free(inc);
		return;
	}
	run_t *run = xcalloc(1, sizeof(*run));
	run->app = inc->app;
	run->cb = inc->cb;
	run->cb_arg = inc->arg;
	snprintf(run->id, sizeof(run->id), "%s", pg_value(results[1], 0, 0));
	free(inc);
	load(run);
}

void ml_run_incremental(app_t *app, const char *account_id, ml_run_cb cb, void *arg)
{
	incremental_t *inc = xcalloc(1, sizeof(*inc));
	inc->app = app;
	snprintf(inc->account_id, sizeof(inc->account_id), "%s", account_id);
	inc->cb = cb;
	inc->arg = arg;
	const char *params[] = {account_id};
	pg_stmt_t stmts[] = {{abandon_sql, 1, params}, {scheduled_sql, 1, params}};
	pg_batch(app->pg, stmts, 2, scheduled_created, inc);
}
