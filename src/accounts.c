/* The accounts every channel shares: see the header. */
#include "accounts.h"
#include "identity.h"

// clang-format off
static const char list_sql[] =
    "SELECT " ACCOUNTS_JSON " FROM accounts a WHERE a.tenant_id = $1"
    " AND ($2::text IS NULL OR a.channel = $2) ORDER BY a.created_at, a.id";

static const char get_sql[] =
    "SELECT " ACCOUNTS_JSON " FROM accounts a WHERE a.id = $3 AND a.tenant_id = $1"
    " AND a.channel = $2";

static const char update_sql[] =
    "UPDATE accounts AS a SET"
    " account_name = CASE WHEN $4::bool THEN $5 ELSE a.account_name END,"
    " sync_interval_ms = coalesce($6::int, a.sync_interval_ms),"
    " next_sync_at = CASE WHEN $6 IS NOT NULL AND a.last_sync_at IS NOT NULL"
    "  THEN a.last_sync_at + $6::int * interval '1 ms' ELSE a.next_sync_at END"
    " WHERE a.id = $3 AND a.tenant_id = $1 AND a.channel = $2 RETURNING " ACCOUNTS_JSON;

static const char lock_tenant_sql[] = "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE";

/* Its synced rows go with it (ON DELETE CASCADE). */
static const char delete_sql[] =
    "DELETE FROM accounts WHERE id = $3 AND tenant_id = $1 AND channel = $2 RETURNING id";

/* Deleting the primary promotes the oldest remaining account of the channel. */
static const char promote_sql[] =
    "UPDATE accounts SET is_primary = true WHERE id = (SELECT id FROM accounts"
    " WHERE tenant_id = $1 AND channel = $2 ORDER BY created_at, id LIMIT 1)"
    " AND NOT EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND channel = $2"
    " AND is_primary)";

/* An expired authorization stays expired: only a reconnect revives it. */
static const char sync_enabled_sql[] =
    "UPDATE accounts SET sync_enabled = $4::bool,"
    " next_sync_at = CASE WHEN $4::bool THEN now() ELSE next_sync_at END,"
    " status = CASE WHEN $4::bool AND status = 'paused' THEN 'active'"
    "  WHEN NOT $4::bool AND status IN ('active', 'error') THEN 'paused' ELSE status END"
    " WHERE id = $3 AND tenant_id = $1 AND channel = $2 RETURNING id, status, sync_enabled";
// clang-format on

void accounts_list(app_t *app, const char *tenant_id, const char *channel, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id, channel};
	pg_query_prepared(app->pg, list_sql, 2, params, cb, arg);
}

void accounts_find(app_t *app, const char *tenant_id, const char *channel, const char *id, pg_cb cb,
		   void *arg)
{
	const char *params[] = {tenant_id, channel, id};
	pg_query_prepared(app->pg, get_sql, 3, params, cb, arg);
}

void accounts_change(app_t *app, const char *tenant_id, const char *channel, const char *id,
		     const accounts_edit_t *change, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id,    channel,
				id,	      change->has_name ? "true" : "false",
				change->name, change->interval_ms};
	pg_query(app->pg, update_sql, 6, params, cb, arg);
}

void accounts_remove(app_t *app, const char *tenant_id, const char *channel, const char *id,
		     pg_batch_cb cb, void *arg)
{
	const char *lock[] = {tenant_id};
	const char *del[] = {tenant_id, channel, id};
	pg_stmt_t stmts[] = {
	    {lock_tenant_sql, 1, lock}, {delete_sql, 3, del}, {promote_sql, 2, del}};
	pg_batch(app->pg, stmts, 3, cb, arg);
}

void accounts_set_sync(app_t *app, const char *tenant_id, const char *channel, const char *id,
		       bool enabled, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id, channel, id, enabled ? "true" : "false"};
	pg_query(app->pg, sync_enabled_sql, 4, params, cb, arg);
}
