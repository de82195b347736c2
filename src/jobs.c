/* Jobs: claim in PostgreSQL, deliver through a Redis Stream consumer group.
 *
 *   XADD sh:jobs * id <job id>             jobs_dispatch, after the job's row is committed
 *   XREADGROUP ... BLOCK                   one blocking read at a time on its own connection,
 *                                          asking for as many ids as there are free slots
 *   claim: UPDATE jobs SET status=running  the row decides; no row = someone else ran it
 *                                          (no statement here ever waits on another's row lock:
 *                                          the scans use FOR UPDATE SKIP LOCKED)
 *   handler -> job_done/job_retry/job_fail -> UPDATE, then XACK
 *   sweeper (timer): re-dispatch due jobs whose last XADD is old (lost by Redis), requeue
 *   running jobs whose process died (locked_at too old), XAUTOCLAIM entries of dead consumers. */
#include "jobs.h"
#include "app.h"
#include "backoff.h"
#include "channel.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "pg_listen.h"
#include "util.h"

#include <event2/event_struct.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define STREAM		"sh:jobs" /* the default queue's stream; others: sh:jobs:<queue> */
#define GROUP		"workers"
#define STREAM_MAXLEN	"100000"
#define BLOCK_MS	1000
#define SWEEP_MS	1000
#define MAX_KINDS	16
#define BACKOFF_BASE_MS 1000
#define BACKOFF_CAP_MS	(10 * 60 * 1000)
/* While the process is under pressure (jobs_set_pressure: the webhook intake flooded), at most
 * one job starts every YIELD_MS: the rest wait in the queue until it passes (it is looked at
 * again every YIELD_MS), yet the queue still moves. Two slots instead kept notification jobs at
 * the flood's pace, and their statements slowed its commits as much as before (bench-webhooks). */
#define YIELD_MS 50

typedef struct handler {
	char kind[32];
	job_handler_fn fn;
	int flags;
} handler_t;

/* A job between its stream entry and its final UPDATE. */
typedef struct running {
	job_t job; /* first: a job_t * is a running_t * */
	char kind[32];
	char entry[48]; /* stream entry id to XACK */
	bool finished;
	bool replayable; /* JOB_REPLAYABLE: its end need not wait for the WAL flush */
	bool parked;	 /* job_park: waiting on a provider, its slot lent to another job */
} running_t;

struct jobs {
	app_t *app;
	redis_t *blocking; /* XREADGROUP BLOCK would stall every other command on the main one */
	handler_t handlers[MAX_KINDS];
	int nhandlers;
	char consumer[64];
	int concurrency;
	int running;
	int parked; /* of the running, those parked (job_park): they hold no slot */
	bool reading;
	bool started, stopping;
	void (*stopped)(void *arg);
	void *stopped_arg;
	struct event read_retry;
	struct event sweep;
	bool (*pressure)(void *arg); /* jobs_set_pressure */
	void *pressure_arg;
	bool yielding;		 /* slots held back for the pressure */
	struct event yield_poll; /* while yielding: has the pressure passed? */
	int64_t last_read_us;	 /* when the last XREADGROUP went out */
	int stale_s, redispatch_s;
	char stream[80];		     /* this process's queue (JOB_QUEUE) */
	char replayable[MAX_KINDS * 34 + 3]; /* the JOB_REPLAYABLE kinds, as a text[]: {a,b} */
	char *board_sql, *requeue_sql;	     /* with every channel's part (build_board) */
	pg_listener_t *wake; /* NOTIFY sh_jobs: jobs a trigger committed (sql/0023) */
	/* What this process did with jobs, for /metrics. */
	struct {
		metric_t *claimed, *done, *retried, *dead, *lost, *redispatched, *reclaimed;
		metric_t *yields;
	} m;
};

static void read_more(jobs_t *j);

/* $4: the kinds registered JOB_REPLAYABLE, whose claim need not wait for the WAL flush either
 * (lost in a crash, the job is queued again and the sweeper dispatches it). CASE, not OR: the
 * setting is evaluated, and so taken, only for such a row. */
