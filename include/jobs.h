/* Durable background jobs. PostgreSQL holds each job's state (queued, running, done, failed,
 * dead; attempts; next attempt; last error); a Redis Stream consumer group only carries job ids
 * to whichever process is free. A job runs only after this process claims its row in
 * PostgreSQL, so a duplicate or replayed stream entry is harmless, and a sweeper re-dispatches
 * what PostgreSQL says is due but Redis lost (flushed, restarted, or never told).
 *
 * Handlers are registered per kind. A handler ends every job it is given with exactly one of
 * job_done, job_retry or job_fail, now or later from an async callback. */
#ifndef SH_JOBS_H
#define SH_JOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pg.h"

struct app;
typedef struct jobs jobs_t;

typedef struct job {
	int64_t id;
	const char *kind;
	json_t *payload; /* owned by the job */
	int attempt;	 /* 1 for the first run */
	int max_attempts;
	struct app *app;
	jobs_t *jobs;
	int64_t started_us;
} job_t;

typedef void (*job_handler_fn)(job_t *job);

enum job_flags {
	JOB_DURABLE = 0,
	/* Running it again after a PostgreSQL crash does no harm (it fetches and upserts): its
	 * claim and its end are recorded without waiting for the WAL flush
	 * (PG_COMMIT_NO_FLUSH_WAIT). Lost in a crash, the job is queued again (the sweeper
	 * dispatches it) or still running in PostgreSQL's eyes (it runs again once stale). */
	JOB_REPLAYABLE = 1 << 0,
};

/* The jobs table's statements for a caller that must write a job in its own statement, in one
 * commit with rows of its own (the group of notifications it processes, the sync run it
 * performs): the job module keeps every statement that writes the table.
 * JOBS_NEXT_ID draws an id first, so the caller's rows can carry it; JOBS_INSERT(cols) begins
 * the INSERT of a job with those of (id, kind, tenant_id, payload, max_attempts, queue), to be
 * followed by a SELECT or VALUES of them. */
#define JOBS_NEXT_ID	  "nextval('jobs_id_seq')"
#define JOBS_INSERT(cols) "INSERT INTO jobs (" cols ")"

jobs_t *jobs_new(struct app *app);
/* Start consuming (after every handler is registered). */
void jobs_start(jobs_t *j);
/* Stop taking new jobs; `stopped` runs once the running ones have ended. */
void jobs_stop(jobs_t *j, void (*stopped)(void *arg), void *arg);
void jobs_free(jobs_t *j);
void jobs_register(jobs_t *j, const char *kind, job_handler_fn fn, int flags);
/* A long job's heartbeat: its claim is fresh again, so the stale-job sweep leaves it running. */
void jobs_heartbeat(jobs_t *j, int64_t job_id);
/* Tell the consumers about jobs just committed (XADD). Best effort: if Redis is down the sweeper
 * dispatches them later from PostgreSQL. */
void jobs_dispatch(jobs_t *j, const int64_t *ids, int n);

/* What says the process is under pressure (the webhook intake flooded: webhooks_flooded).
 * Meanwhile at most one job starts every jobs.c's YIELD_MS, so that their statements leave the
 * database's CPU and WAL flushes to the acknowledgements' commits; jobs already running go on,
 * the rest wait in the queue and catch up once the pressure has passed. */
void jobs_set_pressure(jobs_t *j, bool (*pressure)(void *arg), void *arg);

/* For a statement that commits a job (JOBS_INSERT, a requeue): pass jobs_committed as its
 * callback and what jobs_on_commit returns as its arg. Once it answers, the job whose id is in
 * column col of its row (none when NULL, or on an error) is dispatched, then cb gets the
 * answer. */
void *jobs_on_commit(jobs_t *j, int col, pg_cb cb, void *arg);
void jobs_committed(const PGresult *res, const char *err, void *arg);

/* The job board of a tenant (GET /api/admin/jobs): its own jobs and each channel's that
 * concern it (channel_t.tenant_jobs_sql); status and kind filter the page (NULL: any), newest
 * change first. cb gets one row: (the queue's counts as JSON text {queued, running, failed,
 * dead, doneLast24h}, how many jobs the filters match, the page as JSON array text). */
void jobs_board(jobs_t *j, const char *tenant_id, const char *status, const char *kind, int limit,
		long long offset, pg_cb cb, void *arg);
/* Queue one of the tenant's dead or failed jobs (job_id: digits) again with a fresh set of
 * attempts, noting who asked (actor); what the job had given up on waits again too
 * (channel_t.reopen_sql). A job queued again is dispatched before cb, which gets one row: (the
 * job id, NULL when it was not queued again; its status, NULL when the tenant has no such job). */
void jobs_requeue(jobs_t *j, const char *tenant_id, const char *job_id, const char *actor, pg_cb cb,
		  void *arg);

void job_done(job_t *job, const char *note);
/* Try again after delay_ms (-1: exponential backoff with jitter); dead after max_attempts
 * (job_is_last_attempt tells beforehand). */
void job_retry(job_t *job, const char *error, int64_t delay_ms);
/* Never retry: dead now (a programming or data error that another attempt cannot fix). */
void job_fail(job_t *job, const char *error);
bool job_is_last_attempt(const job_t *job);

/* A job about to wait on something that is not work here (a provider's rate limit, an answer)
 * lends its slot to the next job: the process takes another one from the queue meanwhile. True
 * when parked (false: too many are parked already, and it keeps its slot). A parked job still
 * ends with job_done/job_retry/job_fail, which unpark it; job_unpark takes its slot back first
 * (the process may then run more jobs than JOB_CONCURRENCY until some end). */
bool job_park(job_t *job);
void job_unpark(job_t *job);

#endif
