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

// clang-format off
static const char set_token_sql[] =
    "WITH a AS (UPDATE accounts a SET access_token_sealed = $3, refreshed_at = now(),"
    "  status = CASE WHEN a.status = 'expired' THEN 'active' ELSE a.status END"
    "  WHERE a.id = $2 AND a.tenant_id = $1 AND a.channel = 'tiny' RETURNING a.*),"
    " w AS (UPDATE erp_orders e SET next_try_at = now(), attempts = 0"
    "  WHERE e.account_id = $2 AND e.tenant_id = $1 AND e.status = 'held'"
    "  AND EXISTS (SELECT 1 FROM a) RETURNING 1)"
    " SELECT " ACCOUNTS_JSON " FROM a";
// clang-format on

void tiny_account_set_token(app_t *app, const char *const params[3], pg_cb cb, void *arg)
{
	pg_query(app->pg, set_token_sql, 3, params, cb, arg);
}
