/* Rendering a Mercado Livre account, the token-health arithmetic, and the tenant's accounts
 * (see the header). */
#include "account.h"
#include "pg.h"
#include "upkeep.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

ml_token_info_t ml_token_info(int64_t now_ms, int64_t expires_ms, int64_t refreshed_ms)
{
	ml_token_info_t t = {0};
	int64_t left = expires_ms - now_ms, life = expires_ms - refreshed_ms;
	t.is_expired = left <= 0;
	t.time_to_expiry_s = left > 0 ? left / 1000 : 0;
	if (left > 0 && life > 0) {
		/* Rounded to the nearest percent, clamped: a clock step must not show 130%. */
		int64_t pct = (left * 100 + life / 2) / life;
		t.health_percent = (int)(pct > 100 ? 100 : pct);
	}
	t.needs_refresh = left < (int64_t)ML_REFRESH_WINDOW_S * 1000;
	return t;
}

json_t *ml_token_info_json(const ml_token_info_t *t, const char *account_id, const char *ml_user_id,
			   const char *expiry)
{
	json_t *o = json_object();
	if (account_id)
		json_object_set_new(o, "accountId", json_string(account_id));
	if (ml_user_id)
		json_object_set_new(o, "mlUserId", json_string(ml_user_id));
	if (expiry)
		json_object_set_new(o, "tokenExpiry", json_string(expiry));
	json_object_set_new(o, "timeToExpiry", json_integer(t->time_to_expiry_s));
	json_object_set_new(o, "healthPercent", json_integer(t->health_percent));
	json_object_set_new(o, "isExpired", json_boolean(t->is_expired));
	json_object_set_new(o, "needsRefresh", json_boolean(t->needs_refresh));
	return o;
}

static json_t *str_or_null(const PGresult *res, int row, int col)
{
	const char *v = pg_value(res, row, col);
	return v ? json_string(v) : json_null();
}

/* Token health now of the row whose ML_ACCOUNT_COLS start at column c. */
static ml_token_info_t token_info_at(const PGresult *res, int row, int c)
{
	return ml_token_info(wall_ms(), pg_int(res, row, c + 23, 0), pg_int(res, row, c + 24, 0));
}

json_t *ml_account_json(const PGresult *res, int row, int c, bool detail)
{
	json_t *cached = json_pack(
	    "{s:I, s:I, s:I, s:o}", "products", (json_int_t)pg_int(res, row, c + 16, 0), "orders",
	    (json_int_t)pg_int(res, row, c + 17, 0), "issues",
	    (json_int_t)pg_int(res, row, c + 18, 0), "lastUpdated", str_or_null(res, row, c + 19));
	json_t *a = json_pack(
	    "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:I, s:o, s:o, s:o, s:o, s:o, s:o, "
	    "s:I, s:o, s:o}",
	    "id", str_or_null(res, row, c), "mlUserId", str_or_null(res, row, c + 1), "nickname",
	    str_or_null(res, row, c + 2), "email", str_or_null(res, row, c + 3), "accountName",
	    str_or_null(res, row, c + 5), "accountType", str_or_null(res, row, c + 6), "status",
	    str_or_null(res, row, c + 7), "syncEnabled", pg_bool(res, row, c + 8), "isPrimary",
	    pg_bool(res, row, c + 9), "syncInterval", (json_int_t)pg_int(res, row, c + 10, 0),
	    "lastSync", str_or_null(res, row, c + 12), "nextSync", str_or_null(res, row, c + 13),
	    "lastSyncStatus", str_or_null(res, row, c + 14), "lastSyncError",
	    str_or_null(res, row, c + 15), "tokenExpiresAt", str_or_null(res, row, c + 22),
	    "cachedData", cached, "errorCount", (json_int_t)pg_int(res, row, c + 20, 0),
	    "createdAt", str_or_null(res, row, c + 25), "updatedAt", str_or_null(res, row, c + 26));
	if (!detail)
		return a;
	json_object_set_new(a, "siteId", str_or_null(res, row, c + 4));
	json_object_set_new(a, "notificationsEnabled", json_boolean(pg_bool(res, row, c + 11)));
	json_object_set_new(a, "disconnectedAt", str_or_null(res, row, c + 27));
	const char *hist = pg_value(res, row, c + 21);
	json_t *h = hist ? json_loads(hist, 0, NULL) : NULL;
	json_object_set_new(a, "errorHistory", h ? h : json_array());
	ml_token_info_t t = token_info_at(res, row, c);
	json_object_set_new(a, "tokenInfo", ml_token_info_json(&t, NULL, NULL, NULL));
	return a;
}

