/* What the API shows of sync runs: see the header. */
#include "sync_runs.h"
#include "identity.h"

#include <stdio.h>

// clang-format off
#define RUN_JSON                                                                                   \
	"json_build_object('id', r.id, 'accountId', r.account_id, 'jobId', r.job_id,"              \
	" 'channel', (SELECT a.channel FROM accounts a WHERE a.id = r.account_id),"                 \
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

/* The history's filters, $1..$6: tenant, account, from, to (a date: its whole day), the run
 * scopes that fetch a type, status. */
#define HISTORY_WHERE                                                                              \
	" WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.account_id = $2::uuid)"                \
	" AND ($3::timestamptz IS NULL OR r.started_at >= $3::timestamptz)"                        \
	" AND ($4::text IS NULL OR r.started_at < CASE WHEN length($4) = 10"                       \
	"   THEN ($4::date + 1)::timestamp AT TIME ZONE 'UTC' ELSE $4::timestamptz END)"           \
	" AND ($5::text[] IS NULL OR r.scope = ANY ($5::text[]))"                                  \
	" AND ($6::text IS NULL OR r.status = $6)"

static const char history_sql[] =
    "SELECT " RUN_JSON "::text, NULL, r.id FROM sync_runs r" HISTORY_WHERE
    " ORDER BY r.started_at DESC, r.id DESC LIMIT $7 OFFSET $8";

static const char history_stats_sql[] =
    "WITH f AS (SELECT r.*, a.channel FROM sync_runs r JOIN accounts a ON a.id = r.account_id"
    HISTORY_WHERE "),"
    " c AS (SELECT channel, count(*) AS runs, count(*) FILTER (WHERE status = 'failed') AS failed,"
    "   count(*) FILTER (WHERE status = 'success') AS ok, coalesce(sum(records), 0) AS records"
    "   FROM f GROUP BY channel)"
    " SELECT count(*), json_build_object("
    " 'successRate', coalesce(round(count(*) FILTER (WHERE status = 'success')::numeric"
    "   / nullif(count(*) FILTER (WHERE status <> 'running'), 0), 4), 0),"
    " 'avgDuration', coalesce(round(avg(extract(epoch FROM finished_at - started_at) * 1000)"
    "   FILTER (WHERE finished_at IS NOT NULL)), 0),"
    " 'totalRecords', coalesce(sum(records), 0), 'runs', count(*),"
    " 'failed', count(*) FILTER (WHERE status = 'failed'),"
    " 'byChannel', (SELECT coalesce(json_object_agg(channel, json_build_object('runs', runs,"
    "   'failed', failed, 'records', records, 'successRate',"
    "   coalesce(round(ok::numeric / nullif(ok + failed, 0), 4), 0))), '{}') FROM c))::text"
    " FROM f";

static const char accounts_sql[] =
    "SELECT a.id, a.channel, a.status, (SELECT round(avg(extract(epoch FROM"
    "   x.finished_at - x.started_at)))::bigint FROM (SELECT finished_at, started_at"
    "   FROM sync_runs r WHERE r.account_id = a.id AND r.status = 'success'"
    "   ORDER BY r.started_at DESC LIMIT 5) x)"
    " FROM accounts a WHERE a.tenant_id = $1 AND ($2::uuid IS NULL OR a.id = $2::uuid)"
    " ORDER BY a.created_at, a.id";

/* Health per channel from the last 24 h of runs and the accounts' error counts: down when
 * every run failed, degraded when some did (or an account is counting errors), healthy when
 * none did, unknown without runs. */
