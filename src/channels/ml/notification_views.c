/* What a tenant reads of its Mercado Livre notifications (see the header). */
#include "notification_views.h"

/* Both statements start from the tenant's Mercado Livre accounts (one per seller: unique
 * (tenant_id, channel, external_id)) and read each seller's rows by index: its window from
 * ml_notifications_processed and ml_notifications_pending (0011), its waiting ones from the latter.
 * OFFSET 0 keeps each subquery a per-account scan: with "ml_user_id IN (the accounts)", or a plain
 * join, the planner could read every tenant's rows (the whole table for the pending list). */
static const char stats_sql[] =
    "WITH mine AS (SELECT n.status, n.topic, n.arrived_at, n.processed_at"
    " FROM accounts a CROSS JOIN LATERAL (SELECT status, topic, arrived_at, processed_at"
    " FROM ml_notifications WHERE ml_user_id = a.external_id::bigint AND status <> 'pending'"
    " AND arrived_at >= greatest(a.created_at, now() - make_interval(hours => $2::int))"
    " UNION ALL SELECT status, topic, arrived_at, processed_at"
    " FROM ml_notifications WHERE ml_user_id = a.external_id::bigint AND status = 'pending'"
    " AND arrived_at >= greatest(a.created_at, now() - make_interval(hours => $2::int))"
    " OFFSET 0) n"
    " WHERE a.tenant_id = $1 AND a.channel = 'ml'),"
    " lag AS (SELECT extract(epoch FROM processed_at - arrived_at) * 1000 AS ms FROM mine"
    " WHERE processed_at IS NOT NULL)"
    " SELECT json_build_object("
    " 'total', (SELECT count(*) FROM mine),"
    " 'byStatus', (SELECT coalesce(json_object_agg(status, c), '{}') FROM"
    " (SELECT status, count(*) AS c FROM mine GROUP BY 1) s),"
    " 'byTopic', (SELECT coalesce(json_object_agg(topic, c), '{}') FROM"
    " (SELECT topic, count(*) AS c FROM mine GROUP BY 1) t),"
    " 'lagMs', (SELECT json_build_object("
    " 'p50', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),"
    " 'p95', round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 1),"
    " 'max', round(max(ms)::numeric, 1)) FROM lag),"
    " 'oldestPending', (SELECT to_char(min(arrived_at) AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM mine WHERE status = 'pending'))::text";

static const char pending_sql[] =
    "SELECT count(*) OVER (), json_build_object("
    " 'id', n.id::text, 'notificationId', n.notification_id, 'topic', n.topic,"
    " 'resource', n.resource, 'mlUserId', n.ml_user_id::text, 'attempts', n.attempts,"
    " 'source', n.source,"
    " 'arrivedAt', to_char(n.arrived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " 'job', (SELECT json_build_object('id', j.id::text, 'status', j.status,"
    " 'attempts', j.attempts, 'lastError', j.last_error,"
    " 'nextAttemptAt', to_char(j.run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))"
    " FROM jobs j WHERE j.id = n.job_id))::text"
    " FROM accounts a CROSS JOIN LATERAL (SELECT id, notification_id, topic, resource,"
    " ml_user_id, attempts, source, arrived_at, job_id FROM ml_notifications"
    " WHERE ml_user_id = a.external_id::bigint AND status = 'pending'"
    " AND arrived_at >= a.created_at OFFSET 0) n"
    " WHERE a.tenant_id = $1 AND a.channel = 'ml'"
    " ORDER BY n.arrived_at, n.id LIMIT $2 OFFSET $3";

void ml_notification_stats(app_t *app, const char *tenant_id, const char *hours, pg_cb cb,
			   void *arg)
{
	const char *params[] = {tenant_id, hours};
	pg_query_prepared(app->pg, stats_sql, 2, params, cb, arg);
}

void ml_notification_backlog(app_t *app, const char *tenant_id, const char *limit,
			     const char *offset, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id, limit, offset};
	pg_query_prepared(app->pg, pending_sql, 3, params, cb, arg);
}
