/* The sync engine (sync_engine.h): a run's queue of calls, its progress and cursors in
 * sync_runs, its retries and its end. What it calls and stores is the plan of the account's
 * channel.
 *
 * Progress is flushed once a second together with a heartbeat (sync_runs.heartbeat_at, and
 * jobs.locked_at for a backfill). A job that runs again finds its sync_runs row and its saved
 * progress: each resource's cursor, and which resources were done. */
#include "sync_engine.h"
#include "channel.h"
#include "jobs.h"
#include "log.h"
#include "util.h"
#include "workers.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TASK_ATTEMPTS 8
#define FLUSH_MS      1000
/* Pages of at least this many documents are written out as text on a worker thread. */
#define SYNC_DUMP_ON_WORKER 50

struct sync_run {
	app_t *app;
	const sync_plan_t *plan;
	void *state; /* the plan's */
	job_t *job;  /* NULL for a scheduled run */
	sync_run_cb cb;
	void *cb_arg;
	sync_run_info_t info;
	sync_res_t *r; /* plan->n_resources */
	bool *want;
	long long records;
	int errors;
	char fatal[200]; /* set: stop issuing and fail */
	/* the queue: front for follow-ups that must not wait */
	sync_task_t *head, *tail;
	int in_flight, db_pending, timers;
	/* progress flush */
	struct event *flush_ev;
	bool flushing, finishing;
	char *final_status;
};

static const char load_sql[] =
    "SELECT r.id, r.tenant_id, r.account_id, a.external_id, r.kind, r.scope, r.days,"
    " extract(epoch FROM r.since)::bigint, r.progress::text, r.status, r.started_at::text,"
    " a.channel, a.settings::text"
    " FROM sync_runs r JOIN accounts a ON a.id = r.account_id WHERE r.id = $1";

/* A run of account $1 (of tenant $2, NULL: whichever) whose process died (no heartbeat for a
 * minute) and whose job will not resume it no longer holds the account. */
static const char abandon_sql[] =
    "UPDATE sync_runs r SET status = 'failed', finished_at = now(),"
    " error = coalesce(error, 'abandoned: the process running it stopped')"
    " WHERE account_id = $1 AND ($2::uuid IS NULL OR tenant_id = $2::uuid)"
    " AND status = 'running' AND heartbeat_at < now() - interval '60 seconds'"
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

/* A backfill: the run and its job in one commit, the job named for the account's channel.
 * DO NOTHING: another run holds the account (sync_runs_one_running); then no job either. */
// clang-format off
static const char backfill_sql[] =
    "WITH acct AS (SELECT id, tenant_id, channel FROM accounts WHERE id = $1 AND tenant_id = $2),"
    " ids AS (SELECT gen_random_uuid() AS run_id, " JOBS_NEXT_ID " AS job_id FROM acct),"
    " run AS (INSERT INTO sync_runs (id, tenant_id, account_id, job_id, kind, scope, days)"
    "  SELECT ids.run_id, acct.tenant_id, acct.id, ids.job_id, 'backfill', $3, $4::int"
    "  FROM acct, ids ON CONFLICT DO NOTHING RETURNING id, job_id, tenant_id),"
    " job AS (" JOBS_INSERT("id, kind, tenant_id, payload, max_attempts, queue")
    "  SELECT run.job_id, acct.channel || '" CHANNEL_SYNC_JOB_SUFFIX "', run.tenant_id,"
    "  jsonb_build_object('run', run.id), 20, $5 FROM run, acct"
    "  RETURNING id)"
    " SELECT (SELECT count(*) FROM acct), (SELECT id FROM job), (SELECT id FROM run)";
// clang-format on

static const char flush_sql[] =
    "UPDATE sync_runs SET progress = $2::jsonb, records = $3, errors = $4, heartbeat_at = now()"
    " WHERE id = $1";

static const char finish_sql[] =
    "UPDATE sync_runs SET status = $2, progress = $3::jsonb, records = $4, errors = $5,"
    " error = $6, finished_at = now(), heartbeat_at = now() WHERE id = $1";

static void pump(sync_run_t *run);
static void maybe_finish(sync_run_t *run);