static const char overview_sql[] =
    "WITH acc AS (SELECT id, channel, error_count FROM accounts WHERE tenant_id = $1),"
    " runs AS (SELECT a.channel, r.status, r.error, r.finished_at FROM sync_runs r"
    "   JOIN acc a ON a.id = r.account_id WHERE r.tenant_id = $1 AND r.status <> 'running'"
    "   AND r.started_at > now() - interval '24 hours'),"
    " health AS (SELECT a.channel, count(*) AS n, sum(a.error_count) AS errs,"
    "   (SELECT count(*) FROM runs x WHERE x.channel = a.channel) AS runs,"
    "   (SELECT count(*) FROM runs x WHERE x.channel = a.channel AND x.status = 'failed') AS failed,"
    "   (SELECT max(x.finished_at) FROM runs x WHERE x.channel = a.channel"
    "     AND x.status = 'success') AS last_ok,"
    "   (SELECT x.error FROM runs x WHERE x.channel = a.channel AND x.status = 'failed'"
    "     ORDER BY x.finished_at DESC LIMIT 1) AS last_error"
    "   FROM acc a GROUP BY a.channel)"
    " SELECT json_build_object("
    " 'currentJobs', coalesce((SELECT json_agg(json_build_object('runId', r.id, 'jobId', r.job_id,"
    "   'accountId', r.account_id, 'channel', a.channel, 'kind', r.kind, 'scope', r.scope,"
    "   'startedAt', " SQL_ISO("r.started_at") ", 'records', r.records,"
    "   'resources', r.progress #- '{orders,cursor}' #- '{questions,cursor}')"
    "   ORDER BY r.started_at) FROM sync_runs r JOIN acc a ON a.id = r.account_id"
    "   WHERE r.tenant_id = $1 AND r.status = 'running'), '[]'::json),"
    " 'lastSync', (SELECT " SQL_ISO("max(last_sync_at)") " FROM accounts WHERE tenant_id = $1),"
    " 'nextScheduledSync', (SELECT " SQL_ISO("min(next_sync_at)") " FROM accounts"
    "   WHERE tenant_id = $1 AND sync_enabled),"
    " 'health', coalesce((SELECT json_object_agg(channel, json_build_object('status',"
    "   CASE WHEN runs = 0 THEN CASE WHEN errs > 0 THEN 'degraded' ELSE 'unknown' END"
    "   WHEN failed = runs THEN 'down' WHEN failed > 0 OR errs > 0 THEN 'degraded'"
    "   ELSE 'healthy' END, 'accounts', n, 'recentRuns', runs, 'failedRuns', failed,"
    "   'errorCount', errs, 'lastSuccessAt', " SQL_ISO("last_ok") ", 'lastError', last_error))"
    "   FROM health), '{}'::json))::text";

static const char overview_accounts_sql[] =
    "SELECT id, channel FROM accounts WHERE tenant_id = $1 ORDER BY channel, created_at, id";
// clang-format on

void sync_runs_status(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb,
		      void *arg)
{
	const char *params[] = {tenant_id, account_id};
	pg_query(app->pg, status_sql, 2, params, cb, arg);
}

void sync_runs_history(app_t *app, const char *tenant_id, const sync_history_filter_t *f, int limit,
		       long long offset, pg_batch_cb cb, void *arg)
{
	char limit_s[16], offset_s[24];
	snprintf(limit_s, sizeof(limit_s), "%d", limit);
	snprintf(offset_s, sizeof(offset_s), "%lld", offset);
	const char *params[] = {tenant_id, f->account_id, f->from, f->to,
				f->scopes, f->status,	  limit_s, offset_s};
	pg_stmt_t stmts[] = {{history_sql, 8, params}, {history_stats_sql, 6, params}};
	pg_batch(app->pg, stmts, 2, cb, arg);
}

void sync_runs_accounts(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb,
			void *arg)
{
	const char *params[] = {tenant_id, account_id};
	pg_query(app->pg, accounts_sql, 2, params, cb, arg);
}

void sync_runs_overview(app_t *app, const char *tenant_id, pg_batch_cb cb, void *arg)
{
	const char *params[] = {tenant_id};
	pg_stmt_t stmts[] = {{overview_sql, 1, params}, {overview_accounts_sql, 1, params}};
	pg_batch(app->pg, stmts, 2, cb, arg);
}
