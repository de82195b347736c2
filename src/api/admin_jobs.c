/* /api/admin/jobs: the job board for owners and admins (the JSON counterpart of a queue
 * dashboard): queue counts, the jobs with their errors, and retrying a dead or failed job.
 * Only the tenant's jobs: its own (tenant_id) and those of each channel that concern it. */
#include "api.h"
#include "channel.h"
#include "identity.h"
#include "jobs.h"
#include "permissions.h"
#include "util.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tenant's jobs, as a CTE every statement here starts from: its own (tenant_id), and each
 * channel's jobs that belong to no tenant but concern this one (channel_t.tenant_jobs_sql: a
 * notification group's job). Built once, when the routes are. */
static const char mine_head[] = "WITH mine AS (SELECT j.* FROM jobs j WHERE j.tenant_id = $1";

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Not clang-formatted: it cut these literals next to the ISO() macro into 4-character pieces. */
// clang-format off
static const char list_tail[] =
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

/* Back to the queue with a fresh set of attempts; what the job had given up on waits again too
 * (channel_t.reopen_sql, reading "retried"). */
static const char retried_cte[] = ", retried AS (" JOBS_REQUEUE_MINE ")";
static const char retry_tail[] =
    " SELECT (SELECT id FROM retried), (SELECT status FROM mine WHERE id = $2::bigint)";

/* The statements with every channel's part, built by api_admin_jobs_routes. */
static struct {
	char *list, *retry;
} board_sql;

static char *append(char *s, const char *more)
{
	size_t n = s ? strlen(s) : 0, m = strlen(more);
	s = xrealloc(s, n + m + 1);
	memcpy(s + n, more, m + 1);
	return s;
}

static void build_statements(void)
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
	board_sql.list = append(append(NULL, mine), list_tail);
	board_sql.retry =
	    append(append(append(append(NULL, mine), retried_cte), reopen), retry_tail);
	free(mine);
	free(reopen);
}

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
	pg_query(((app_t *)r->app)->pg, board_sql.list, 5, params, list_done, b);
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
	pg_query(((app_t *)r->app)->pg, board_sql.retry, 3, params, retry_done, r);
}

void api_admin_jobs_routes(app_t *app)
{
	if (!board_sql.list)
		build_statements();
	http_route(app->http, "GET", "/api/admin/jobs", list, ROUTE_AUTH,
		   "Job board (owner/admin): queue counts and jobs with errors (?status=&kind=)");
	http_route(app->http, "POST", "/api/admin/jobs/:id/retry", retry, ROUTE_AUTH,
		   "Queue a dead or failed job again with fresh attempts");
}