static const char claim_sql[] =
    "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $2,"
    " locked_at = now()"
    " WHERE id = $1 AND status IN ('queued', 'failed') AND run_at <= now() AND queue = $3"
    " AND CASE WHEN kind = ANY($4::text[]) THEN " PG_COMMIT_NO_FLUSH_WAIT " ELSE true END"
    " RETURNING kind, payload::text, attempts, max_attempts";

#define DONE_SQL                                                                                   \
	"UPDATE jobs SET status = 'done', finished_at = now(), note = $2, locked_by = NULL "       \
	"WHERE id = $1 AND status = 'running'"
static const char done_sql[] = DONE_SQL;
static const char done_replayable_sql[] = DONE_SQL " AND " PG_COMMIT_NO_FLUSH_WAIT;

static const char retry_sql[] =
    "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'failed' END, "
    "run_at = now() + make_interval(secs => $3::float8 / 1000), last_error = $2, "
    "locked_by = NULL, finished_at = CASE WHEN attempts >= max_attempts THEN now() END "
    "WHERE id = $1 AND status = 'running' RETURNING status";

static const char dead_sql[] =
    "UPDATE jobs SET status = 'dead', last_error = $2, locked_by = NULL, finished_at = now() "
    "WHERE id = $1 AND status = 'running'";

/* Due and not dispatched recently: queued but lost by Redis, or a retry whose time has come.
 * Two scans, each on its own index (sql/0008), so a backlog of freshly dispatched jobs costs
 * nothing to skip. */
static const char sweep_due_sql[] =
    "WITH lost AS (SELECT id FROM jobs WHERE status = 'queued' AND queue = $2"
    "  AND dispatched_at < now() - make_interval(secs => $1) AND run_at <= now()"
    "  ORDER BY dispatched_at LIMIT 1000 FOR UPDATE SKIP LOCKED),"
    " retry AS (SELECT id FROM jobs WHERE status = 'failed' AND queue = $2 AND run_at <= now()"
    "  ORDER BY run_at LIMIT 1000 FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs SET status = 'queued', dispatched_at = now()"
    " WHERE id IN (SELECT id FROM lost UNION ALL SELECT id FROM retry) RETURNING id";

/* Running for too long: its process died. Back to the queue (the attempt counts). */
static const char sweep_stale_sql[] =
    "UPDATE jobs SET status = 'queued', run_at = now(), locked_by = NULL, "
    "last_error = 'worker lost (process ended while running)' WHERE id IN ("
    " SELECT id FROM jobs WHERE status = 'running' AND locked_at < now() - make_interval(secs => "
    "$1) AND queue = $2 FOR UPDATE SKIP LOCKED LIMIT 1000) RETURNING id";

/* --- dispatch -------------------------------------------------------------------------------- */

static void xadd_done(redisReply *reply, const char *err, void *arg)
{
	jobs_t *j = arg;
	if (err || (reply && reply->type == REDIS_REPLY_ERROR))
		metric_inc(j->m.lost); /* the sweeper will find it in PostgreSQL */
}

static const char heartbeat_sql[] =
    "UPDATE jobs SET locked_at = now() WHERE id = $1 AND status = 'running'";

static void heartbeat_done(const PGresult *res, const char *err, void *arg)
{
	if (err)
		log_warn("jobs: a heartbeat failed: %s", err);
}

void jobs_heartbeat(jobs_t *j, int64_t job_id)
{
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, job_id);
	const char *params[] = {id};
	pg_query_prepared(j->app->pg, heartbeat_sql, 1, params, heartbeat_done, NULL);
}

void jobs_dispatch(jobs_t *j, const int64_t *ids, int n)
{
	for (int i = 0; i < n; i++) {
		char id[24];
		snprintf(id, sizeof(id), "%" PRId64, ids[i]);
		redis_command(j->app->redis, xadd_done, j, "XADD %s MAXLEN ~ %s * id %s", j->stream,
			      STREAM_MAXLEN, id);
	}
}

