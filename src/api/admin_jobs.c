/* /api/admin/jobs: the job board for owners and admins (the JSON counterpart of a queue
 * dashboard): queue counts, the jobs with their errors, and retrying a dead or failed job.
 * Only the tenant's jobs: its own and those of each channel that concern it (jobs_board). */
#include "api.h"
#include "identity.h"
#include "jobs.h"
#include "permissions.h"
#include "util.h"
#include "validate.h"

#include <string.h>

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
	jobs_board(((app_t *)r->app)->jobs, r->tenant_id, status, kind, b->limit,
		   (long long)(b->page - 1) * b->limit, list_done, b);
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
	jobs_requeue(((app_t *)r->app)->jobs, r->tenant_id, id, r->user_id, retry_done, r);
}

void api_admin_jobs_routes(app_t *app)
{
	http_route(app->http, "GET", "/api/admin/jobs", list, ROUTE_AUTH,
		   "Job board (owner/admin): queue counts and jobs with errors (?status=&kind=)");
	http_route(app->http, "POST", "/api/admin/jobs/:id/retry", retry, ROUTE_AUTH,
		   "Queue a dead or failed job again with fresh attempts");
}
