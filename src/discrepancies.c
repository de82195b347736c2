/* Discrepancies and reconciles: see the header. The work is SQL (sql/0024); this module holds
 * the statements and the reconcile job's handler. */
#include "discrepancies.h"
#include "jobs.h"
#include "log.h"
#include "sql_json.h"

#include <stdio.h>

const char *const reconcile_sources[] = {"erp", "sellerhub", NULL};
const char *const discrepancy_kinds[] = {"erp", "listing", NULL};

// clang-format off
#define DISCREPANCY_FILTERS                                                                        \
	" WHERE d.tenant_id = $1 AND ($2::text IS NULL OR d.sku = $2)"                             \
	" AND (($3::text IS NULL AND $4::text IS NULL) OR EXISTS (SELECT 1"                        \
	"  FROM inventory_discrepancies x WHERE x.tenant_id = d.tenant_id AND x.sku = d.sku"       \
	"  AND ($3::text IS NULL OR x.channel = $3) AND ($4::text IS NULL OR x.kind = $4)))"

/* One entry per SKU: the numbers the last detection saw. erp is the ERP's balance whenever it
 * is known (matches: whether it equals on hand); listed holds the listings (and variations)
 * that differ. */
static const char list_sql[] =
    "SELECT json_build_object('sku', d.sku, 'title', p.title,"
    " 'truth', json_build_object('onHand', min(d.on_hand), 'available', min(d.available)),"
    " 'erp', CASE WHEN max(d.erp_on_hand) IS NOT NULL THEN json_build_object("
    "  'channel', ea.channel, 'accountId', ea.id, 'onHand', max(d.erp_on_hand),"
    "  'matches', NOT bool_or(d.kind = 'erp')) END,"
    " 'listed', coalesce(json_agg(json_build_object('channel', d.channel, 'accountId',"
    "  d.account_id, 'listingId', d.subject, 'externalId', l.external_id, 'variation',"
    "  nullif(d.variation, ''), 'qty', d.actual)"
    "  ORDER BY d.channel, l.external_id, d.variation) FILTER (WHERE d.kind = 'listing'), '[]'),"
    " 'kind', CASE WHEN bool_and(d.kind = 'erp') THEN 'erp'"
    "  WHEN bool_and(d.kind = 'listing') THEN 'listing' ELSE 'both' END,"
    " 'since', " SQL_TS("min(d.first_seen_at)") ","
    " 'ageSeconds', floor(extract(epoch FROM now() - min(d.first_seen_at)))::bigint)::text, NULL"
    " FROM inventory_discrepancies d"
    " JOIN products p ON p.tenant_id = d.tenant_id AND p.sku = d.sku"
    " LEFT JOIN accounts ea ON ea.id = p.erp_account_id AND ea.tenant_id = p.tenant_id"
    " LEFT JOIN listings l ON d.kind = 'listing' AND l.id = d.subject AND l.tenant_id = d.tenant_id"
    DISCREPANCY_FILTERS
    " GROUP BY d.sku, p.title, ea.channel, ea.id ORDER BY d.sku LIMIT $5 OFFSET $6";
static const char count_sql[] =
    "SELECT count(DISTINCT d.sku) FROM inventory_discrepancies d" DISCREPANCY_FILTERS;

static const char detect_sql[] = "SELECT inventory_detect($1::uuid)";

/* The request and its job in one commit; the job's id is the request's key. */
static const char enqueue_sql[] =
    "WITH ids AS (SELECT " JOBS_NEXT_ID " AS id),"
    " req AS (INSERT INTO inventory_reconciles (job_id, tenant_id, source, skus, requested_by)"
    "  SELECT ids.id, $1, $2, CASE WHEN $3::jsonb IS NOT NULL"
    "   THEN ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) END, $4::uuid FROM ids"
    "  RETURNING job_id),"
    " job AS (" JOBS_INSERT("id, kind, tenant_id, max_attempts, queue")
    "  SELECT job_id, '" RECONCILE_JOB "', $1, 5, $5 FROM req RETURNING id)"
    " SELECT id FROM job";

static const char read_sql[] =
    "SELECT json_build_object('jobId', r.job_id, 'source', r.source, 'skus', r.skus,"
    " 'all', r.skus IS NULL, 'status', coalesce(j.status,"
    "  CASE WHEN r.report IS NULL THEN 'queued' ELSE 'done' END),"
    " 'error', CASE WHEN r.report IS NULL THEN j.last_error END, 'report', r.report,"
    " 'requestedBy', r.requested_by, 'createdAt', " SQL_TS("r.created_at") ","
    " 'finishedAt', " SQL_TS("r.finished_at") ")::text"
    " FROM inventory_reconciles r LEFT JOIN jobs j ON j.id = r.job_id"
    " WHERE r.tenant_id = $1 AND r.job_id = $2::bigint";

static const char run_sql[] = "SELECT inventory_reconcile($1::bigint)->'counts'";
// clang-format on

void discrepancies_list(app_t *app, const char *tenant_id, const discrepancy_filter_t *f,
			const page_t *page, paging_cb cb, void *arg)
{
	page_params_t pp;
	paging_params(page, &pp);
	const char *p[] = {tenant_id, f->sku, f->channel, f->kind, pp.limit, pp.offset};
	pg_stmt_t stmts[] = {{list_sql, 6, p}, {count_sql, 4, p}};
	paging_read(app->pg, stmts, cb, arg);
}

void discrepancies_detect(app_t *app, const char *tenant_id, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id};
	pg_query_prepared(app->pg, detect_sql, 1, p, cb, arg);
}

void reconcile_enqueue(app_t *app, const char *tenant_id, const char *source, const char *skus_json,
		       const char *user_id, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, source, skus_json, user_id, app->cfg.job_queue};
	pg_query(app->pg, enqueue_sql, 5, p, jobs_committed, jobs_on_commit(app->jobs, 0, cb, arg));
}

void reconcile_read(app_t *app, const char *tenant_id, const char *job_id, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, job_id};
	pg_query_prepared(app->pg, read_sql, 2, p, cb, arg);
}

/* --- the job ------------------------------------------------------------------------------- */

static void reconciled(const PGresult *res, const char *err, void *arg)
{
	job_t *job = arg;
	if (err)
		job_retry(job, err, -1); /* its transaction rolled back: nothing half done */
	else if (PQntuples(res) != 1 || !pg_value(res, 0, 0))
		job_fail(job, "no such reconcile request");
	else
		job_done(job, pg_value(res, 0, 0)); /* the counts */
}

static void run(job_t *job)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)job->id);
	const char *p[] = {id};
	pg_query(job->app->pg, run_sql, 1, p, reconciled, job);
}

void reconcile_register_jobs(app_t *app)
{
	jobs_register(app->jobs, RECONCILE_JOB, run, JOB_DURABLE);
}