/* A statement committing a job, until it answers (jobs_on_commit). */
typedef struct commit {
	jobs_t *jobs;
	int col;
	pg_cb cb;
	void *arg;
} commit_t;

void *jobs_on_commit(jobs_t *j, int col, pg_cb cb, void *arg)
{
	commit_t *c = xmalloc(sizeof(*c));
	*c = (commit_t){j, col, cb, arg};
	return c;
}

void jobs_committed(const PGresult *res, const char *err, void *arg)
{
	commit_t c = *(commit_t *)arg;
	free(arg);
	if (!err && pg_value(res, 0, c.col)) {
		int64_t id = pg_int(res, 0, c.col, 0);
		jobs_dispatch(c.jobs, &id, 1);
	}
	c.cb(res, err, c.arg);
}

/* --- finishing ------------------------------------------------------------------------------ */

static void maybe_stopped(jobs_t *j)
{
	if (j->stopping && j->running == 0 && !j->reading && j->stopped) {
		void (*cb)(void *) = j->stopped;
		j->stopped = NULL;
		cb(j->stopped_arg);
	}
}

static void xack_done(redisReply *reply, const char *err, void *arg)
{
	/* An unacknowledged entry is re-claimed later and finds its row finished: harmless. */
}

static void finished(const PGresult *res, const char *err, void *arg)
{
	running_t *rj = arg;
	jobs_t *j = rj->job.jobs;
	if (err)
		log_warn("jobs: could not record the end of job %" PRId64 ": %s", rj->job.id, err);
	if (rj->entry[0])
		redis_command(j->blocking, xack_done, NULL, "XACK %s %s %s", j->stream, GROUP,
			      rj->entry);
	json_decref(rj->job.payload);
	free(rj);
	j->running--;
	read_more(j);
	maybe_stopped(j);
}

static running_t *ending(job_t *job)
{
	running_t *rj = (running_t *)job;
	if (rj->finished)
		die("jobs: job %" PRId64 " (%s) ended twice", job->id, job->kind);
	rj->finished = true;
	job_unpark(job);
	return rj;
}

/* At most this many parked jobs per slot: each is claimed in PostgreSQL and held in memory. */
#define PARKED_PER_SLOT 8

bool job_park(job_t *job)
{
	running_t *rj = (running_t *)job;
	jobs_t *j = job->jobs;
	if (rj->parked || j->parked >= j->concurrency * PARKED_PER_SLOT)
		return rj->parked;
	rj->parked = true;
	j->parked++;
	read_more(j);
	return true;
}

void job_unpark(job_t *job)
{
	running_t *rj = (running_t *)job;
	if (rj->parked) {
		rj->parked = false;
		job->jobs->parked--;
	}
}

void job_done(job_t *job, const char *note)
{
	running_t *rj = ending(job);
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, job->id);
	const char *params[] = {id, note};
	metric_inc(job->jobs->m.done);
	pg_query_prepared(job->app->pg, rj->replayable ? done_replayable_sql : done_sql, 2, params,
			  finished, rj);
}

static void retried(const PGresult *res, const char *err, void *arg)
{
	running_t *rj = arg;
	const char *status = pg_value(res, 0, 0);
	if (status && strcmp(status, "dead") == 0) {
		metric_inc(rj->job.jobs->m.dead);
		log_warn("jobs: job %" PRId64 " (%s) is dead after %d attempts", rj->job.id,
			 rj->job.kind, rj->job.attempt);
	}
	finished(res, err, arg);
}

void job_retry(job_t *job, const char *error, int64_t delay_ms)
{
	running_t *rj = ending(job);
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)now_us();
	if (delay_ms < 0)
		delay_ms = backoff_delay_ms(job->attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS, rnd) +
			   BACKOFF_BASE_MS / 2;
	char id[24], delay[24];
	snprintf(id, sizeof(id), "%" PRId64, job->id);
	snprintf(delay, sizeof(delay), "%" PRId64, delay_ms);
	const char *params[] = {id, error, delay};
	metric_inc(job->jobs->m.retried);
	log_info("jobs: job %" PRId64 " (%s) attempt %d failed, retry in %" PRId64 " ms: %s",
		 job->id, job->kind, job->attempt, delay_ms, error);
	pg_query_prepared(job->app->pg, retry_sql, 3, params, retried, rj);
}