ml_token_info_t ml_account_token_info(const PGresult *res, int row)
{
	return token_info_at(res, row, 0);
}

/* --- the tenant's accounts -------------------------------------------------------------------- */

static const char lock_tenant_sql[] = "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE";

/* The first account of a tenant becomes primary (the tenant lock makes "first" well defined). */
static const char create_sql[] =
    "INSERT INTO accounts AS a (tenant_id, channel, external_id, nickname, settings, "
    "  access_token_sealed, refresh_token_sealed, token_expires_at, account_name, is_primary, "
    "  next_sync_at) "
    "VALUES ($1, 'ml', $2, $3, jsonb_build_object('email', $4::text, 'accountType', "
    "  coalesce($9, 'individual')), $5, $6, $7::timestamptz, $8, "
    "  NOT EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND channel = 'ml' "
    "  AND is_primary), now()) "
    "ON CONFLICT (tenant_id, channel, external_id) DO NOTHING RETURNING " ML_ACCOUNT_COLS;

/* A reconnect keeps the row (its id, settings and cached data) and revives it. */
static const char connect_sql[] =
    "INSERT INTO accounts AS a (tenant_id, channel, external_id, nickname, settings, "
    "  access_token_sealed, refresh_token_sealed, token_expires_at, is_primary, next_sync_at) "
    "VALUES ($1, 'ml', $2, $3, jsonb_build_object('email', $4::text, 'siteId', "
    "  coalesce($5, 'MLB'), 'accountType', 'individual'), $6, $7, "
    "  now() + $8::int * interval '1 second', "
    "  NOT EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND channel = 'ml' "
    "  AND is_primary), now()) "
    "ON CONFLICT (tenant_id, channel, external_id) DO UPDATE SET nickname = EXCLUDED.nickname, "
    "  settings = a.settings || jsonb_build_object('email', EXCLUDED.settings->'email', "
    "  'siteId', EXCLUDED.settings->'siteId'), "
    "  access_token_sealed = EXCLUDED.access_token_sealed, "
    "  refresh_token_sealed = EXCLUDED.refresh_token_sealed, "
    "  token_expires_at = EXCLUDED.token_expires_at, refreshed_at = now(), "
    "  status = CASE WHEN a.sync_enabled THEN 'active' ELSE 'paused' END, "
    "  disconnected_at = NULL "
    "RETURNING " ML_ACCOUNT_COLS ", (xmax = 0) AS created";

static const char list_sql[] =
    "SELECT " ML_ACCOUNT_COLS " FROM accounts a "
    "WHERE a.tenant_id = $1 AND a.channel = 'ml' ORDER BY a.created_at, a.id";

static const char find_sql[] =
    "SELECT " ML_ACCOUNT_COLS " FROM accounts a WHERE a.id = $1 AND a.tenant_id = $2 "
    "AND a.channel = 'ml'";

static const char owned_sql[] = "SELECT is_primary FROM accounts WHERE id = $1 AND "
				"tenant_id = $2 AND channel = 'ml'";

static const char ids_sql[] =
    "SELECT id FROM accounts WHERE tenant_id = $1 AND channel = 'ml' ORDER BY created_at, id";

