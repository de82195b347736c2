/* The sync engine: runs of one account's sync, whatever its channel. A run is a sync_runs row
 * (keyed by the account): the backfill behind POST /api/sync/start (a "<channel>_sync" job)
 * or the scheduled incremental sync. What a run fetches is the channel's plan (channel_t.plan);
 * the engine owns the rest:
 *
 *   - a queue of calls ("tasks") of which up to SYNC_IN_FLIGHT are in flight, the limiter
 *     pacing them (the account's bucket slows down on a 429), and rounds of retries with
 *     growing waits for the ones that came back rate limited or failed transiently;
 *   - each resource's progress (state, done, total, error) and resumable cursor, written to
 *     sync_runs once a second with a heartbeat (and jobs.locked_at, so the job sweeper does not
 *     take a long run for a dead one), restored when the job runs again after a restart;
 *   - the end: status, records, errors, the account's cached counts, the job's outcome.
 *
 * A plan is data and callbacks, as PostgreSQL's FdwRoutine: its resources (progress entries)
 * and its steps (kinds of call: which path, how the answer is mapped, stored and followed up). */
#ifndef SH_SYNC_ENGINE_H
#define SH_SYNC_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"

/* Requests one run keeps in flight (the limiter decides when each goes out). */
#define SYNC_IN_FLIGHT 32

typedef struct sync_run sync_run_t;
typedef struct sync_task sync_task_t;
typedef struct sync_step sync_step_t;

/* What a run is, from its sync_runs row and its account. Valid while the run lives. */
typedef struct sync_run_info {
	char id[40], tenant_id[40], account_id[40], started_at[40];
	char external_id[64]; /* the account's id at its channel */
	json_t *settings;     /* the account's settings (channel-specific), NULL when unreadable */
	bool scheduled;	      /* the scheduled incremental sync, not a backfill */
	bool resume;	      /* progress was saved by an earlier attempt of this run */
	int days;	      /* backfill: how many days back */
	int64_t since;	      /* scheduled: changes since (epoch seconds), 0 = none known */
} sync_run_info_t;

/* One resource's progress, as sync_runs.progress shows it under the resource's name. The plan
 * counts done and total; the engine moves the state. */
typedef struct sync_res {
	const char *state; /* pending, running, done, failed, skipped, stopped */
	long long done, total;
	int64_t cursor; /* where a resumed run starts again (resources with .cursor) */
	char started[32], finished[32];
	char error[200];
} sync_res_t;

/* How a call ended, in the engine's terms (the plan maps its provider's errors). */
enum sync_outcome {
	SYNC_OK,
	SYNC_AGAIN,	/* rate limited or transient: the engine retries it later */
	SYNC_NOT_FOUND, /* the provider has no such thing */
	SYNC_FATAL,	/* the account cannot be synced (authorization, configuration): stop */
	SYNC_FAILED,	/* any other failure of this call */
};

/* Valid only during sync_task_answered. */
typedef struct sync_answer {
	enum sync_outcome outcome;
	long status;	     /* HTTP status, 0 when none */
	const char *message; /* one line without secrets; not NULL unless SYNC_OK */
	json_t *body;	     /* the parsed answer (borrowed), NULL when none */
} sync_answer_t;

/* Tasks that finish together, e.g. the pages of one window of orders and their follow-ups: a
 * cursor can move past them once all are stored. The plan embeds it in its own struct; the
 * engine counts the tasks in the group and calls drained when the count falls to zero (after
 * which the engine no longer touches the group). */
typedef struct sync_group sync_group_t;
struct sync_group {
	int pending; /* tasks queued, in flight or storing */
	bool failed; /* a call or a store of the group failed */
	void (*drained)(sync_group_t *g, sync_run_t *run);
};

/* One call to make. Owned by the run's queue, then by the call in flight; freed by the engine
 * when the task ends. The parameters are the step's to read. */
struct sync_task {
	const sync_step_t *step;
	sync_run_t *run;
	sync_group_t *group; /* NULL: none */
	int attempt;	     /* 0 for the first call */
	long offset;	     /* a page's offset */
	int64_t id;	     /* one thing's id */
	int index;	     /* which of a list of filters */
	char *token;	     /* a continuation or a list of ids; freed with the task */
	/* the engine's */
	sync_task_t *next;
	struct event *timer; /* a retry waiting */
};

/* One kind of call of a plan. */
struct sync_step {
	int resource; /* index in the plan's resources: whose progress and errors */
	/* The path of t's call (GET, as the run's account). */
	void (*path)(const sync_task_t *t, char *buf, size_t size);
	/* A successful answer: map it, push follow-ups, and end t (sync_task_store or
	 * sync_task_end). */
	void (*answered)(sync_task_t *t, json_t *body);
	/* A failed call after the engine's retries: true when the step took care of t (ended it
	 * or queued it again), false to count it as the resource's error. NULL: always false. */
	bool (*failed)(sync_task_t *t, const sync_answer_t *a);
};