bool job_is_last_attempt(const job_t *job)
{
	return job->attempt >= job->max_attempts;
}

void job_fail(job_t *job, const char *error)
{
	running_t *rj = ending(job);
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, job->id);
	const char *params[] = {id, error};
	metric_inc(job->jobs->m.dead);
	log_warn("jobs: job %" PRId64 " (%s) failed for good: %s", job->id, job->kind, error);
	pg_query_prepared(job->app->pg, dead_sql, 2, params, finished, rj);
}

/* --- claiming and running ----------------------------------------------------------------------
 */

static const handler_t *handler_for(const jobs_t *j, const char *kind)
{
	for (int i = 0; i < j->nhandlers; i++)
		if (strcmp(j->handlers[i].kind, kind) == 0)
			return &j->handlers[i];
	return NULL;
}

static void release_slot(jobs_t *j, running_t *rj)
{
	free(rj);
	j->running--;
	read_more(j);
	maybe_stopped(j);
}

static void claimed(const PGresult *res, const char *err, void *arg)
{
	running_t *rj = arg;
	jobs_t *j = rj->job.jobs;
	/* The entry has done its job either way: PostgreSQL now says what happens next (a job
	 * that could not be claimed is still queued there and the sweeper dispatches it again). */
	redis_command(j->blocking, xack_done, NULL, "XACK %s %s %s", j->stream, GROUP, rj->entry);
	rj->entry[0] = '\0';
	if (err || PQntuples(res) != 1) {
		/* Not ours: done, running elsewhere, or not yet due (a retry re-dispatched early).
		 */
		if (err)
			log_warn("jobs: claim of job %" PRId64 " failed: %s", rj->job.id, err);
		release_slot(j, rj);
		return;
	}
	metric_inc(j->m.claimed);
	job_t *job = &rj->job;
	snprintf(rj->kind, sizeof(rj->kind), "%s", pg_value(res, 0, 0));
	job->kind = rj->kind;
	job->payload = json_loads(pg_value(res, 0, 1), 0, NULL);
	if (!job->payload)
		job->payload = json_object();
	job->attempt = (int)pg_int(res, 0, 2, 1);
	job->max_attempts = (int)pg_int(res, 0, 3, 1);
	job->started_us = now_us();
	const handler_t *h = handler_for(j, job->kind);
	if (!h) {
		job_fail(job, "no handler for this kind of job");
		return;
	}
	rj->replayable = h->flags & JOB_REPLAYABLE;
	h->fn(job);
}

static void claim(jobs_t *j, const char *entry, const char *id)
{
	char *end;
	long long n = strtoll(id, &end, 10);
	if (*end || n <= 0) {
		redis_command(j->blocking, xack_done, NULL, "XACK %s %s %s", j->stream, GROUP,
			      entry);
		return; /* not one of ours */
	}
	running_t *rj = xcalloc(1, sizeof(*rj));
	rj->job.id = n;
	rj->job.app = j->app;
	rj->job.jobs = j;
	snprintf(rj->entry, sizeof(rj->entry), "%s", entry);
	j->running++;
	const char *params[] = {id, j->consumer, j->app->cfg.job_queue, j->replayable};
	pg_query_prepared(j->app->pg, claim_sql, 4, params, claimed, rj);
}

/* Entries of an XREADGROUP/XAUTOCLAIM reply: [[entry-id, [field, value, ...]], ...] */
static void claim_entries(jobs_t *j, const redisReply *entries)
{
	for (size_t i = 0; entries && i < entries->elements; i++) {
		const redisReply *e = entries->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[1]->type != REDIS_REPLY_ARRAY)
			continue; /* an entry trimmed away while pending */
		const redisReply *fields = e->element[1];
		for (size_t f = 0; f + 1 < fields->elements; f += 2)
			if (strcmp(fields->element[f]->str, "id") == 0)
				claim(j, e->element[0]->str, fields->element[f + 1]->str);
	}
}

