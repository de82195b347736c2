/* Sign-up, sign-in and the refresh-token families: see the header. */
#include "sessions.h"
#include "identity.h"
#include "log.h"

#include <stdio.h>

#define LOCK_MINUTES   "15"
#define SESSION_EXPIRY "now() + interval '30 days'"

// clang-format off
static const char sign_up_sql[] =
    "WITH t AS (INSERT INTO tenants (name) VALUES ($1) RETURNING *),"
    " u AS (INSERT INTO users (tenant_id, email, password_hash, full_name, phone, timezone,"
    "    language, role, last_login_at)"
    "  SELECT t.id, $2, $3, $4, $5, coalesce($6, 'America/Sao_Paulo'), coalesce($7, 'pt-BR'),"
    "    'owner', now() FROM t RETURNING *),"
    " r AS (INSERT INTO refresh_tokens (token_hash, family_id, user_id, tenant_id, expires_at,"
    "    user_agent, ip)"
    "  SELECT $8, gen_random_uuid(), u.id, u.tenant_id, " SESSION_EXPIRY ", $9, $10::inet FROM u)"
    " SELECT " IDENTITY_USER_COLS ", " IDENTITY_TENANT_COLS " FROM u, t";

static const char credentials_sql[] =
    "SELECT u.id, u.tenant_id, u.role, u.password_hash, u.active, t.active,"
    "  coalesce(u.locked_until > now(), false),"
    "  coalesce(ceil(extract(epoch FROM u.locked_until - now()))::int, 0)"
    " FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.email = $1";

static const char sign_in_failed_sql[] =
    "UPDATE users SET"
    "  failed_attempts = CASE WHEN failed_attempts + 1 >= $2::int THEN 0"
    "    ELSE failed_attempts + 1 END,"
    "  locked_until = CASE WHEN failed_attempts + 1 >= $2::int"
    "    THEN now() + interval '" LOCK_MINUTES " minutes' ELSE locked_until END"
    " WHERE id = $1";

static const char sign_in_sql[] =
    "WITH u AS (UPDATE users SET failed_attempts = 0, locked_until = NULL, last_login_at = now()"
    "  WHERE id = $1 RETURNING *),"
    " r AS (INSERT INTO refresh_tokens (token_hash, family_id, user_id, tenant_id, expires_at,"
    "    user_agent, ip)"
    "  SELECT $2, gen_random_uuid(), u.id, u.tenant_id, " SESSION_EXPIRY ", $3, $4::inet FROM u)"
    " SELECT " IDENTITY_USER_COLS ", " IDENTITY_TENANT_COLS " FROM u"
    " JOIN tenants t ON t.id = u.tenant_id";

/* One statement: lock the presented token, then either rotate it (mark used, add the next one
 * to its family) or, when it was used already, revoke the whole family. Concurrent refreshes
 * with one token serialize on the row lock; the second sees it used. */
static const char rotate_sql[] =
    "WITH old AS ("
    "  SELECT r.id, r.family_id, r.user_id, r.tenant_id, r.used_at IS NOT NULL AS used,"
    "    r.revoked_at IS NOT NULL AS revoked, r.expires_at <= now() AS expired, u.role,"
    "    u.active AS user_active, t.active AS tenant_active"
    "  FROM refresh_tokens r JOIN users u ON u.id = r.user_id"
    "  JOIN tenants t ON t.id = r.tenant_id WHERE r.token_hash = $1 FOR UPDATE OF r),"
    " claim AS (UPDATE refresh_tokens r SET used_at = now() FROM old"
    "  WHERE r.id = old.id AND NOT old.used AND NOT old.revoked AND NOT old.expired"
    "    AND old.user_active AND old.tenant_active"
    "  RETURNING r.family_id, r.user_id, r.tenant_id),"
    " fresh AS (INSERT INTO refresh_tokens (token_hash, family_id, user_id, tenant_id,"
    "    expires_at, user_agent, ip)"
    "  SELECT $2, family_id, user_id, tenant_id, " SESSION_EXPIRY ", $3, $4::inet"
    "  FROM claim RETURNING id),"
    " burn AS (UPDATE refresh_tokens r SET revoked_at = now() FROM old"
    "  WHERE old.used AND r.family_id = old.family_id AND r.revoked_at IS NULL RETURNING r.id)"
    " SELECT old.user_id, old.tenant_id, old.role, old.used, old.revoked, old.expired,"
    "  old.user_active, old.tenant_active, (SELECT count(*) FROM fresh) > 0,"
    "  (SELECT count(*) FROM burn)"
    " FROM old";

/* Ending a session revokes the presented token's whole family. */
static const char end_sql[] =
    "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family_id ="
    " (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2)";
// clang-format on

void sessions_sign_up(app_t *app, const session_signup_t *s, const session_token_t *t, pg_cb cb,
		      void *arg)
{
	const char *params[] = {s->company,  s->email,	  s->password_hash, s->full_name,  s->phone,
				s->timezone, s->language, t->hash,	    t->user_agent, t->ip};
	pg_query(app->pg, sign_up_sql, 10, params, cb, arg);
}

void sessions_credentials(app_t *app, const char *email, pg_cb cb, void *arg)
{
	const char *params[] = {email};
	pg_query_prepared(app->pg, credentials_sql, 1, params, cb, arg);
}

static void counted(const PGresult *res, const char *err, void *arg)
{
	if (err)
		log_warn("sessions: counting a wrong password failed: %s",
			 res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : err);
}

void sessions_sign_in_failed(app_t *app, const char *user_id)
{
	char after[16];
	snprintf(after, sizeof(after), "%d", SESSIONS_LOCK_AFTER_FAILURES);
	const char *params[] = {user_id, after};
	pg_query(app->pg, sign_in_failed_sql, 2, params, counted, NULL);
}

void sessions_sign_in(app_t *app, const char *user_id, const session_token_t *t, pg_cb cb,
		      void *arg)
{
	const char *params[] = {user_id, t->hash, t->user_agent, t->ip};
	pg_query(app->pg, sign_in_sql, 4, params, cb, arg);
}

void sessions_rotate(app_t *app, const char *old_hash, const session_token_t *next, pg_cb cb,
		     void *arg)
{
	const char *params[] = {old_hash, next->hash, next->user_agent, next->ip};
	pg_query(app->pg, rotate_sql, 4, params, cb, arg);
}

void sessions_end(app_t *app, const char *user_id, const char *token_hash, pg_cb cb, void *arg)
{
	const char *params[] = {token_hash, user_id};
	pg_query(app->pg, end_sql, 2, params, cb, arg);
}
