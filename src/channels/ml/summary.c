/* One account sync: mark in progress → the incremental sync run (the sync engine and plan.c) →
 * cachedData counts from the synced tables → save success or failure. */
#include "summary.h"
#include "log.h"
#include "account.h"
#include "sync_engine.h"
#include "pg.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char start_sql[] =
    "UPDATE accounts SET last_sync_status = 'in_progress' "
    "WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2::uuid) RETURNING external_id, status";

/* products = items, orders = orders, issues = unanswered questions + open claims, all from the
 * synced tables. */
static const char success_sql[] =
    "UPDATE accounts a SET"
    " cached_products = (SELECT count(*) FROM listings i WHERE i.account_id = a.id),"
    " cached_orders = (SELECT count(*) FROM orders o WHERE o.account_id = a.id),"
    " cached_issues = (SELECT count(*) FROM ml_questions q WHERE q.tenant_id = a.tenant_id"
    "   AND q.account_id = a.id AND q.status = 'UNANSWERED')"
    "  + (SELECT count(*) FROM ml_claims c WHERE c.tenant_id = a.tenant_id"
    "   AND c.account_id = a.id AND c.status = 'opened'), "
    "  cached_at = now(), last_sync_at = now(), last_sync_status = 'success', "
    "  last_sync_error = NULL, next_sync_at = now() + sync_interval_ms * interval '1 ms', "
    "  status = CASE WHEN status = 'error' THEN 'active' ELSE status END "
    "WHERE id = $1 RETURNING " SQL_ISO("last_sync_at") ", cached_products, cached_orders, "
						       "cached_issues";

/* An expired authorization was already marked by the token upkeep; other failures turn an
 * active account into error until a sync succeeds. */
static const char failure_sql[] =
    "UPDATE accounts SET last_sync_status = 'failed', last_sync_error = left($2, 500), "
    "  next_sync_at = now() + sync_interval_ms * interval '1 ms', "
    "  status = CASE WHEN $3::bool THEN 'expired' WHEN status = 'active' THEN 'error' "
    "    ELSE status END, " ML_PUSH_ERROR("'sync'", "left($2, 500)") " "
								     "WHERE id = $1";

enum sync_state { S_START, S_FETCH, S_SAVE };

/* One sync. Owned by itself; freed once cb has run. */
typedef struct sync_op {
	app_t *app;
	enum sync_state state;
	char account_id[40];
	ml_sync_result_t res;
	char error[400];
	ml_sync_cb cb;
	void *arg;
} sync_op_t;

static void finish(sync_op_t *s)
{
	s->res.account_id = s->account_id;
	s->cb(&s->res, s->arg);
	free(s);
}

static void failure_saved(const PGresult *res, const char *err, void *arg)
{
	sync_op_t *s = arg;
	if (err)
		log_warn("ml_sync: recording the failure of %s failed: %s", s->account_id, err);
	finish(s);
}

static void fail(sync_op_t *s, enum ml_err e, const char *message)
{
	s->res.ok = false;
	s->res.err = e;
	snprintf(s->error, sizeof(s->error), "%s", message ? message : ml_err_name(e));
	s->res.error = s->error;
	log_info("ml_sync: account %s failed: %s", s->account_id, s->error);
	s->state = S_SAVE;
	const char *params[] = {s->account_id, s->error,
				(e == ML_ERR_EXPIRED || e == ML_ERR_INVALID_GRANT) ? "t" : "f"};
	pg_query(s->app->pg, failure_sql, 3, params, failure_saved, s);
}

static void success_saved(const PGresult *res, const char *err, void *arg)
{
	sync_op_t *s = arg;
	if (err || PQntuples(res) != 1) {
		/* Deleted while syncing, or the database went away: nothing was saved. */
		s->res.ok = false;
		s->res.err = ML_ERR_TRANSIENT;
		s->res.error = err ? "the database is unavailable" : "the account was removed";
		finish(s);
		return;
	}
	s->res.ok = true;
	s->res.products = pg_int(res, 0, 1, 0);
	s->res.orders = pg_int(res, 0, 2, 0);
	s->res.issues = pg_int(res, 0, 3, 0);
	snprintf(s->error, sizeof(s->error), "%s", pg_value(res, 0, 0));
	s->res.synced_at = s->error;
	finish(s);
}

/* "busy": a backfill holds the account; it keeps the tables current, so the counts stand. */
static void synced(const char *err, long long records, void *arg)
{
	sync_op_t *s = arg;
	if (err && strcmp(err, "busy") != 0) {
		fail(s, strstr(err, "expired") ? ML_ERR_EXPIRED : ML_ERR_TRANSIENT, err);
		return;
	}
	const char *params[] = {s->account_id};
	s->state = S_SAVE;
	pg_query_prepared(s->app->pg, success_sql, 1, params, success_saved, s);
}

static void started(const PGresult *res, const char *err, void *arg)
{
	sync_op_t *s = arg;
	if (err) {
		s->res.found = true;
		s->res.err = ML_ERR_TRANSIENT;
		s->res.error = "the database is unavailable";
		finish(s);
		return;
	}
	if (PQntuples(res) != 1) {
		finish(s);
		return;
	}
	s->res.found = true;
	if (strcmp(pg_value(res, 0, 1), "expired") == 0) {
		fail(s, ML_ERR_EXPIRED, NULL);
		return;
	}
	s->state = S_FETCH;
	sync_incremental(s->app, s->account_id, synced, s);
}

void ml_sync_account(app_t *app, const char *account_id, const char *tenant_id, ml_sync_cb cb,
		     void *arg)
{
	sync_op_t *s = xcalloc(1, sizeof(*s));
	s->app = app;
	snprintf(s->account_id, sizeof(s->account_id), "%s", account_id);
	s->cb = cb;
	s->arg = arg;
	s->state = S_START;
	const char *params[] = {account_id, tenant_id};
	pg_query_prepared(app->pg, start_sql, 2, params, started, s);
}