/* --- consuming ----------------------------------------------------------------------------- */

static void group_created(redisReply *reply, const char *err, void *arg)
{
	jobs_t *j = arg;
	if (reply && reply->type == REDIS_REPLY_ERROR && !strstr(reply->str, "BUSYGROUP"))
		log_warn("jobs: cannot create the consumer group: %s", reply->str);
	read_more(j);
}

static void ensure_group(jobs_t *j)
{
	redis_command(j->blocking, group_created, j, "XGROUP CREATE %s %s 0 MKSTREAM", j->stream,
		      GROUP);
}

static void read_later(jobs_t *j)
{
	struct timeval tv = {1, 0};
	evtimer_add(&j->read_retry, &tv);
}

static void read_done(redisReply *reply, const char *err, void *arg)
{
	jobs_t *j = arg;
	j->reading = false;
	if (err) {
		read_later(j); /* Redis down: the sweeper keeps PostgreSQL's view moving */
		maybe_stopped(j);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		if (strstr(reply->str, "NOGROUP")) /* the stream was flushed away */
			ensure_group(j);
		else
			read_later(j);
		return;
	}
	/* [[stream, [entries...]]] or nil on timeout */
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1)
		claim_entries(j, reply->element[0]->element[1]);
	read_more(j);
	maybe_stopped(j);
}

/* Jobs that may start now: the free slots; under pressure, one once YIELD_MS have passed since
 * the last start. */
static int startable(jobs_t *j)
{
	int free_slots = j->concurrency - (j->running - j->parked);
	bool yielding = j->pressure && j->concurrency > 1 && j->pressure(j->pressure_arg);
	if (yielding && !j->yielding)
		metric_inc(j->m.yields);
	j->yielding = yielding;
	if (!yielding)
		return free_slots;
	if (!evtimer_pending(&j->yield_poll, NULL)) {
		struct timeval tv = {0, YIELD_MS * 1000};
		evtimer_add(&j->yield_poll, &tv);
	}
	if (now_us() - j->last_read_us < YIELD_MS * 1000)
		return 0;
	return free_slots > 0;
}

static void read_more(jobs_t *j)
{
	if (!j->started || j->stopping || j->reading || evtimer_pending(&j->read_retry, NULL))
		return;
	int free_slots = startable(j);
	if (free_slots <= 0)
		return;
	j->last_read_us = now_us();
	j->reading = true;
	char count[16], block[16];
	snprintf(count, sizeof(count), "%d", free_slots);
	snprintf(block, sizeof(block), "%d", BLOCK_MS);
	const char *argv[] = {"XREADGROUP", "GROUP", GROUP,	j->consumer, "COUNT", count,
			      "BLOCK",	    block,   "STREAMS", j->stream,   ">"};
	redis_commandv(j->blocking, read_done, j, (int)ARRAY_LEN(argv), argv, NULL);
}

static void read_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	read_more(arg);
}

void jobs_set_pressure(jobs_t *j, bool (*pressure)(void *arg), void *arg)
{
	j->pressure = pressure;
	j->pressure_arg = arg;
}

/* --- sweeping -------------------------------------------------------------------------------- */

static void swept(const PGresult *res, const char *err, void *arg)
{
	jobs_t *j = arg;
	if (err)
		return; /* database down: nothing can run anyway */
	int n = PQntuples(res);
	if (n == 0)
		return;
	int64_t *ids = xmalloc((size_t)n * sizeof(int64_t));
	for (int i = 0; i < n; i++)
		ids[i] = pg_int(res, i, 0, 0);
	metric_add(j->m.redispatched, n);
	jobs_dispatch(j, ids, n);
	free(ids);
}