static const char unmark_primary_sql[] =
    "UPDATE accounts SET is_primary = false WHERE tenant_id = $2 AND channel = 'ml' "
    "AND is_primary AND id <> $1 AND EXISTS (SELECT 1 FROM accounts WHERE id = $1 "
    "AND tenant_id = $2 AND channel = 'ml')";

/* Keeps the batch's shape when the account does not become primary. */
static const char unmark_nothing_sql[] = "SELECT 1 WHERE $1::uuid IS NULL AND $2::uuid IS NULL";

/* Un-marking the primary directly is refused ($5 false): another account must be made
 * primary. */
static const char update_sql[] =
    "UPDATE accounts AS a SET "
    "  account_name = CASE WHEN $3::bool THEN $4 ELSE a.account_name END, "
    "  is_primary = a.is_primary OR coalesce($5::bool, false), "
    "  sync_interval_ms = coalesce($6::int, a.sync_interval_ms), "
    "  next_sync_at = CASE WHEN $6 IS NOT NULL AND a.last_sync_at IS NOT NULL "
    "    THEN a.last_sync_at + $6::int * interval '1 ms' ELSE a.next_sync_at END, "
    "  notifications_enabled = coalesce($7::bool, a.notifications_enabled) "
    "WHERE a.id = $1 AND a.tenant_id = $2 AND a.channel = 'ml' AND NOT (a.is_primary AND $5::bool "
    "IS false) "
    "RETURNING " ML_ACCOUNT_COLS;

static const char delete_sql[] =
    "DELETE FROM accounts WHERE id = $1 AND tenant_id = $2 AND channel = 'ml' RETURNING id";

/* Deleting the primary promotes the oldest remaining account. */
static const char promote_sql[] =
    "UPDATE accounts SET is_primary = true WHERE id = (SELECT id FROM accounts "
    "  WHERE tenant_id = $1 AND channel = 'ml' ORDER BY created_at, id LIMIT 1) "
    "AND NOT EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND channel = 'ml' "
    "AND is_primary)";

static const char pause_sql[] =
    "UPDATE accounts SET sync_enabled = false, "
    "  status = CASE WHEN status IN ('active', 'error') THEN 'paused' ELSE status END "
    "WHERE id = $1 AND tenant_id = $2 AND channel = 'ml' RETURNING id, status, sync_enabled";

static const char resume_sql[] =
    "UPDATE accounts SET sync_enabled = true, next_sync_at = now(), "
    "  status = CASE WHEN status = 'paused' THEN 'active' ELSE status END "
    "WHERE id = $1 AND tenant_id = $2 AND channel = 'ml' RETURNING id, status, sync_enabled";

/* A batch whose answer is one of its statements' results. */
typedef struct answer {
	int stmt;
	pg_cb cb;
	void *arg;
} answer_t;

static void batch_answered(PGresult *const *results, int n, const char *err, void *arg)
{
	answer_t *a = arg;
	a->cb(n > a->stmt ? results[a->stmt] : NULL, err, a->arg);
	free(a);
}

static void batch_answer(app_t *app, const pg_stmt_t *stmts, int n, int stmt, pg_cb cb, void *arg)
{
	answer_t *a = xcalloc(1, sizeof(*a));
	a->stmt = stmt;
	a->cb = cb;
	a->arg = arg;
	pg_batch(app->pg, stmts, n, batch_answered, a);
}

bool ml_accounts_create(app_t *app, const char *tenant_id, const ml_account_new_t *a, pg_cb cb,
			void *arg)
{
	char *access, *refresh;
	if (!upkeep_seal_tokens(app, a->access_token, a->refresh_token, &access, &refresh))
		return false;
	const char *lock[] = {tenant_id};
	const char *ins[] = {tenant_id, a->ml_user_id, a->nickname,	a->email,	access,
			     refresh,	a->expires_at, a->account_name, a->account_type};
	pg_stmt_t stmts[] = {{lock_tenant_sql, 1, lock}, {create_sql, 9, ins}};
	batch_answer(app, stmts, 2, 1, cb, arg);
	free(access);
	free(refresh);
	return true;
}

