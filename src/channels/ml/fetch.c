/* What the resource modules share: running an upsert, and fetching one resource as an account
 * for a notification (GET, wrap in an array, upsert). */
#include "log.h"
#include "data.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct store_call {
	ml_store_cb cb;
	void *arg;
} store_call_t;

static void stored(const PGresult *res, const char *err, void *arg)
{
	store_call_t *s = arg;
	s->cb(err, err ? 0 : (long)pg_int(res, 0, 0, 0), s->arg);
	free(s);
}

void ml_store_run(app_t *app, const char *sql, int nparams, const char *const *params,
		  ml_store_cb cb, void *arg)
{
	store_call_t *s = xcalloc(1, sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	pg_query_prepared(app->pg, sql, nparams, params, stored, s);
}

bool ml_shipment_open(const char *status)
{
	static const char *const closed[] = {"delivered", "not_delivered", "cancelled", NULL};
	if (!status)
		return false;
	for (int i = 0; closed[i]; i++)
		if (strcmp(status, closed[i]) == 0)
			return false;
	return true;
}

/* One fetch: GET → upsert → done. Owned by itself; freed after done. */
typedef struct fetch {
	app_t *app;
	char tenant_id[40], account_id[40];
	ml_upsert_fn upsert;
	ml_fetch_done_fn done;
	void *arg;
} fetch_t;

static void fetch_stored(const char *err, long written, void *arg)
{
	fetch_t *f = arg;
	if (err)
		f->done(err, true, NULL, f->arg);
	else
		f->done(NULL, false, written ? NULL : "older than the stored copy", f->arg);
	free(f);
}

static void fetch_got(const ml_result_t *res, void *arg)
{
	fetch_t *f = arg;
	if (res->err != ML_OK) {
		bool retry = res->err == ML_ERR_RATE_LIMITED || res->err == ML_ERR_TRANSIENT;
		if (res->err == ML_ERR_NOT_FOUND)
			f->done(NULL, false, "gone at Mercado Livre (404)", f->arg);
		else
			f->done(res->message ? res->message : ml_err_name(res->err), retry, NULL,
				f->arg);
		free(f);
		return;
	}
	json_t *arr = json_pack("[O]", res->body);
	char *docs = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	f->upsert(f->app, f->tenant_id, f->account_id, docs, fetch_stored, f);
	free(docs);
}

void ml_fetch_one(app_t *app, const char *tenant_id, const char *account_id, const char *path,
		  ml_upsert_fn upsert, ml_fetch_done_fn done, void *arg)
{
	fetch_t *f = xcalloc(1, sizeof(*f));
	f->app = app;
	snprintf(f->tenant_id, sizeof(f->tenant_id), "%s", tenant_id);
	snprintf(f->account_id, sizeof(f->account_id), "%s", account_id);
	f->upsert = upsert;
	f->done = done;
	f->arg = arg;
	ml_account_get(app, account_id, ML_SYNC_OP, path, fetch_got, f);
}
