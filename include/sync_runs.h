/* What the API shows of sync runs (the sync_runs rows the engine writes, sync_engine.h): each
 * account's progress and the history of runs, the tenant's only. A run is rendered by SQL as
 * the JSON object API.md gives for GET /api/sync/history (its resources without cursors). */
#ifndef SH_SYNC_RUNS_H
#define SH_SYNC_RUNS_H

#include "app.h"
#include "pg.h"

/* The tenant's accounts, or the one account_id (NULL: all), oldest first: cb gets a row per
 * account whose column 0 is its JSON {accountId, nickname, running, lastSync, nextSync, run}
 * (run: its latest, or null). */
void sync_runs_status(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb,
		      void *arg);

/* The history's filters; NULL for none. from and to are ISO-8601 (a date alone for to takes
 * its whole day); scopes a PostgreSQL array literal of run scopes ("{all,orders}"). */
typedef struct sync_history_filter {
	const char *account_id, *from, *to, *scopes, *status;
} sync_history_filter_t;

/* One page of the tenant's runs matching f, newest first, and their statistics, in one round
 * trip: cb gets two results, the page (column 0 a run's JSON) and one row (how many runs, the
 * statistics' JSON {successRate, avgDuration, totalRecords, runs, failed, byChannel}). */
void sync_runs_history(app_t *app, const char *tenant_id, const sync_history_filter_t *f, int limit,
		       long long offset, pg_batch_cb cb, void *arg);

/* The tenant's accounts (or the one) for POST /api/sync/manual: a row each (id, channel,
 * status, the mean seconds of its last successful runs or NULL), oldest first. */
void sync_runs_accounts(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb,
			void *arg);
/* GET /api/sync/status's overview in one round trip: one row whose column 0 is the JSON
 * {currentJobs, lastSync, nextScheduledSync, health:{<channel>:{status, ...}}}, then the
 * tenant's accounts (id, channel) whose rate limits to show. */
void sync_runs_overview(app_t *app, const char *tenant_id, pg_batch_cb cb, void *arg);

#endif