static void autoclaimed(redisReply *reply, const char *err, void *arg)
{
	jobs_t *j = arg;
	/* [next-cursor, [entries...], [deleted ids...]] */
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2)
		return;
	const redisReply *entries = reply->element[1];
	metric_add(j->m.reclaimed, (double)entries->elements);
	claim_entries(j, entries);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	jobs_t *j = arg;
	if (j->stopping)
		return;
	char redispatch[16], stale[16];
	snprintf(redispatch, sizeof(redispatch), "%d", j->redispatch_s);
	snprintf(stale, sizeof(stale), "%d", j->stale_s);
	const char *p1[] = {redispatch, j->app->cfg.job_queue};
	pg_query_prepared(j->app->pg, sweep_due_sql, 2, p1, swept, j);
	const char *p2[] = {stale, j->app->cfg.job_queue};
	pg_query_prepared(j->app->pg, sweep_stale_sql, 2, p2, swept, j);
	/* Entries delivered to a consumer that died before XACK. */
	int free_slots = j->concurrency - j->running;
	if (free_slots > 0) {
		char count[16], idle[24];
		snprintf(count, sizeof(count), "%d", free_slots);
		snprintf(idle, sizeof(idle), "%d", j->stale_s * 1000);
		const char *argv[] = {"XAUTOCLAIM", j->stream, GROUP,	j->consumer,
				      idle,	    "0",       "COUNT", count};
		redis_commandv(j->app->redis, autoclaimed, j, (int)ARRAY_LEN(argv), argv, NULL);
	}
}

/* --- the job board --------------------------------------------------------------------------- */

/* A tenant's jobs, as a CTE every board statement starts from: its own (tenant_id), and each
 * channel's jobs that belong to no tenant but concern this one (channel_t.tenant_jobs_sql: a
 * notification group's job). */
static const char mine_head[] = "WITH mine AS (SELECT j.* FROM jobs j WHERE j.tenant_id = $1";

// clang-format off
static const char board_tail[] =
    " SELECT (SELECT json_build_object("
    " 'queued', count(*) FILTER (WHERE status = 'queued'),"
    " 'running', count(*) FILTER (WHERE status = 'running'),"
    " 'failed', count(*) FILTER (WHERE status = 'failed'),"
    " 'dead', count(*) FILTER (WHERE status = 'dead'),"
    " 'doneLast24h', count(*) FILTER (WHERE status = 'done'"
    " AND finished_at > now() - interval '24 hours')) FROM mine)::text,"
    " (SELECT count(*) FROM mine WHERE ($2::text IS NULL OR status = $2)"
    " AND ($3::text IS NULL OR kind = $3)),"
    " (SELECT coalesce(json_agg(x ORDER BY x.rank), '[]') FROM ("
    " SELECT row_number() OVER (ORDER BY updated_at DESC, id DESC) AS rank,"
    " id::text AS id, kind, status, attempts, max_attempts AS \"maxAttempts\","
    " payload, last_error AS \"lastError\", note,"
    " " SQL_ISO("run_at") " AS \"nextAttemptAt\","
    " " SQL_ISO("created_at") " AS \"createdAt\","
    " " SQL_ISO("updated_at") " AS \"updatedAt\","
    " " SQL_ISO("finished_at") " AS \"finishedAt\""
    " FROM mine WHERE ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3)"
    " ORDER BY updated_at DESC, id DESC LIMIT $4 OFFSET $5) x)::text";

/* Back to the queue with a fresh set of attempts ($2 the job, $3 who asked), only one of the
 * tenant's and only dead or failed; what the job had given up on waits again too
 * (channel_t.reopen_sql, reading "retried"). */
static const char requeued_cte[] =
    ", retried AS (UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(),"
    " dispatched_at = now(), finished_at = NULL, note = 'retried by ' || $3"
    " WHERE id = $2::bigint AND id IN (SELECT id FROM mine) AND status IN ('dead', 'failed')"
    " RETURNING id, payload)";
static const char requeue_tail[] =
    " SELECT (SELECT id FROM retried), (SELECT status FROM mine WHERE id = $2::bigint)";
// clang-format on

