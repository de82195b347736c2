/* Storing a connected Amazon account: see the header. */
#include "account.h"
#include "accounts.h"
#include "upkeep.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

// clang-format off
#define INSERT_ACCOUNT                                                                             \
    "INSERT INTO accounts AS a (tenant_id, channel, external_id, nickname, settings,"              \
    " access_token_sealed, refresh_token_sealed, token_expires_at, refreshed_at, account_name,"    \
    " is_primary, next_sync_at)"                                                                   \
    " SELECT $1, 'amazon', $2, coalesce($3, $2), jsonb_build_object('sellingPartnerId', $2::text," \
    "  'marketplaceIds', $4::jsonb, 'region', $5::text), $6, $7,"                                  \
    "  now() + $8::int * interval '1 second', now(), $3,"                                          \
    "  NOT EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND channel = 'amazon'"             \
    "  AND is_primary), now()"                                                                     \
    " FROM tenants WHERE id = $1 FOR NO KEY UPDATE"

static const char create_sql[] =
    INSERT_ACCOUNT " ON CONFLICT (tenant_id, channel, external_id) DO NOTHING"
    " RETURNING " ACCOUNTS_JSON ", true";

static const char reconnect_sql[] =
    INSERT_ACCOUNT " ON CONFLICT (tenant_id, channel, external_id) DO UPDATE SET"
    " settings = a.settings || EXCLUDED.settings,"
    " access_token_sealed = EXCLUDED.access_token_sealed,"
    " refresh_token_sealed = EXCLUDED.refresh_token_sealed,"
    " token_expires_at = EXCLUDED.token_expires_at, refreshed_at = now(),"
    " account_name = coalesce(EXCLUDED.account_name, a.account_name),"
    " status = CASE WHEN a.sync_enabled THEN 'active' ELSE 'paused' END, disconnected_at = NULL"
    " RETURNING " ACCOUNTS_JSON ", (xmax = 0)";
// clang-format on

static const char state_save_sql[] =
    "INSERT INTO amazon_oauth_states (state_hash, tenant_id, user_id, region, marketplace_ids,"
    " expires_at) VALUES ($1, $2, $3, $4, $5::jsonb, now() + interval '10 minutes')";

/* Single use: whoever sets used_at first owns the state. */
static const char state_take_sql[] =
    "UPDATE amazon_oauth_states SET used_at = now() WHERE state_hash = $1 AND used_at IS NULL"
    " AND expires_at > now() RETURNING tenant_id, region, marketplace_ids::text";

static const char states_drop_sql[] =
    "DELETE FROM amazon_oauth_states WHERE expires_at < now() - interval '1 day'";

void amazon_oauth_state_save(app_t *app, const char *state_hash, const char *tenant_id,
			     const char *user_id, const char *region, const char *marketplaces,
			     pg_cb cb, void *arg)
{
	const char *params[] = {state_hash, tenant_id, user_id, region, marketplaces};
	pg_query(app->pg, state_save_sql, 5, params, cb, arg);
}

void amazon_oauth_state_take(app_t *app, const char *state_hash, pg_cb cb, void *arg)
{
	const char *params[] = {state_hash};
	pg_query(app->pg, state_take_sql, 1, params, cb, arg);
}

void amazon_oauth_states_drop(app_t *app, pg_cb cb, void *arg)
{
	pg_query(app->pg, states_drop_sql, 0, NULL, cb, arg);
}

typedef struct store {
	char *sealed_access, *sealed_refresh;
	pg_cb cb;
	void *arg;
} store_t;

static void stored(const PGresult *res, const char *err, void *arg)
{
	store_t *s = arg;
	s->cb(res, err, s->arg);
	free(s->sealed_access);
	free(s->sealed_refresh);
	free(s);
}

void amazon_account_store(app_t *app, const amazon_account_t *a, bool reconnect, pg_cb cb,
			  void *arg)
{
	char *access, *refresh;
	if (!upkeep_seal_tokens(app, a->grant->access_token, a->grant->refresh_token, &access,
				&refresh)) {
		cb(NULL, "sealing", arg);
		return;
	}
	store_t *s = xcalloc(1, sizeof(*s));
	s->sealed_access = access;
	s->sealed_refresh = refresh;
	s->cb = cb;
	s->arg = arg;
	char ttl[24];
	snprintf(ttl, sizeof(ttl), "%ld", a->grant->expires_in);
	const char *params[] = {a->tenant_id,	 a->selling_partner_id,
				a->account_name, a->marketplace_ids,
				a->region,	 access,
				refresh,	 ttl};
	pg_query(app->pg, reconnect ? reconnect_sql : create_sql, 8, params, stored, s);
}
