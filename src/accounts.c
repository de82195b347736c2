/* The accounts every channel shares: see the header. */
#include "accounts.h"
#include "identity.h"

/* The common fields first: a channel's setting never replaces one of them. */
// clang-format off
static const char list_sql[] =
    "SELECT (a.settings || jsonb_build_object("
    " 'id', a.id, 'channel', a.channel, 'externalId', a.external_id, 'nickname', a.nickname,"
    " 'accountName', a.account_name, 'status', a.status, 'syncEnabled', a.sync_enabled,"
    " 'isPrimary', a.is_primary, 'syncInterval', a.sync_interval_ms,"
    " 'lastSync', " SQL_ISO("a.last_sync_at") ", 'nextSync', " SQL_ISO("a.next_sync_at") ","
    " 'lastSyncStatus', a.last_sync_status, 'lastSyncError', a.last_sync_error,"
    " 'tokenExpiresAt', " SQL_ISO("a.token_expires_at") ", 'errorCount', a.error_count,"
    " 'createdAt', " SQL_ISO("a.created_at") ", 'updatedAt', " SQL_ISO("a.updated_at") "))::text"
    " FROM accounts a WHERE a.tenant_id = $1 AND ($2::text IS NULL OR a.channel = $2)"
    " ORDER BY a.created_at, a.id";
// clang-format on

void accounts_list(app_t *app, const char *tenant_id, const char *channel, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id, channel};
	pg_query_prepared(app->pg, list_sql, 2, params, cb, arg);
}
