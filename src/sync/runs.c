/* What the API shows of sync runs: see the header. */
#include "sync_runs.h"
#include "identity.h"

#include <stdio.h>

// clang-format off
#define RUN_JSON                                                                                   \
	"json_build_object('id', r.id, 'accountId', r.account_id, 'jobId', r.job_id,"              \
	" 'kind', r.kind, 'scope', r.scope, 'days', r.days, 'status', r.status,"                   \
	" 'startedAt', " SQL_ISO("r.started_at") ", 'finishedAt', " SQL_ISO("r.finished_at") ","  \
	" 'duration', round(extract(epoch FROM coalesce(r.finished_at, now()) - r.started_at)"     \
	"   * 1000), 'records', r.records, 'errors', r.errors, 'error', r.error,"                  \
	" 'resources', r.progress #- '{orders,cursor}' #- '{questions,cursor}')"

static const char status_sql[] =
    "SELECT json_build_object('accountId', a.id, 'nickname', a.nickname,"
    " 'running', EXISTS (SELECT 1 FROM sync_runs x WHERE x.account_id = a.id"
    "   AND x.status = 'running'),"
    " 'lastSync', " SQL_ISO("a.last_sync_at") ", 'nextSync', " SQL_ISO("a.next_sync_at") ","
    " 'run', (SELECT " RUN_JSON " FROM sync_runs r WHERE r.account_id = a.id"
    "   ORDER BY r.started_at DESC LIMIT 1))::text"
    " FROM accounts a WHERE a.tenant_id = $1 AND ($2::uuid IS NULL OR a.id = $2::uuid)"
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

void sync_runs_status(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb,
		      void *arg)
{
	const char *params[] = {tenant_id, account_id};
	pg_query(app->pg, status_sql, 2, params, cb, arg);
}

void sync_runs_history(app_t *app, const char *tenant_id, const char *account_id, int limit,
		       long long offset, pg_batch_cb cb, void *arg)
{
	char limit_s[16], offset_s[24];
	snprintf(limit_s, sizeof(limit_s), "%d", limit);
	snprintf(offset_s, sizeof(offset_s), "%lld", offset);
	const char *params[] = {tenant_id, account_id, limit_s, offset_s};
	pg_stmt_t stmts[] = {{history_sql, 4, params}, {history_stats_sql, 2, params}};
	pg_batch(app->pg, stmts, 2, cb, arg);
}