/* --- what a plan reads -------------------------------------------------------------------- */

app_t *sync_run_app(const sync_run_t *run)
{
	return run->app;
}

const sync_run_info_t *sync_run_info(const sync_run_t *run)
{
	return &run->info;
}

void *sync_run_state(const sync_run_t *run)
{
	return run->state;
}

sync_res_t *sync_run_res(sync_run_t *run, int resource)
{
	return &run->r[resource];
}

bool sync_run_wants(const sync_run_t *run, int resource)
{
	return run->want[resource];
}

bool sync_run_stopped(const sync_run_t *run)
{
	return run->fatal[0] != 0;
}

void sync_run_hold(sync_run_t *run)
{
	run->db_pending++;
}

void sync_run_release(sync_run_t *run)
{
	run->db_pending--;
	pump(run);
}

/* --- progress ------------------------------------------------------------------------------ */

static void iso_now(char *buf, size_t size)
{
	iso8601_utc(wall_ms(), buf, size);
}

static json_t *progress_json(const sync_run_t *run)
{
	json_t *p = json_object();
	for (int i = 0; i < run->plan->n_resources; i++) {
		const sync_res_t *s = &run->r[i];
		json_t *o = json_pack("{s:s, s:I, s:I}", "state", s->state, "done",
				      (json_int_t)s->done, "total", (json_int_t)s->total);
		json_object_set_new(o, "started",
				    s->started[0] ? json_string(s->started) : json_null());
		json_object_set_new(o, "finished",
				    s->finished[0] ? json_string(s->finished) : json_null());
		json_object_set_new(o, "error", s->error[0] ? json_string(s->error) : json_null());
		if (run->plan->resources[i].cursor)
			json_object_set_new(o, "cursor", json_integer(s->cursor));
		json_object_set_new(p, run->plan->resources[i].name, o);
	}
	return p;
}

static void restore_progress(sync_run_t *run, const char *text)
{
	json_t *p = json_loads(text ? text : "{}", 0, NULL);
	for (int i = 0; i < run->plan->n_resources && p; i++) {
		json_t *o = json_object_get(p, run->plan->resources[i].name);
		if (!o)
			continue;
		sync_res_t *s = &run->r[i];
		const char *st = json_string_value(json_object_get(o, "state"));
		if (st && strcmp(st, "done") == 0)
			s->state = "done";
		s->done = json_integer_value(json_object_get(o, "done"));
		s->total = json_integer_value(json_object_get(o, "total"));
		const char *started = json_string_value(json_object_get(o, "started"));
		const char *finished = json_string_value(json_object_get(o, "finished"));
		snprintf(s->started, sizeof(s->started), "%s", started ? started : "");
		snprintf(s->finished, sizeof(s->finished), "%s", finished ? finished : "");
		json_t *cursor = json_object_get(o, "cursor");
		if (run->plan->resources[i].cursor && json_is_integer(cursor))
			s->cursor = json_integer_value(cursor);
		run->info.resume = true;
	}
	json_decref(p);
}

void sync_run_res_start(sync_run_t *run, int resource)
{
	sync_res_t *s = &run->r[resource];
	if (strcmp(s->state, "pending") == 0) {
		s->state = "running";
		if (!s->started[0])
			iso_now(s->started, sizeof(s->started));
	}
}

static void res_finish(sync_run_t *run, int resource)
{
	sync_res_t *s = &run->r[resource];
	if (strcmp(s->state, "running") != 0 && strcmp(s->state, "pending") != 0)
		return;
	s->state = s->error[0] ? "failed" : "done";
	iso_now(s->finished, sizeof(s->finished));
}

static void res_error(sync_run_t *run, int resource, const char *msg)
{
	run->errors++;
	if (!run->r[resource].error[0])
		snprintf(run->r[resource].error, sizeof(run->r[resource].error), "%s", msg);
}

static void flushed(const PGresult *res, const char *err, void *arg)
{
	sync_run_t *run = arg;
	run->flushing = false;
	if (err)
		log_warn("sync %s: saving progress failed: %s", run->info.id, err);
	maybe_finish(run);
}