/* One entry of a run's progress. */
typedef struct sync_resource {
	const char *name;	   /* its key in sync_runs.progress */
	const char *const *scopes; /* the run scopes besides "all" that want it, NULL-terminated */
	bool cursor;		   /* its progress carries a cursor */
	/* Queue its first calls; runs when the run wants the resource and it is not done yet,
	 * after it was marked running. NULL: another resource's begin starts it. */
	void (*begin)(sync_run_t *run);
	/* Whether everything of it was fetched (checked once no call is left). */
	bool (*complete)(sync_run_t *run);
} sync_resource_t;

/* A channel's sync plan (channel_t.plan). */
typedef struct sync_plan {
	const sync_resource_t *resources;
	int n_resources;
	/* The plan's state of one run (windows, scan positions), built before the resources
	 * begin and freed with the run. */
	void *(*run_new)(sync_run_t *run);
	void (*run_free)(void *state);
	/* Make t's call: GET path as the run's account through the channel's client; the answer
	 * goes to sync_task_answered(t, ...) once. */
	void (*get)(sync_task_t *t, const char *path);
	/* Refresh the account's cached counts from the synced tables ($1 the account id) when a
	 * run ends. NULL: none. */
	const char *counts_sql;
	/* ANALYZE of the synced tables after a large run. NULL: none. */
	const char *analyze_sql;
} sync_plan_t;

/* --- for the core ------------------------------------------------------------------------- */

/* Register the "<channel>_sync" job of every channel with a plan; payload {"run": "<id>"}. */
void sync_register_jobs(app_t *app);

/* err NULL when the run succeeded; records = documents fetched. */
typedef void (*sync_run_cb)(const char *err, long long records, void *arg);

/* The scheduled incremental sync of an account (no job): scope all, changes since the last
 * successful run that covered orders. When another run holds the account, cb gets err "busy".
 * A run whose process died is abandoned first. */
void sync_incremental(app_t *app, const char *account_id, sync_run_cb cb, void *arg);

/* A backfill of the tenant's account (POST /api/sync/start): its sync_runs row and its
 * "<channel>_sync" job in one commit (a run of the account whose process died is abandoned
 * first), the job dispatched before cb. scope is one of the run scopes ("all", ...), days how
 * far back. cb gets one row: (1 when the account is the tenant's else 0; the job id, NULL
 * when another run holds the account; the run id); or the failed statement's error (res NULL
 * when the connection was lost). */
void sync_backfill_start(app_t *app, const char *tenant_id, const char *account_id,
			 const char *scope, int days, pg_cb cb, void *arg);

/* --- for a plan --------------------------------------------------------------------------- */

app_t *sync_run_app(const sync_run_t *run);
const sync_run_info_t *sync_run_info(const sync_run_t *run);
void *sync_run_state(const sync_run_t *run); /* what the plan's run_new returned */
sync_res_t *sync_run_res(sync_run_t *run, int resource);
bool sync_run_wants(const sync_run_t *run, int resource);
/* A fatal error stopped the run: issue nothing more. */
bool sync_run_stopped(const sync_run_t *run);
/* Mark a resource running (started now), unless it already is or is over. */
void sync_run_res_start(sync_run_t *run, int resource);
/* Work of the plan's own (a query) the run must wait for before it ends: hold, then release
 * from its callback (which also sends what is queued). */
void sync_run_hold(sync_run_t *run);
void sync_run_release(sync_run_t *run);

/* A new task of step in group (may be NULL); nothing is counted until it is pushed. */
sync_task_t *sync_task_new(sync_run_t *run, const sync_step_t *step, sync_group_t *group);
/* Queue t: last, or first for a follow-up that must not wait (a scroll that expires). */
void sync_task_push(sync_task_t *t, bool front);
/* Queue t again first in line after ms (a report still being built): the run waits for it. */
void sync_task_later(sync_task_t *t, int64_t ms);
/* Queue t again first in line and send what can go (after the step changed it). */
void sync_task_again(sync_task_t *t);
/* t is over (stored, skipped or failed for good): free it, release its group, send more. */
void sync_task_end(sync_task_t *t);
/* t's answer could not be used (from its step's answered): the resource's error, then ended. */
void sync_task_fail(sync_task_t *t, const char *message);
/* The answer to t's call (from the plan's get). */
void sync_task_answered(sync_task_t *t, const sync_answer_t *a);

/* err NULL on success; written = documents that changed a row. */
typedef void (*sync_store_cb)(const char *err, long written, void *arg);
/* Store a JSON array of documents (text) as the run's tenant and account. */
typedef void (*sync_upsert_fn)(app_t *app, const char *tenant_id, const char *account_id,
			       const char *docs, sync_store_cb cb, void *arg);
/* Store docs (a JSON array, borrowed) with upsert, count them as done, and end t. An empty
 * array ends t at once. */
void sync_task_store(sync_task_t *t, sync_upsert_fn upsert, json_t *docs);
/* The same with done in place of sync_stored: it gets the sync_task_storing handle and must
 * end in sync_stored. */
void sync_task_store_via(sync_task_t *t, sync_upsert_fn upsert, json_t *docs, sync_store_cb done);
/* For a store of another shape: a handle to pass as the arg of sync_stored, its callback;
 * counted = documents it adds to the resource's done and the run's records. t ends when the
 * store does. */
void *sync_task_storing(sync_task_t *t, long counted);
void sync_stored(const char *err, long written, void *store);
sync_run_t *sync_stored_run(const void *store); /* the run a sync_task_storing handle is of */

#endif