static char *append(char *s, const char *more)
{
	size_t n = s ? strlen(s) : 0, m = strlen(more);
	s = xrealloc(s, n + m + 1);
	memcpy(s + n, more, m + 1);
	return s;
}

static void build_board(jobs_t *j)
{
	char *mine = append(NULL, mine_head);
	char *reopen = append(NULL, "");
	for (size_t i = 0; channels[i]; i++) {
		if (channels[i]->tenant_jobs_sql) {
			mine = append(mine, " UNION ALL ");
			mine = append(mine, channels[i]->tenant_jobs_sql);
		}
		if (channels[i]->reopen_sql) {
			char name[64];
			snprintf(name, sizeof(name), ", reopen_%s AS (", channels[i]->name);
			reopen = append(reopen, name);
			reopen = append(reopen, channels[i]->reopen_sql);
			reopen = append(reopen, ")");
		}
	}
	mine = append(mine, ")");
	j->board_sql = append(append(NULL, mine), board_tail);
	j->requeue_sql =
	    append(append(append(append(NULL, mine), requeued_cte), reopen), requeue_tail);
	free(mine);
	free(reopen);
}

void jobs_board(jobs_t *j, const char *tenant_id, const char *status, const char *kind, int limit,
		long long offset, pg_cb cb, void *arg)
{
	char limit_s[16], offset_s[24];
	snprintf(limit_s, sizeof(limit_s), "%d", limit);
	snprintf(offset_s, sizeof(offset_s), "%lld", offset);
	const char *params[] = {tenant_id, status, kind, limit_s, offset_s};
	pg_query(j->app->pg, j->board_sql, 5, params, cb, arg);
}

void jobs_requeue(jobs_t *j, const char *tenant_id, const char *job_id, const char *actor, pg_cb cb,
		  void *arg)
{
	const char *params[] = {tenant_id, job_id, actor};
	pg_query(j->app->pg, j->requeue_sql, 3, params, jobs_committed,
		 jobs_on_commit(j, 0, cb, arg));
}

/* --- jobs committed by a trigger ------------------------------------------------------------ */

/* A statement the server did not write itself (a trigger: sql/0023's stock pushes) cannot call
 * jobs_dispatch; it announces its jobs at commit on sh_jobs as "<queue>:<id>,<id>...", and the
 * processes that run that queue XADD them. Each such process does (a duplicate entry is
 * harmless: the claim decides); one that missed the NOTIFY leaves it to the sweeper. */
static void on_wake(const char *channel, const char *payload, void *arg)
{
	jobs_t *j = arg;
	const char *colon = strchr(payload, ':');
	size_t qlen = strlen(j->app->cfg.job_queue);
	if (!colon || (size_t)(colon - payload) != qlen ||
	    strncmp(payload, j->app->cfg.job_queue, qlen) != 0)
		return;
	for (const char *p = colon + 1; *p;) {
		char *end;
		long long id = strtoll(p, &end, 10);
		if (end == p || id <= 0)
			return;
		int64_t id64 = id;
		jobs_dispatch(j, &id64, 1);
		p = *end == ',' ? end + 1 : end;
	}
}

static void on_wake_state(bool listening, void *arg)
{
	/* Announcements missed while not listening are found by the sweeper. */
}

/* --- lifecycle --------------------------------------------------------------------------- */

static double running_of(void *arg)
{
	return ((jobs_t *)arg)->running;
}