static void flush_progress(sync_run_t *run)
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
	const char *params[] = {run->info.id, text, records, errors};
	pg_query_prepared(run->app->pg, flush_sql, 4, params, flushed, run);
	free(text);
	if (run->job)
		jobs_heartbeat(run->app->jobs, run->job->id);
}

static void flush_tick(evutil_socket_t fd, short what, void *arg)
{
	flush_progress(arg);
}

/* --- the queue ----------------------------------------------------------------------------- */

sync_task_t *sync_task_new(sync_run_t *run, const sync_step_t *step, sync_group_t *group)
{
	sync_task_t *t = xcalloc(1, sizeof(*t));
	t->run = run;
	t->step = step;
	t->group = group;
	return t;
}

static void task_free(sync_task_t *t)
{
	if (t->timer)
		event_free(t->timer);
	free(t->token);
	free(t);
}

void sync_task_push(sync_task_t *t, bool front)
{
	sync_run_t *run = t->run;
	if (t->group)
		t->group->pending++;
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

static sync_task_t *pop(sync_run_t *run)
{
	sync_task_t *t = run->head;
	if (t) {
		run->head = t->next;
		if (!run->head)
			run->tail = NULL;
		t->next = NULL;
	}
	return t;
}

static void issue(sync_task_t *t)
{
	sync_run_t *run = t->run;
	char path[1024];
	t->step->path(t, path, sizeof(path));
	run->in_flight++;
	run->plan->get(t, path);
}

static void pump(sync_run_t *run)
{
	while (!run->fatal[0] && run->in_flight < SYNC_IN_FLIGHT && run->head)
		issue(pop(run));
	maybe_finish(run);
}

static void retry_fire(evutil_socket_t fd, short what, void *arg)
{
	sync_task_t *t = arg;
	sync_run_t *run = t->run;
	event_free(t->timer);
	t->timer = NULL;
	run->timers--;
	if (t->group)
		t->group->pending--; /* the push counts it again */
	sync_task_push(t, true);
	pump(run);
}

void sync_task_later(sync_task_t *t, int64_t ms)
{
	sync_run_t *run = t->run;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	t->timer = evtimer_new(run->app->base, retry_fire, t);
	run->timers++;
	evtimer_add(t->timer, &tv);
}

void sync_task_again(sync_task_t *t)
{
	sync_task_push(t, true);
	pump(t->run);
}

void sync_task_end(sync_task_t *t)
{
	sync_run_t *run = t->run;
	sync_group_t *g = t->group;
	task_free(t);
	if (g && --g->pending == 0 && g->drained)
		g->drained(g, run);
	pump(run);
}

void sync_task_fail(sync_task_t *t, const char *message)
{
	sync_run_t *run = t->run;
	log_warn("sync %s: %s: %s", run->info.id, run->plan->resources[t->step->resource].name,
		 message);
	res_error(run, t->step->resource, message);
	if (t->group)
		t->group->failed = true;
	sync_task_end(t);
}

/* --- storing ------------------------------------------------------------------------------- */

/* One store of a task's documents. Owned by the store in flight; freed by sync_stored. */
typedef struct store {
	sync_task_t *t;
	long n; /* documents it counts */
} store_t;

void sync_stored(const char *err, long written, void *arg)
{
	store_t *s = arg;
	sync_task_t *t = s->t;
	sync_run_t *run = t->run;
	int r = t->step->resource;
	run->db_pending--;
	if (err) {
		res_error(run, r, err);
		if (t->group)
			t->group->failed = true;
		log_warn("sync %s: storing %s failed: %s", run->info.id,
			 run->plan->resources[r].name, err);
	} else {
		run->r[r].done += s->n;
		run->records += s->n;
	}
	free(s);
	sync_task_end(t);
}

sync_run_t *sync_stored_run(const void *store)
{
	return ((const store_t *)store)->t->run;
}

void *sync_task_storing(sync_task_t *t, long counted)
{
	store_t *s = xcalloc(1, sizeof(*s));
	s->t = t;
	s->n = counted;
	t->run->db_pending++;
	return s;
}

/* A page of documents written out as text on a worker (a long page is milliseconds of the
 * loop's time), then stored from the loop. The run waits for it (db_pending). */
typedef struct dump {
	sync_run_t *run;
	sync_upsert_fn upsert;
	sync_store_cb done;
	json_t *docs;
	char *text;
	void *store;
} dump_t;

static void dump_work(void *arg)
{
	dump_t *d = arg;
	d->text = json_dumps(d->docs, JSON_COMPACT);
}

static void dump_done(void *arg)
{
	dump_t *d = arg;
	sync_run_t *run = d->run;
	json_decref(d->docs);
	d->upsert(run->app, run->info.tenant_id, run->info.account_id, d->text, d->done, d->store);
	free(d->text);
	free(d);
}

void sync_task_store(sync_task_t *t, sync_upsert_fn upsert, json_t *docs)
{
	sync_task_store_via(t, upsert, docs, sync_stored);
}

void sync_task_store_via(sync_task_t *t, sync_upsert_fn upsert, json_t *docs, sync_store_cb done)
{
	sync_run_t *run = t->run;
	long n = (long)json_array_size(docs);
	if (n == 0) {
		sync_task_end(t);
		return;
	}
	void *s = sync_task_storing(t, n);
	if (n >= SYNC_DUMP_ON_WORKER) {
		/* docs may share values with the answer the loop frees meanwhile: jansson's
		 * reference counts are atomic, and neither side changes a shared value. */
		dump_t *d = xcalloc(1, sizeof(*d));
		*d = (dump_t){.run = run,
			      .upsert = upsert,
			      .done = done,
			      .docs = json_incref(docs),
			      .store = s};
		workers_submit(run->app->workers, dump_work, dump_done, d);
		return;
	}
	char *text = json_dumps(docs, JSON_COMPACT);
	upsert(run->app, run->info.tenant_id, run->info.account_id, text, done, s);
	free(text);
}

/* --- answers ------------------------------------------------------------------------------- */

void sync_task_answered(sync_task_t *t, const sync_answer_t *a)
{
	sync_run_t *run = t->run;
	run->in_flight--;
	if (a->outcome == SYNC_OK) {
		t->step->answered(t, a->body);
		return;
	}
	if (a->outcome == SYNC_AGAIN && ++t->attempt < TASK_ATTEMPTS && !run->fatal[0]) {
		/* The client already retried with backoff; wait longer before the next round. */
		int64_t ms = 500LL << (t->attempt < 4 ? t->attempt : 4); /* 1 s .. 8 s */
		struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
		t->timer = evtimer_new(run->app->base, retry_fire, t);
		run->timers++;
		evtimer_add(t->timer, &tv);
		maybe_finish(run);
		return;
	}
	if (t->step->failed && t->step->failed(t, a))
		return;
	int r = t->step->resource;
	log_warn("sync %s: %s call failed: %s", run->info.id, run->plan->resources[r].name,
		 a->message);
	res_error(run, r, a->message);
	if (t->group)
		t->group->failed = true;
	if (a->outcome == SYNC_FATAL)
		snprintf(run->fatal, sizeof(run->fatal), "%s", a->message);
	sync_task_end(t);
}

/* --- finishing ----------------------------------------------------------------------------- */

static void run_free(sync_run_t *run)
{
	json_decref(run->info.settings);
	if (run->state && run->plan->run_free)
		run->plan->run_free(run->state);
	sync_task_t *t;
	while ((t = pop(run)))
		task_free(t);
	if (run->flush_ev)
		event_free(run->flush_ev);
	free(run->r);
	free(run->want);
	free(run);
}

/* Why a run did not succeed: the fatal error, else the first resource's error. */
static const char *run_error(const sync_run_t *run)
{
	if (run->fatal[0])
		return run->fatal;
	for (int i = 0; i < run->plan->n_resources; i++)
		if (run->r[i].error[0])
			return run->r[i].error;
	return "some calls failed";
}

/* A backfill can add thousands of rows to tables the planner still believes empty, and the
 * lists would be planned on that belief until autovacuum comes by: refresh the statistics. */
#define ANALYZE_AFTER_RECORDS 1000

static void analyzed(const PGresult *res, const char *err, void *arg)
{
	if (err)
		log_warn("sync: ANALYZE after a large sync failed: %s", err);
}

static void finished_saved(const PGresult *res, const char *err, void *arg)
{
	sync_run_t *run = arg;
	if (err)
		log_warn("sync %s: saving the outcome failed: %s", run->info.id, err);
	if (--run->db_pending > 0)
		return;
	bool ok = strcmp(run->final_status, "success") == 0;
	const char *error = ok ? NULL : run_error(run);
	log_info("sync %s: %s, %lld records, %d errors", run->info.id, run->final_status,
		 run->records, run->errors);
	if (run->records >= ANALYZE_AFTER_RECORDS && run->plan->analyze_sql)
		pg_query(run->app->pg, run->plan->analyze_sql, 0, NULL, analyzed, NULL);
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

/* Everything issued has come back: end the run, unless the plan queued more meanwhile. */
static void maybe_finish(sync_run_t *run)
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
	const sync_plan_t *plan = run->plan;
	for (int i = 0; i < plan->n_resources; i++)
		if (plan->resources[i].complete && plan->resources[i].complete(run))
			res_finish(run, i);
	bool complete = true;
	for (int i = 0; i < plan->n_resources; i++) {
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
	const char *params[] = {run->info.id, run->final_status, text, records, errors, error};
	run->db_pending = plan->counts_sql ? 2 : 1;
	pg_query_prepared(run->app->pg, finish_sql, 6, params, finished_saved, run);
	if (plan->counts_sql) {
		const char *cp[] = {run->info.account_id};
		pg_query_prepared(run->app->pg, plan->counts_sql, 1, cp, finished_saved, run);
	}
	free(text);
}

/* --- starting ------------------------------------------------------------------------------ */

static void run_begin(sync_run_t *run)
{
	struct timeval tv = {FLUSH_MS / 1000, (FLUSH_MS % 1000) * 1000};
	run->flush_ev = event_new(run->app->base, -1, EV_PERSIST, flush_tick, run);
	evtimer_add(run->flush_ev, &tv);
	if (run->plan->run_new)
		run->state = run->plan->run_new(run);
	for (int i = 0; i < run->plan->n_resources; i++) {
		const sync_resource_t *res = &run->plan->resources[i];
		if (res->begin && run->want[i] && strcmp(run->r[i].state, "done") != 0) {
			sync_run_res_start(run, i);
			res->begin(run);
		}
	}
	flush_progress(run);
	pump(run);
}

static bool wanted(const sync_resource_t *res, const char *scope)
{
	if (strcmp(scope, "all") == 0)
		return true;
	for (int i = 0; res->scopes && res->scopes[i]; i++)
		if (strcmp(scope, res->scopes[i]) == 0)
			return true;
	return false;
}

/* A run that never began: its job and its caller learn why. */
static void not_begun(sync_run_t *run, const char *why, bool retry)
{
	if (run->job) {
		if (retry)
			job_retry(run->job, why, -1);
		else
			job_done(run->job, why);
	}
	if (run->cb)
		run->cb(why, 0, run->cb_arg);
	free(run);
}

static void loaded(const PGresult *res, const char *err, void *arg)
{
	sync_run_t *run = arg;
	if (err) {
		not_begun(run, err, true);
		return;
	}
	if (PQntuples(res) != 1) {
		not_begun(run, "the sync run no longer exists", false);
		return;
	}
	if (strcmp(pg_value(res, 0, 9), "running") != 0) {
		not_begun(run, "the sync run had already ended", false);
		return;
	}
	const channel_t *ch = channel_find(pg_value(res, 0, 11));
	if (!ch || !ch->plan) {
		/* The job's kind came from the channel: its plan was there when it started. */
		if (run->job)
			job_fail(run->job, "the account's channel has no sync plan");
		if (run->cb)
			run->cb("the account's channel has no sync plan", 0, run->cb_arg);
		free(run);
		return;
	}
	run->plan = ch->plan;
	sync_run_info_t *in = &run->info;
	snprintf(in->tenant_id, sizeof(in->tenant_id), "%s", pg_value(res, 0, 1));
	snprintf(in->account_id, sizeof(in->account_id), "%s", pg_value(res, 0, 2));
	snprintf(in->external_id, sizeof(in->external_id), "%s",
		 pg_value(res, 0, 3) ? pg_value(res, 0, 3) : "");
	in->settings = json_loads(pg_value(res, 0, 12), 0, NULL);
	in->scheduled = strcmp(pg_value(res, 0, 4), "scheduled") == 0;
	in->days = (int)pg_int(res, 0, 6, 30);
	in->since = (int64_t)pg_int(res, 0, 7, 0);
	snprintf(in->started_at, sizeof(in->started_at), "%s", pg_value(res, 0, 10));
	int n = run->plan->n_resources;
	run->r = xcalloc((size_t)n, sizeof(*run->r));
	run->want = xcalloc((size_t)n, sizeof(*run->want));
	const char *scope = pg_value(res, 0, 5);
	for (int i = 0; i < n; i++) {
		run->want[i] = wanted(&run->plan->resources[i], scope);
		run->r[i].state = run->want[i] ? "pending" : "skipped";
	}
	restore_progress(run, pg_value(res, 0, 8));
	for (int i = 0; i < n; i++)
		if (!run->want[i])
			run->r[i].state = "skipped";
	if (run->job && run->job->attempt > 1)
		in->resume = true;
	if (in->resume) {
		char cursors[200] = "";
		size_t len = 0;
		for (int i = 0; i < n && len < sizeof(cursors); i++)
			if (run->plan->resources[i].cursor)
				len += (size_t)snprintf(cursors + len, sizeof(cursors) - len,
							"%s%s from %" PRId64, len ? ", " : "",
							run->plan->resources[i].name,
							run->r[i].cursor);
		log_info("sync %s: resuming (%s)", in->id, cursors);
	}
	run_begin(run);
}

static void load(sync_run_t *run)
{
	const char *params[] = {run->info.id};
	pg_query(run->app->pg, load_sql, 1, params, loaded, run);
}

static void job_run(job_t *job)
{
	const char *id = json_string_value(json_object_get(job->payload, "run"));
	if (!id || strlen(id) != 36) {
		job_fail(job, "payload has no run id");
		return;
	}
	sync_run_t *run = xcalloc(1, sizeof(*run));
	run->app = job->app;
	run->job = job;
	snprintf(run->info.id, sizeof(run->info.id), "%s", id);
	load(run);
}

void sync_register_jobs(app_t *app)
{
	for (size_t i = 0; channels[i]; i++) {
		if (!channels[i]->plan)
			continue;
		char kind[64];
		snprintf(kind, sizeof(kind), "%s" CHANNEL_SYNC_JOB_SUFFIX, channels[i]->name);
		jobs_register(app->jobs, kind, job_run, JOB_DURABLE);
	}
}

/* The scheduled run being created. Owned by itself until the run exists. */
typedef struct incremental {
	app_t *app;
	sync_run_cb cb;
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
	sync_run_t *run = xcalloc(1, sizeof(*run));
	run->app = inc->app;
	run->cb = inc->cb;
	run->cb_arg = inc->arg;
	snprintf(run->info.id, sizeof(run->info.id), "%s", pg_value(results[1], 0, 0));
	free(inc);
	load(run);
}

void sync_incremental(app_t *app, const char *account_id, sync_run_cb cb, void *arg)
{
	incremental_t *inc = xcalloc(1, sizeof(*inc));
	inc->app = app;
	inc->cb = cb;
	inc->arg = arg;
	const char *params[] = {account_id, NULL};
	pg_stmt_t stmts[] = {{abandon_sql, 2, params}, {scheduled_sql, 1, params}};
	pg_batch(app->pg, stmts, 2, scheduled_created, inc);
}

void sync_backfill_start(app_t *app, const char *tenant_id, const char *account_id,
			 const char *scope, int days, pg_cb cb, void *arg)
{
	char days_s[16];
	snprintf(days_s, sizeof(days_s), "%d", days);
	const char *params[] = {account_id, tenant_id, scope, days_s, app->cfg.job_queue};
	pg_stmt_t stmts[] = {{abandon_sql, 2, params}, {backfill_sql, 5, params}};
	pg_batch_one(app->pg, stmts, 2, 1, jobs_committed, jobs_on_commit(app->jobs, 1, cb, arg));
}