bool ml_accounts_connect(app_t *app, const char *tenant_id, const ml_account_grant_t *g, pg_cb cb,
			 void *arg)
{
	char *access, *refresh;
	if (!upkeep_seal_tokens(app, g->access_token, g->refresh_token, &access, &refresh))
		return false;
	char ttl[24];
	snprintf(ttl, sizeof(ttl), "%ld", g->expires_in);
	const char *lock[] = {tenant_id};
	const char *ins[] = {tenant_id,	 g->ml_user_id, g->nickname, g->email,
			     g->site_id, access,	refresh,     ttl};
	pg_stmt_t stmts[] = {{lock_tenant_sql, 1, lock}, {connect_sql, 8, ins}};
	batch_answer(app, stmts, 2, 1, cb, arg);
	free(access);
	free(refresh);
	return true;
}

void ml_accounts_list(app_t *app, const char *tenant_id, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id};
	pg_query_prepared(app->pg, list_sql, 1, params, cb, arg);
}

void ml_accounts_find(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg)
{
	const char *params[] = {id, tenant_id};
	pg_query_prepared(app->pg, find_sql, 2, params, cb, arg);
}

void ml_accounts_owned(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg)
{
	const char *params[] = {id, tenant_id};
	pg_query_prepared(app->pg, owned_sql, 2, params, cb, arg);
}

void ml_accounts_ids(app_t *app, const char *tenant_id, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id};
	pg_query_prepared(app->pg, ids_sql, 1, params, cb, arg);
}

typedef struct update {
	ml_accounts_update_cb cb;
	void *arg;
} update_t;

/* The batch: lock, un-mark the other primary, update, then whether the account exists. */
static void updated(PGresult *const *results, int n, const char *err, void *arg)
{
	update_t *u = arg;
	if (err)
		u->cb(n > 2 ? results[2] : NULL, err, false, u->arg);
	else
		u->cb(results[2], NULL, PQntuples(results[2]) != 1 && PQntuples(results[3]) == 1,
		      u->arg);
	free(u);
}

static const char *bool_param(bool has, bool v)
{
	return has ? (v ? "true" : "false") : NULL;
}

void ml_accounts_update(app_t *app, const char *tenant_id, const char *id,
			const ml_account_change_t *c, ml_accounts_update_cb cb, void *arg)
{
	char interval[24];
	snprintf(interval, sizeof(interval), "%lld", c->interval_ms);
	const char *lock[] = {tenant_id};
	const char *unmark[] = {id, tenant_id};
	const char *upd[] = {id,
			     tenant_id,
			     c->has_name ? "true" : "false",
			     c->account_name,
			     bool_param(c->has_primary, c->primary),
			     c->has_interval ? interval : NULL,
			     bool_param(c->has_notifications, c->notifications)};
	const char *exists[] = {id, tenant_id};
	bool becomes_primary = c->has_primary && c->primary;
	pg_stmt_t stmts[] = {
	    {lock_tenant_sql, 1, lock},
	    {becomes_primary ? unmark_primary_sql : unmark_nothing_sql, 2, unmark},
	    {update_sql, 7, upd},
	    {owned_sql, 2, exists},
	};
	update_t *u = xcalloc(1, sizeof(*u));
	u->cb = cb;
	u->arg = arg;
	pg_batch(app->pg, stmts, 4, updated, u);
}

void ml_accounts_delete(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg)
{
	const char *lock[] = {tenant_id};
	const char *del[] = {id, tenant_id};
	pg_stmt_t stmts[] = {
	    {lock_tenant_sql, 1, lock}, {delete_sql, 2, del}, {promote_sql, 1, lock}};
	batch_answer(app, stmts, 3, 1, cb, arg);
}

void ml_accounts_set_sync(app_t *app, const char *tenant_id, const char *id, bool enabled, pg_cb cb,
			  void *arg)
{
	const char *params[] = {id, tenant_id};
	pg_query(app->pg, enabled ? resume_sql : pause_sql, 2, params, cb, arg);
}