jobs_t *jobs_new(app_t *app)
{
	jobs_t *j = xcalloc(1, sizeof(*j));
	snprintf(j->replayable, sizeof(j->replayable), "{}");
	j->app = app;
	j->concurrency = app->cfg.job_concurrency;
	j->stale_s = app->cfg.job_stale_s;
	j->redispatch_s = app->cfg.job_redispatch_s;
	if (strcmp(app->cfg.job_queue, "default") == 0)
		snprintf(j->stream, sizeof(j->stream), "%s", STREAM);
	else
		snprintf(j->stream, sizeof(j->stream), "%s:%s", STREAM, app->cfg.job_queue);
	char host[32] = "host";
	gethostname(host, sizeof(host) - 1);
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)now_us();
	snprintf(j->consumer, sizeof(j->consumer), "%s-%d-%08x", host, (int)getpid(), rnd);
	/* Blocking reads wait up to BLOCK_MS: give that connection's commands room for it. */
	j->blocking = redis_new(app->base, app->cfg.redis_url, "jobs", BLOCK_MS + 2000);
	evtimer_assign(&j->read_retry, app->base, read_retry_cb, j);
	evtimer_assign(&j->yield_poll, app->base, read_retry_cb, j);
	event_assign(&j->sweep, app->base, -1, EV_PERSIST, sweep_cb, j);
	static const char help[] = "Jobs by what this process did with them";
	j->m.claimed = metrics_counter("sellerhub_jobs_total", help, "event=\"claimed\"");
	j->m.done = metrics_counter("sellerhub_jobs_total", help, "event=\"done\"");
	j->m.retried = metrics_counter("sellerhub_jobs_total", help, "event=\"retried\"");
	j->m.dead = metrics_counter("sellerhub_jobs_total", help, "event=\"dead\"");
	j->m.lost = metrics_counter("sellerhub_jobs_total", help, "event=\"lost\"");
	j->m.redispatched = metrics_counter("sellerhub_jobs_total", help, "event=\"redispatched\"");
	j->m.reclaimed = metrics_counter("sellerhub_jobs_total", help, "event=\"reclaimed\"");
	j->m.yields = metrics_counter("sellerhub_jobs_yields_total",
				      "Times jobs began to start slower for a flooded intake", "");
	metrics_gauge_fn("sellerhub_jobs_running", "Jobs running in this process", "", running_of,
			 j);
	build_board(j);
	return j;
}

void jobs_register(jobs_t *j, const char *kind, job_handler_fn fn, int flags)
{
	if (j->nhandlers == MAX_KINDS || strlen(kind) >= sizeof(j->handlers[0].kind) ||
	    strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(kind))
		die("jobs: too many kinds, or a kind name too long or not [a-z0-9_]: %s", kind);
	handler_t *h = &j->handlers[j->nhandlers++];
	snprintf(h->kind, sizeof(h->kind), "%s", kind);
	h->fn = fn;
	h->flags = flags;
	/* Names of [a-z0-9_]: nothing to quote in the array literal. */
	size_t len = 0;
	for (int i = 0; i < j->nhandlers; i++)
		if (j->handlers[i].flags & JOB_REPLAYABLE)
			len += (size_t)snprintf(j->replayable + len, sizeof(j->replayable) - len,
						"%s%s", len ? "," : "{", j->handlers[i].kind);
	snprintf(j->replayable + len, sizeof(j->replayable) - len, "%s", len ? "}" : "{}");
}

void jobs_start(jobs_t *j)
{
	j->started = true;
	if (j->concurrency == 0) /* an intake/API-only process: it dispatches, others run */
		return;
	struct timeval tv = {SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000};
	event_add(&j->sweep, &tv);
	ensure_group(j);
	static const char *const wake_channels[] = {"sh_jobs", NULL};
	j->wake = pg_listener_new(j->app->base, j->app->cfg.database_url, wake_channels, on_wake,
				  on_wake_state, j);
}

void jobs_stop(jobs_t *j, void (*stopped)(void *arg), void *arg)
{
	j->stopping = true;
	j->stopped = stopped;
	j->stopped_arg = arg;
	event_del(&j->sweep);
	evtimer_del(&j->read_retry);
	evtimer_del(&j->yield_poll);
	maybe_stopped(j);
}

void jobs_free(jobs_t *j)
{
	if (!j)
		return;
	/* The blocking read's failed answer re-arms read_retry: free it before the timers. */
	redis_free(j->blocking);
	pg_listener_free(j->wake);
	event_del(&j->sweep);
	evtimer_del(&j->read_retry);
	evtimer_del(&j->yield_poll);
	free(j->board_sql);
	free(j->requeue_sql);
	free(j);
}
