/* /api/sync: start a backfill of an account (a durable <channel>_sync job, 202), its progress, and
 * the history of runs. A second start while a run holds the account is 409: the unique index on
 * running runs decides, so two concurrent starts cannot both win. */
#include "api.h"
#include "jobs.h"
#include "listing.h"
#include "channel.h"
#include "permissions.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

static const char *const scopes[] = {"all", "items", "orders", "shipments", "questions", NULL};

/* A run whose process died and whose job will not resume it no longer holds the account. */
static const char abandon_sql[] =
    "UPDATE sync_runs r SET status = 'failed', finished_at = now(),"
    " error = coalesce(error, 'abandoned: the process running it stopped')"
    " WHERE account_id = $1 AND tenant_id = $2 AND status = 'running'"
    " AND heartbeat_at < now() - interval '60 seconds'"
    " AND (job_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = r.job_id"
    "  AND j.status IN ('queued', 'running', 'failed')))";

static const char start_sql[] =
    "WITH acct AS (SELECT id, tenant_id, channel FROM accounts WHERE id = $1 AND tenant_id = $2),"
    " ids AS (SELECT gen_random_uuid() AS run_id, " JOBS_NEXT_ID " AS job_id FROM acct),"
    " run AS (INSERT INTO sync_runs (id, tenant_id, account_id, job_id, kind, scope, days)"
    "  SELECT ids.run_id, acct.tenant_id, acct.id, ids.job_id, 'backfill', $3, $4::int"
    "  FROM acct, ids ON CONFLICT DO NOTHING RETURNING id, job_id, tenant_id),"
    " job AS (" JOBS_INSERT(
	"id, kind, tenant_id, payload, max_attempts, queue") "  SELECT run.job_id, acct.channel || "
							     "'" CHANNEL_SYNC_JOB_SUFFIX
							     "', run.tenant_id,"
							     "  jsonb_build_object('run', run.id), "
							     "20, $5 FROM run, acct"
							     "  RETURNING id)"
							     " SELECT (SELECT count(*) FROM acct), "
							     "(SELECT id FROM job), (SELECT id "
							     "FROM run)";

// clang-format off
#define RUN_JSON                                                                                   \
	"json_build_object('id', r.id, 'accountId', r.account_id, 'jobId', r.job_id,"              \
	" 'kind', r.kind, 'scope', r.scope, 'days', r.days, 'status', r.status,"                   \
	" 'startedAt', " SQL_TS("r.started_at") ", 'finishedAt', " SQL_TS(                         \
	    "r.finished_at") ","                                                                   \
			     " 'duration', round(extract(epoch FROM coalesce(r.finished_at, "      \
			     "now()) - r.started_at)"                                              \
			     "   * 1000), 'records', r.records, 'errors', r.errors, 'error', "     \
			     "r.error,"                                                            \
			     " 'resources', r.progress #- '{orders,cursor}' #- "                   \
			     "'{questions,cursor}')"

static const char status_sql[] =
    "SELECT json_build_object('accountId', a.id, 'nickname', a.nickname,"
    " 'running', EXISTS (SELECT 1 FROM sync_runs x WHERE x.account_id = a.id"
    "   AND x.status = 'running'),"
    " 'lastSync', " SQL_TS("a.last_sync_at") ", 'nextSync', " SQL_TS(
	"a.next_sync_at") ","
			  " 'run', (SELECT " RUN_JSON " FROM sync_runs r WHERE r.account_id = a.id"
			  "   ORDER BY r.started_at DESC LIMIT 1))::text"
			  " FROM accounts a WHERE a.tenant_id = $1 AND ($2::uuid IS NULL OR "
			  "a.id = $2::uuid)"
			  " ORDER BY a.created_at, a.id";

static const char history_sql[] =
    "SELECT " RUN_JSON "::text, NULL, r.id FROM sync_runs r"
    " WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.account_id = $2::uuid)"
    " ORDER BY r.started_at DESC, r.id DESC LIMIT $3 OFFSET $4";

static const char history_stats_sql[] =
    "SELECT count(*), json_build_object("
    " 'successRate', coalesce(round(count(*) FILTER (WHERE status = 'success')::numeric"
    "   / nullif(count(*) FILTER (WHERE status <> 'running'), 0), 4), 0),"
    " 'avgDuration', coalesce(round(avg(extract(epoch FROM finished_at - started_at) * 1000)"
    "   FILTER (WHERE finished_at IS NOT NULL)), 0),"
    " 'totalRecords', coalesce(sum(records), 0), 'runs', count(*),"
    " 'failed', count(*) FILTER (WHERE status = 'failed'))::text"
    " FROM sync_runs WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid)";

// clang-format on

static pg_pool_t *pool(req_t *r)
{
	return ((app_t *)r->app)->pg;
}

static void started(PGresult *const *results, int n, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		list_db_error(r, "sync: start", n > 1 ? results[1] : NULL, err);
		return;
	}
	const PGresult *res = results[1];
	if (pg_int(res, 0, 0, 0) == 0) {
		http_error(r, 404, "NOT_FOUND", "No such account.", NULL);
		return;
	}
	if (!pg_value(res, 0, 1)) {
		http_error(r, 409, "SYNC_RUNNING", "A sync of this account is already running.",
			   NULL);
		return;
	}
	int64_t job = (int64_t)pg_int(res, 0, 1, 0);
	jobs_dispatch(((app_t *)r->app)->jobs, &job, 1);
	http_ok(r, 202,
		json_pack("{s:I, s:s, s:s}", "jobId", (json_int_t)job, "runId", pg_value(res, 0, 2),
			  "status", "queued"),
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
	char days_s[8];
	snprintf(days_s, sizeof(days_s), "%lld", b.days);
	const char *p[] = {b.account_id, r->tenant_id, b.scope ? b.scope : "all", days_s,
			   ((app_t *)r->app)->cfg.job_queue};
	pg_stmt_t stmts[] = {{abandon_sql, 2, p}, {start_sql, 5, p}};
	pg_batch(pool(r), stmts, 2, started, r);
}

typedef struct status_call {
	req_t *r;
	bool one;
} status_call_t;

static void status_done(const PGresult *res, const char *err, void *arg)
{
	status_call_t *c = arg;
	if (err) {
		list_db_error(c->r, "sync: status", res, err);
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
	http_ok(c->r, 200, json_pack("{s:o}", "accounts", arr), NULL);
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
	const char *p[] = {r->tenant_id, account};
	pg_query(pool(r), status_sql, 2, p, status_done, c);
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
		list_db_error(r, "sync: history", n > 0 ? results[n - 1] : NULL, err);
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

static void sync_history(req_t *r)
{
	if (!perm_require(r, "accounts.view"))
		return;
	json_t *d = NULL;
	history_call_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	list_parse(r, &c->l, &d);
	const char *account = list_uuid_param(r, "accountId", &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	const char *p[] = {r->tenant_id, account, c->l.limit_s, c->l.offset};
	pg_stmt_t stmts[] = {{history_sql, 4, p}, {history_stats_sql, 2, p}};
	pg_batch(pool(r), stmts, 2, history_done, c);
}

void api_sync_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "POST", "/api/sync/start", sync_start, ROUTE_AUTH,
		   "Start a backfill of an account (accountId, scope, days): 202 with the job id");
	http_route(s, "GET", "/api/sync/status", sync_status, ROUTE_AUTH,
		   "Sync progress per account and resource (accountId optional)");
	http_route(s, "GET", "/api/sync/history", sync_history, ROUTE_AUTH,
		   "Past sync runs with duration, records, errors and statistics");
}
