/* A Tiny account's row (see the header). */
#include "account.h"
#include "accounts.h"

// clang-format off
static const char insert_sql[] =
    "INSERT INTO accounts AS a (tenant_id, channel, external_id, nickname, settings,"
    " access_token_sealed, refreshed_at, account_name, is_primary, next_sync_at)"
    " SELECT $1, 'tiny', $2, coalesce($3, $2),"
    "  jsonb_build_object('plan', $4::text, 'callsPerMinute', $5::int), $6, now(), $3,"
    "  NOT EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND channel = 'tiny'"
    "  AND is_primary), now()"
    " FROM tenants WHERE id = $1 FOR NO KEY UPDATE"
    " ON CONFLICT (tenant_id, channel, external_id) DO NOTHING"
    " RETURNING " ACCOUNTS_JSON;
// clang-format on

void tiny_account_insert(app_t *app, const char *const params[6], pg_cb cb, void *arg)
{
	pg_query(app->pg, insert_sql, 6, params, cb, arg);
}
