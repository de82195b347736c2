/* A tenant's users: see the header. Changes that could leave a tenant without an active owner
 * run after locking the tenant row, so two owners demoting each other at once cannot both
 * succeed. */
#include "users.h"
#include "identity.h"

#include <stdio.h>

// clang-format off
static const char list_sql[] =
    "SELECT c.total, p.* FROM (SELECT count(*) AS total FROM users WHERE tenant_id = $1) c"
    " LEFT JOIN LATERAL (SELECT " IDENTITY_USER_COLS " FROM users u WHERE u.tenant_id = $1"
    "  ORDER BY u.created_at, u.id LIMIT $2 OFFSET $3) p ON true";

static const char get_sql[] =
    "SELECT " IDENTITY_USER_COLS " FROM users u WHERE u.id = $1 AND u.tenant_id = $2";

static const char get_with_tenant_sql[] =
    "SELECT " IDENTITY_USER_COLS ", " IDENTITY_TENANT_COLS
    " FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1 AND u.tenant_id = $2";

static const char access_sql[] =
    "SELECT u.role, u.active, t.active FROM users u JOIN tenants t ON t.id = u.tenant_id"
    " WHERE u.id = $1 AND u.tenant_id = $2";

static const char create_sql[] =
    "INSERT INTO users AS u (tenant_id, email, password_hash, full_name, role, phone, timezone,"
    "  language)"
    " VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, 'America/Sao_Paulo'), coalesce($8, 'pt-BR'))"
    " RETURNING " IDENTITY_USER_COLS;

/* Serializes the changes that could remove a tenant's last owner (held until the batch ends). */
static const char lock_tenant_sql[] = "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE";

/* True when the row may stop being an active owner: it is not one, or another one remains. */
#define OWNER_GUARD(new_role, new_active)                                                          \
	"(NOT (u.role = 'owner' AND u.active) OR (" new_role " = 'owner' AND " new_active ")"      \
	" OR EXISTS (SELECT 1 FROM users o WHERE o.tenant_id = u.tenant_id AND o.role = 'owner'"   \
	" AND o.active AND o.id <> u.id))"

static const char update_sql[] =
    "UPDATE users AS u SET email = coalesce($3, u.email), full_name = coalesce($4, u.full_name),"
    "  phone = CASE WHEN $5::bool THEN $6 ELSE u.phone END,"
    "  timezone = coalesce($7, u.timezone), language = coalesce($8, u.language),"
    "  role = coalesce($9, u.role), active = coalesce($10::bool, u.active)"
    " WHERE u.id = $1 AND u.tenant_id = $2 AND (u.role <> 'owner' OR $11::bool)"
    "  AND " OWNER_GUARD("coalesce($9, u.role)", "coalesce($10::bool, u.active)")
    " RETURNING " IDENTITY_USER_COLS;

/* A deactivated user's sessions end with it. */
static const char revoke_inactive_sql[] =
    "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL"
    " AND EXISTS (SELECT 1 FROM users WHERE id = $1 AND NOT active)";

static const char delete_sql[] =
    "DELETE FROM users AS u WHERE u.id = $1 AND u.tenant_id = $2"
    " AND (u.role <> 'owner' OR $3::bool) AND " OWNER_GUARD("''", "false") " RETURNING u.id";
// clang-format on

void users_list(app_t *app, const char *tenant_id, int limit, long long offset, pg_cb cb, void *arg)
{
	char limit_s[16], offset_s[24];
	snprintf(limit_s, sizeof(limit_s), "%d", limit);
	snprintf(offset_s, sizeof(offset_s), "%lld", offset);
	const char *params[] = {tenant_id, limit_s, offset_s};
	pg_query_prepared(app->pg, list_sql, 3, params, cb, arg);
}

void users_get(app_t *app, const char *tenant_id, const char *user_id, pg_cb cb, void *arg)
{
	const char *params[] = {user_id, tenant_id};
	pg_query_prepared(app->pg, get_sql, 2, params, cb, arg);
}

void users_get_with_tenant(app_t *app, const char *tenant_id, const char *user_id, pg_cb cb,
			   void *arg)
{
	const char *params[] = {user_id, tenant_id};
	pg_query_prepared(app->pg, get_with_tenant_sql, 2, params, cb, arg);
}

void users_access(app_t *app, const char *tenant_id, const char *user_id, pg_cb cb, void *arg)
{
	const char *params[] = {user_id, tenant_id};
	pg_query_prepared(app->pg, access_sql, 2, params, cb, arg);
}

void users_create(app_t *app, const char *tenant_id, const user_profile_t *p,
		  const char *password_hash, pg_cb cb, void *arg)
{
	const char *params[] = {tenant_id, p->email, password_hash, p->full_name,
				p->role,   p->phone, p->timezone,   p->language};
	pg_query(app->pg, create_sql, 8, params, cb, arg);
}

/* write, and then after (when there is one), under the tenant's lock: cb gets write's answer. */
static void guarded(app_t *app, const char *tenant_id, pg_stmt_t write, pg_stmt_t after, pg_cb cb,
		    void *arg)
{
	pg_stmt_t stmts[] = {{lock_tenant_sql, 1, &tenant_id}, write, after};
	pg_batch_one(app->pg, stmts, after.sql ? 3 : 2, 1, cb, arg);
}

void users_update(app_t *app, const char *tenant_id, const char *user_id, const user_profile_t *p,
		  bool actor_is_owner, pg_cb cb, void *arg)
{
	const char *params[] = {user_id,
				tenant_id,
				p->email,
				p->full_name,
				p->has_phone ? "true" : "false",
				p->phone,
				p->timezone,
				p->language,
				p->role,
				p->has_active ? (p->active ? "true" : "false") : NULL,
				actor_is_owner ? "true" : "false"};
	guarded(app, tenant_id, (pg_stmt_t){update_sql, 11, params},
		(pg_stmt_t){revoke_inactive_sql, 1, params}, cb, arg);
}

void users_delete(app_t *app, const char *tenant_id, const char *user_id, bool actor_is_owner,
		  pg_cb cb, void *arg)
{
	const char *params[] = {user_id, tenant_id, actor_is_owner ? "true" : "false"};
	guarded(app, tenant_id, (pg_stmt_t){delete_sql, 3, params}, (pg_stmt_t){0}, cb, arg);
}
