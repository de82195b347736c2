/* /api/sync: start a backfill of an account (a durable <channel>_sync job, 202), its progress, and
 * the history of runs. A second start while a run holds the account is 409: the unique index on
 * running runs decides, so two concurrent starts cannot both win. */
#include "api.h"
#include "identity.h"
#include "listing.h"
#include "permissions.h"
#include "sync_engine.h"
#include "sync_manage.h"
#include "sync_runs.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>

static const char *const scopes[] = {"all", "items", "orders", "shipments", "questions", NULL};

static void started(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "sync: start", res, err);
		return;
	}
	if (pg_int(res, 0, 0, 0) == 0) {
		http_error(r, 404, "NOT_FOUND", "No such account.", NULL);
		return;
	}
	if (!pg_value(res, 0, 1)) {
		http_error(r, 409, "SYNC_RUNNING", "A sync of this account is already running.",
			   NULL);
		return;
	}
	http_ok(r, 202,
		json_pack("{s:I, s:s, s:s}", "jobId", (json_int_t)pg_int(res, 0, 1, 0), "runId",
			  pg_value(res, 0, 2), "status", "queued"),
		"Sync started");
}

json_t *sync_start_body_check(req_t *r, sync_start_body_t *b)
{
	json_t *d = NULL;
	b->account_id = validate_string(r, "accountId", V_REQUIRED, 64, &d, NULL);
	if (b->account_id && !validate_uuid(b->account_id))
		d = http_problem(d, "accountId", "must be a UUID");
	b->scope = validate_enum(r, "scope", V_OPTIONAL, scopes, &d);
	json_t *days_v = r->body ? json_object_get(r->body, "days") : NULL;
	b->days = 30;
	if (days_v && !json_is_null(days_v)) {
		if (!json_is_integer(days_v) || json_integer_value(days_v) < 1 ||
		    json_integer_value(days_v) > 365)
			d = http_problem(d, "days", "must be an integer from 1 to 365");
		else
			b->days = json_integer_value(days_v);
	}
	return d;
}

static void sync_start(req_t *r)
{
	if (!perm_require(r, "sync.run"))
		return;
	sync_start_body_t b;
	json_t *d = sync_start_body_check(r, &b);
	if (d) {
		http_invalid(r, d);
		return;
	}
	sync_backfill_start(r->app, r->tenant_id, b.account_id, b.scope ? b.scope : "all",
			    (int)b.days, started, r);
}

typedef struct status_call {
	req_t *r;
	bool one;
} status_call_t;

static void status_done(const PGresult *res, const char *err, void *arg)
{
	status_call_t *c = arg;
	if (err) {
		identity_db_error(c->r, "sync: status", res, err);
		return;
	}
	if (c->one) {
		if (PQntuples(res) != 1) {
			http_error(c->r, 404, "NOT_FOUND", "No such account.", NULL);
			return;
		}
		http_ok(c->r, 200, list_json_cell(res, 0, 0), NULL);
		return;
	}
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, list_json_cell(res, i, 0));
	sync_status_overview(c->r, json_pack("{s:o}", "accounts", arr));
}

static void sync_status(req_t *r)
{
	if (!perm_require(r, "accounts.view"))
		return;
	json_t *d = NULL;
	const char *account = list_uuid_param(r, "accountId", &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	status_call_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	c->one = account != NULL;
	sync_runs_status(r->app, r->tenant_id, account, status_done, c);
}

typedef struct history_call {
	req_t *r;
	list_req_t l;
} history_call_t;

static void history_done(PGresult *const *results, int n, const char *err, void *arg)
{
	history_call_t *c = arg;
	req_t *r = c->r;
	if (err) {
		identity_db_error(r, "sync: history", pg_batch_failed(results, n), err);
		return;
	}
	json_t *runs = json_array();
	for (int i = 0; i < PQntuples(results[0]); i++)
		json_array_append_new(runs, list_json_cell(results[0], i, 0));
	long long total = pg_int(results[1], 0, 0, 0);
	json_t *data = json_pack("{s:o, s:o, s:{s:i, s:i, s:I, s:I}}", "runs", runs, "statistics",
				 list_json_cell(results[1], 0, 1), "pagination", "page", c->l.page,
				 "limit", c->l.limit, "total", (json_int_t)total, "pages",
				 (json_int_t)((total + c->l.limit - 1) / c->l.limit));
	http_ok(r, 200, data, NULL);
}

static const char *const run_statuses[] = {"running", "success", "failed", NULL};

static void sync_history(req_t *r)
{
	if (!perm_require(r, "accounts.view"))
		return;
	json_t *d = NULL;
	history_call_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	list_parse(r, &c->l, &d);
	sync_history_filter_t f = {0};
	f.account_id = list_uuid_param(r, "accountId", &d);
	f.from = list_time_param(r, "startDate", &d);
	f.to = list_time_param(r, "endDate", &d);
	f.status = validate_query_enum(r, "status", run_statuses, &d);
	const char *type = validate_query_enum(r, "type", sync_types, &d);
	if (f.from && f.to && strncmp(f.to, f.from, 10) < 0)
		d = http_problem(d, "endDate", "must not be before startDate");
	if (d) {
		http_invalid(r, d);
		return;
	}
	if (type) {
		char *wanting = arena_alloc(r->arena, 128);
		sync_type_scopes(sync_type_index(type), wanting, 128);
		f.scopes = wanting;
	}
	/* The offset list_parse settled on (a page's, or 0 after a cursor). */
	long long offset = strtoll(c->l.offset, NULL, 10);
	sync_runs_history(r->app, r->tenant_id, &f, c->l.limit, offset, history_done, c);
}

void api_sync_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "POST", "/api/sync/start", sync_start, ROUTE_AUTH,
		   "Start a backfill of an account (accountId, scope, days): 202 with the job id");
	http_route(s, "GET", "/api/sync/status", sync_status, ROUTE_AUTH,
		   "Sync progress per account and resource (accountId optional); without accountId "
		   "also the running jobs, last and next sync, each channel's API health and rate "
		   "limits");
	http_route(s, "GET", "/api/sync/history", sync_history, ROUTE_AUTH,
		   "Past sync runs of every channel with duration, records, errors and statistics "
		   "(startDate, endDate, type, status, accountId, page, limit)");
}
