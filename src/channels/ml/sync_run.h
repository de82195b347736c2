/* Sync runs of one Mercado Livre account (sync_run.c): the backfill behind POST
 * /api/sync/start (an "ml_sync" job) and the scheduled incremental sync (summary.c).
 *
 * A run keeps requests in flight on the loop (the account's limiter bucket in httpc paces them
 * to ML_RATE and slows down on 429), upserts every page as it arrives, and writes its progress
 * and per-resource cursors to sync_runs once a second, so a run interrupted by a restart
 * resumes where it was (the job is re-run and finds its sync_runs row). */
#ifndef SH_ML_SYNC_RUN_H
#define SH_ML_SYNC_RUN_H

#include <stdbool.h>

#include "app.h"

/* The job kind and its payload: {"run": "<sync_runs.id>"}. */
#define ML_RUN_JOB "ml_sync"

/* Requests one run keeps in flight (the limiter decides when each goes out). */
#define ML_RUN_IN_FLIGHT 32

void ml_run_register_jobs(app_t *app);

/* err NULL when the run succeeded; records = documents fetched. */
typedef void (*ml_run_cb)(const char *err, long long records, void *arg);

/* The scheduled incremental sync of an account (no job): orders changed since the last
 * successful run (order.date_last_updated.from), items (their last_updated decides what is
 * written), unanswered questions. When another run holds the account, cb gets err "busy". */
void ml_run_incremental(app_t *app, const char *account_id, ml_run_cb cb, void *arg);

#endif
