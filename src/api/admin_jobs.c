/* /api/admin/jobs: the job board for owners and admins (the JSON counterpart of a queue
 * dashboard): queue counts, the jobs with their errors, and retrying a dead or failed job.
 * Only the tenant's jobs: its own (tenant_id) and those of notifications for its accounts. */
#include "api.h"
#include "identity.h"
#include "jobs.h"
#include "permissions.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>

/* The tenant's jobs, as a CTE every statement here starts from: its own, and the notification
 * jobs of its sellers' notifications that are still pending or arrived in the last 24 hours (the
 * notification indexes, per account: 0011), and the dead ones. A job per group, a group every few
 * milliseconds under load: checking every job ever stored (or every job of the day, of every
 * tenant) made the board slower with each day (0.6 s with 45,000 groups of other tenants done
 * in the last minutes, bench-webhooks). Older done groups are listed nowhere and counted
 * nowhere, as a queue dashboard drops completed jobs. */
#define MINE                                                                                       \
	"WITH mine AS (SELECT j.* FROM jobs j WHERE j.tenant_id = $1"                              \
	" UNION ALL SELECT j.* FROM jobs j WHERE j.id IN (SELECT n.job_id FROM ml_accounts a"      \
	" CROSS JOIN LATERAL (SELECT job_id FROM ml_notifications WHERE ml_user_id = a.ml_user_id" \
	" AND status = 'pending' UNION ALL SELECT job_id FROM ml_notifications"                    \
	" WHERE ml_user_id = a.ml_user_id AND status <> 'pending'"                                 \
	" AND arrived_at > now() - interval '24 hours' OFFSET 0) n WHERE a.tenant_id = $1)"        \
	" AND j.kind = 'ml_notifications' AND j.tenant_id IS NULL AND j.status <> 'dead'"          \
	" UNION ALL SELECT j.* FROM jobs j WHERE j.kind = 'ml_notifications'"                      \
	" AND j.tenant_id IS NULL AND j.status = 'dead' AND EXISTS (SELECT 1"                      \
	" FROM ml_notifications n WHERE n.job_id = j.id"                                           \
	" AND n.ml_user_id IN (SELECT ml_user_id FROM ml_accounts WHERE tenant_id = $1)))"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Not clang-formatted: it cut these literals next to the ISO() macro into 4-character pieces. */
// clang-format off
static const char list_sql[] = MINE
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
    " " ISO("run_at") " AS \"nextAttemptAt\","
    " " ISO("created_at") " AS \"createdAt\","
    " " ISO("updated_at") " AS \"updatedAt\","
    " " ISO("finished_at") " AS \"finishedAt\""
    " FROM mine WHERE ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3)"
    " ORDER BY updated_at DESC, id DESC LIMIT $4 OFFSET $5) x)::text";
// clang-format on

/* Back to the queue with a fresh set of attempts; its dead notifications wait again too. */
static const char retry_sql[] =
    MINE ", retried AS (UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(),"
	 " dispatched_at = now(), finished_at = NULL, note = 'retried by ' || $3"
	 " WHERE id = $2::bigint AND id IN (SELECT id FROM mine)"
	 " AND status IN ('dead', 'failed') RETURNING id, payload),"
	 " reopened AS (UPDATE ml_notifications SET status = 'pending', processed_at = NULL"
	 " WHERE job_id IN (SELECT id FROM retried)"
	 " AND status = 'dead')"
	 " SELECT (SELECT id FROM retried), (SELECT status FROM mine WHERE id = $2::bigint)";

typedef struct board {
	req_t *r;
	int page, limit;
} board_t;

static void list_done(const PGresult *res, const char *err, void *arg)
{
	board_t *b = arg;
	if (err) {
		identity_db_error(b->r, "admin jobs: list", res, err);
		return;
	}
	long long total = pg_int(res, 0, 1, 0);
	http_ok(b->r, 200,
		json_pack("{s:o, s:o, s:{s:i, s:i, s:I, s:I}}", "queue",
			  json_loads(pg_value(res, 0, 0), 0, NULL), "jobs",
			  json_loads(pg_value(res, 0, 2), 0, NULL), "pagination", "page", b->page,
			  "limit", b->limit, "total", (json_int_t)total, "pages",
			  (json_int_t)((total + b->limit - 1) / b->limit)),
		NULL);
}

static void list(req_t *r)
{
	static const char *const statuses[] = {"queued", "running", "done", "failed", "dead", NULL};
	if (!perm_require(r, "jobs.manage"))
		return;
	board_t *b = arena_calloc(r->arena, 1, sizeof(*b));
	b->r = r;
	json_t *d = NULL;
	validate_page(r, &b->page, &b->limit, &d);
	const char *status = validate_query_enum(r, "status", statuses, &d);
	const char *kind = validate_query_text(r, "kind", 32, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	const char *params[] = {
	    r->tenant_id, status, kind, arena_printf(r->arena, "%d", b->limit),
	    arena_printf(r->arena, "%lld", (long long)(b->page - 1) * b->limit)};
	pg_query(((app_t *)r->app)->pg, list_sql, 5, params, list_done, b);
}

static void retry_done(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "admin jobs: retry", res, err);
		return;
	}
	const char *id = pg_value(res, 0, 0), *status = pg_value(res, 0, 1);
	if (!id && !status) {
		http_error(r, 404, "NOT_FOUND", "No such job.", NULL);
		return;
	}
	if (!id) {
		http_error(r, 409, "NOT_RETRYABLE", "Only dead or failed jobs can be retried.",
			   http_problem(NULL, "status", status));
		return;
	}
	int64_t job = strtoll(id, NULL, 10);
	jobs_dispatch(((app_t *)r->app)->jobs, &job, 1);
	http_ok(r, 200, json_pack("{s:s, s:s}", "id", id, "status", "queued"), "Job queued again.");
}

static void retry(req_t *r)
{
	if (!perm_require(r, "jobs.manage"))
		return;
	const char *id = http_param(r, "id");
	if (strspn(id, "0123456789") != strlen(id) || strlen(id) > 18) {
		http_error(r, 404, "NOT_FOUND", "No such job.", NULL);
		return;
	}
	const char *params[] = {r->tenant_id, id, r->user_id};
	pg_query(((app_t *)r->app)->pg, retry_sql, 3, params, retry_done, r);
}

void api_admin_jobs_routes(app_t *app)
{
	http_route(app->http, "GET", "/api/admin/jobs", list, ROUTE_AUTH,
		   "Job board (owner/admin): queue counts and jobs with errors (?status=&kind=)");
	http_route(app->http, "POST", "/api/admin/jobs/:id/retry", retry, ROUTE_AUTH,
		   "Queue a dead or failed job again with fresh attempts");
}
