/* /api/auth: register, login, refresh, logout, me. Passwords are hashed and verified on the
 * worker threads; every session is a refresh-token family whose tokens rotate on each use. */
#include "api.h"
#include "auth.h"
#include "identity.h"
#include "log.h"
#include "passwords.h"
#include "permissions.h"
#include "throttle.h"
#include "util.h"
#include "validate.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCK_AFTER_FAILURES 10 /* consecutive, across addresses: a slow guesser Redis misses */
#define LOCK_MINUTES	    "15"

static const char *const languages[] = {"pt-BR", "en-US", "es", NULL};

static const char register_sql[] =
    "WITH t AS (INSERT INTO tenants (name) VALUES ($1) RETURNING *), "
    "u AS (INSERT INTO users (tenant_id, email, password_hash, full_name, phone, timezone, "
    "    language, role, last_login_at) "
    "  SELECT t.id, $2, $3, $4, $5, coalesce($6, 'America/Sao_Paulo'), coalesce($7, 'pt-BR'), "
    "    'owner', now() FROM t RETURNING *), "
    "r AS (INSERT INTO refresh_tokens (token_hash, family_id, user_id, tenant_id, expires_at, "
    "    user_agent, ip) "
    "  SELECT $8, gen_random_uuid(), u.id, u.tenant_id, now() + interval '30 days', $9, "
    "    $10::inet FROM u) "
    "SELECT " IDENTITY_USER_COLS ", " IDENTITY_TENANT_COLS " FROM u, t";

static const char login_sql[] =
    "SELECT u.id, u.tenant_id, u.role, u.password_hash, u.active, t.active, "
    "  coalesce(u.locked_until > now(), false), "
    "  coalesce(ceil(extract(epoch FROM u.locked_until - now()))::int, 0) "
    "FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.email = $1";

static const char login_failed_sql[] =
    "UPDATE users SET "
    "  failed_attempts = CASE WHEN failed_attempts + 1 >= $2::int THEN 0 "
    "    ELSE failed_attempts + 1 END, "
    "  locked_until = CASE WHEN failed_attempts + 1 >= $2::int "
    "    THEN now() + interval '" LOCK_MINUTES " minutes' ELSE locked_until END "
    "WHERE id = $1";

static const char login_ok_sql[] =
    "WITH u AS (UPDATE users SET failed_attempts = 0, locked_until = NULL, last_login_at = now() "
    "  WHERE id = $1 RETURNING *), "
    "r AS (INSERT INTO refresh_tokens (token_hash, family_id, user_id, tenant_id, expires_at, "
    "    user_agent, ip) "
    "  SELECT $2, gen_random_uuid(), u.id, u.tenant_id, now() + interval '30 days', $3, "
    "    $4::inet FROM u) "
    "SELECT " IDENTITY_USER_COLS ", " IDENTITY_TENANT_COLS " FROM u "
    "JOIN tenants t ON t.id = u.tenant_id";

/* One statement: lock the presented token, then either rotate it (mark used, add the next one
 * to its family) or, when it was used already, revoke the whole family. Concurrent refreshes
 * with one token serialize on the row lock; the second sees it used. */
static const char refresh_sql[] =
    "WITH old AS ("
    "  SELECT r.id, r.family_id, r.user_id, r.tenant_id, r.used_at IS NOT NULL AS used, "
    "    r.revoked_at IS NOT NULL AS revoked, r.expires_at <= now() AS expired, u.role, "
    "    u.active AS user_active, t.active AS tenant_active "
    "  FROM refresh_tokens r JOIN users u ON u.id = r.user_id "
    "  JOIN tenants t ON t.id = r.tenant_id WHERE r.token_hash = $1 FOR UPDATE OF r), "
    "claim AS (UPDATE refresh_tokens r SET used_at = now() FROM old "
    "  WHERE r.id = old.id AND NOT old.used AND NOT old.revoked AND NOT old.expired "
    "    AND old.user_active AND old.tenant_active "
    "  RETURNING r.family_id, r.user_id, r.tenant_id), "
    "fresh AS (INSERT INTO refresh_tokens (token_hash, family_id, user_id, tenant_id, "
    "    expires_at, user_agent, ip) "
    "  SELECT $2, family_id, user_id, tenant_id, now() + interval '30 days', $3, $4::inet "
    "  FROM claim RETURNING id), "
    "burn AS (UPDATE refresh_tokens r SET revoked_at = now() FROM old "
    "  WHERE old.used AND r.family_id = old.family_id AND r.revoked_at IS NULL RETURNING r.id) "
    "SELECT old.user_id, old.tenant_id, old.role, old.used, old.revoked, old.expired, "
    "  old.user_active, old.tenant_active, (SELECT count(*) FROM fresh) > 0, "
    "  (SELECT count(*) FROM burn) "
    "FROM old";

/* Logging out ends the session: the presented token's whole family. */
static const char logout_sql[] =
    "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = "
    "(SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2)";

static const char me_sql[] = "SELECT " IDENTITY_USER_COLS ", " IDENTITY_TENANT_COLS
			     " FROM users u JOIN tenants t ON t.id = u.tenant_id "
			     "WHERE u.id = $1 AND u.tenant_id = $2";

static void internal_error(req_t *r)
{
	http_error(r, 500, "INTERNAL", "Something went wrong on our side.", NULL);
}

static void ignore_result(const PGresult *res, const char *err, void *arg)
{
	if (err)
		log_warn("auth: bookkeeping update failed: %s",
			 res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : err);
}

/* {user, tenant, tokens} from a row of user columns then tenant columns. */
static json_t *session_json(req_t *r, const PGresult *res, const char *refresh)
{
	json_t *tokens = identity_tokens(r, pg_value(res, 0, 0), pg_value(res, 0, 3),
					 pg_value(res, 0, 4), refresh);
	if (!tokens)
		return NULL;
	return json_pack("{s:o, s:o, s:o}", "user", identity_user_json(res, 0, 0), "tenant",
			 identity_tenant_json(res, 0, IDENTITY_USER_NCOLS), "tokens", tokens);
}

/* --- register ----------------------------------------------------------------------------- */

typedef struct signup {
	req_t *r;
	register_body_t in;
	refresh_pair_t refresh;
} signup_t;

static void register_done(const PGresult *res, const char *err, void *arg)
{
	signup_t *s = arg;
	if (err && strcmp(pg_sqlstate(res), "23505") == 0) {
		http_error(s->r, 409, "EMAIL_EXISTS", "An account with this e-mail already exists.",
			   http_problem(NULL, "email", "is already registered"));
		return;
	}
	if (err || PQntuples(res) != 1) {
		identity_db_error(s->r, "auth: register", res, err ? err : "no row");
		return;
	}
	json_t *data = session_json(s->r, res, s->refresh.token);
	if (data)
		http_ok(s->r, 201, data, "Account created.");
}

static void register_hashed(char *hash, void *arg)
{
	signup_t *s = arg;
	req_t *r = s->r;
	if (!hash) {
		log_error("auth: register: password hashing failed");
		internal_error(r);
		return;
	}
	const char *ua, *ip;
	identity_client(r, &ua, &ip);
	if (identity_refresh_new(r, &s->refresh)) {
		const register_body_t *in = &s->in;
		const char *params[] = {in->company,  in->email,
					hash,	      in->full_name,
					in->phone,    in->timezone,
					in->language, s->refresh.hash,
					ua,	      ip};
		pg_query(((app_t *)r->app)->pg, register_sql, 10, params, register_done, s);
	}
	OPENSSL_cleanse(hash, strlen(hash));
	free(hash);
}

static const char *email_field(req_t *r, json_t **d)
{
	const char *email = validate_string(r, "email", V_REQUIRED, EMAIL_MAX, d, NULL);
	if (email && !validate_email(email)) {
		*d = http_problem(*d, "email", "must be an email address");
		return NULL;
	}
	return email;
}

json_t *register_body_check(req_t *r, register_body_t *b)
{
	json_t *d = NULL;
	b->email = email_field(r, &d);
	b->password = validate_string(r, "password", V_REQUIRED | V_RAW, 1024, &d, NULL);
	const char *problem = b->password ? password_problem(b->password) : NULL;
	if (problem)
		d = http_problem(d, "password", problem);
	b->full_name = validate_string(r, "fullName", V_REQUIRED, NAME_MAX_CHARS, &d, NULL);
	b->company = validate_string(r, "companyName", V_REQUIRED, NAME_MAX_CHARS, &d, NULL);
	b->phone = validate_string(r, "phone", V_NULLABLE, 32, &d, NULL);
	if (b->phone && !validate_phone(b->phone))
		d = http_problem(d, "phone", "must be a phone number (8 to 15 digits)");
	b->timezone = validate_string(r, "timezone", V_NULLABLE, 64, &d, NULL);
	if (b->timezone && !validate_timezone(b->timezone))
		d = http_problem(d, "timezone",
				 "must be an IANA time zone such as America/Sao_Paulo");
	b->language = validate_enum(r, "language", V_NULLABLE, languages, &d);
	return d;
}

static void auth_register(req_t *r)
{
	app_t *app = r->app;
	signup_t *s = arena_calloc(r->arena, 1, sizeof(*s));
	s->r = r;
	json_t *d = register_body_check(r, &s->in);
	if (d) {
		http_invalid(r, d);
		return;
	}
	password_hash(app->workers, s->in.password, register_hashed, s);
}

/* --- login ---------------------------------------------------------------------------------- */

typedef struct login {
	req_t *r;
	const char *email, *password;
	char *user_id, *hash;
	bool found, user_active, tenant_active;
	refresh_pair_t refresh;
} login_t;

static void invalid_credentials(req_t *r)
{
	http_error(r, 401, "INVALID_CREDENTIALS", "The e-mail or the password is wrong.", NULL);
}

static void login_done(const PGresult *res, const char *err, void *arg)
{
	login_t *l = arg;
	if (err || PQntuples(res) != 1) {
		identity_db_error(l->r, "auth: login", res, err ? err : "user vanished");
		return;
	}
	json_t *data = session_json(l->r, res, l->refresh.token);
	if (data)
		http_ok(l->r, 200, data, NULL);
}

static void login_verified(bool ok, void *arg)
{
	login_t *l = arg;
	req_t *r = l->r;
	app_t *app = r->app;
	if (!ok) {
		throttle_login_failed(app, l->email, r->client_ip);
		if (l->found) {
			char after[16];
			snprintf(after, sizeof(after), "%d", LOCK_AFTER_FAILURES);
			const char *params[] = {l->user_id, after};
			pg_query(app->pg, login_failed_sql, 2, params, ignore_result, NULL);
		}
		invalid_credentials(r);
		return;
	}
	/* Only someone holding the password learns that the account is disabled. */
	if (!l->user_active) {
		http_error(r, 403, "ACCOUNT_DISABLED", "This user account has been deactivated.",
			   NULL);
		return;
	}
	if (!l->tenant_active) {
		http_error(r, 403, "TENANT_SUSPENDED", "This company's access is suspended.", NULL);
		return;
	}
	throttle_login_succeeded(app, l->email, r->client_ip);
	if (!identity_refresh_new(r, &l->refresh))
		return;
	const char *ua, *ip;
	identity_client(r, &ua, &ip);
	const char *params[] = {l->user_id, l->refresh.hash, ua, ip};
	pg_query(app->pg, login_ok_sql, 4, params, login_done, l);
}

static void login_found(const PGresult *res, const char *err, void *arg)
{
	login_t *l = arg;
	req_t *r = l->r;
	if (err) {
		identity_db_error(r, "auth: login", res, err);
		return;
	}
	l->found = PQntuples(res) == 1;
	if (l->found) {
		l->user_id = arena_strdup(r->arena, pg_value(res, 0, 0));
		l->hash = arena_strdup(r->arena, pg_value(res, 0, 3));
		l->user_active = pg_bool(res, 0, 4);
		l->tenant_active = pg_bool(res, 0, 5);
		if (pg_bool(res, 0, 6)) {
			char wait[16];
			snprintf(wait, sizeof(wait), "%lld", pg_int(res, 0, 7, 60));
			http_set_header(r, "Retry-After", wait);
			http_error(r, 403, "ACCOUNT_LOCKED",
				   "Too many wrong passwords: this account is locked for a while.",
				   NULL);
			return;
		}
	}
	/* Unknown e-mails verify against a dummy hash: same time, same answer. */
	password_verify(((app_t *)r->app)->workers, l->hash, l->password, login_verified, l);
}

static void login_allowed(bool allowed, int retry_after_s, void *arg)
{
	login_t *l = arg;
	if (!allowed) {
		char wait[16];
		snprintf(wait, sizeof(wait), "%d", retry_after_s);
		http_set_header(l->r, "Retry-After", wait);
		http_error(l->r, 429, "TOO_MANY_ATTEMPTS",
			   "Too many failed sign-ins; retry after the time in Retry-After.", NULL);
		return;
	}
	const char *params[] = {l->email};
	pg_query_prepared(((app_t *)l->r->app)->pg, login_sql, 1, params, login_found, l);
}

json_t *login_body_check(req_t *r, const char **email, const char **password)
{
	json_t *d = NULL;
	*email = email_field(r, &d);
	*password = validate_string(r, "password", V_REQUIRED | V_RAW, PASSWORD_MAX, &d, NULL);
	return d;
}

static void auth_login(req_t *r)
{
	login_t *l = arena_calloc(r->arena, 1, sizeof(*l));
	l->r = r;
	json_t *d = login_body_check(r, &l->email, &l->password);
	if (d) {
		http_invalid(r, d);
		return;
	}
	throttle_login_check(r->app, l->email, r->client_ip, login_allowed, l);
}

/* --- refresh and logout ----------------------------------------------------------------------- */

typedef struct rotation {
	req_t *r;
	refresh_pair_t next;
} rotation_t;

static void refresh_done(const PGresult *res, const char *err, void *arg)
{
	rotation_t *rot = arg;
	req_t *r = rot->r;
	if (err) {
		identity_db_error(r, "auth: refresh", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 401, "TOKEN_INVALID", "The refresh token is not valid.", NULL);
	} else if (pg_bool(res, 0, 3)) {
		log_warn("auth: refresh token reused, family revoked (user %s, %lld tokens)",
			 pg_value(res, 0, 0), pg_int(res, 0, 9, 0));
		auth_revoke_user(r->app, pg_value(res, 0, 0));
		http_error(r, 401, "TOKEN_REUSED",
			   "This refresh token was already used; the session has been revoked for "
			   "safety. Sign in again.",
			   NULL);
	} else if (pg_bool(res, 0, 4)) {
		http_error(r, 401, "TOKEN_INVALID", "The refresh token has been revoked.", NULL);
	} else if (pg_bool(res, 0, 5)) {
		http_error(r, 401, "TOKEN_EXPIRED", "The refresh token has expired; sign in again.",
			   NULL);
	} else if (!pg_bool(res, 0, 6)) {
		http_error(r, 403, "ACCOUNT_DISABLED", "This user account has been deactivated.",
			   NULL);
	} else if (!pg_bool(res, 0, 7)) {
		http_error(r, 403, "TENANT_SUSPENDED", "This company's access is suspended.", NULL);
	} else if (!pg_bool(res, 0, 8)) {
		identity_db_error(r, "auth: refresh", res, "rotation inserted nothing");
	} else {
		json_t *tokens = identity_tokens(r, pg_value(res, 0, 0), pg_value(res, 0, 1),
						 pg_value(res, 0, 2), rot->next.token);
		if (tokens)
			http_ok(r, 200, json_pack("{s:o}", "tokens", tokens), NULL);
	}
}

/* The refresh token from the body, hashed; NULL when it answered. */
static const char *refresh_field(req_t *r, char hash[TOKENS_HASH_LEN + 1])
{
	json_t *d = NULL;
	const char *token = validate_string(r, "refreshToken", V_REQUIRED | V_RAW, 256, &d, NULL);
	if (d) {
		http_invalid(r, d);
		return NULL;
	}
	if (!tokens_refresh_valid(token)) {
		http_error(r, 401, "TOKEN_INVALID", "The refresh token is not valid.", NULL);
		return NULL;
	}
	tokens_hash(token, hash);
	return hash;
}

static void auth_refresh(req_t *r)
{
	rotation_t *rot = arena_calloc(r->arena, 1, sizeof(*rot));
	rot->r = r;
	char *old = arena_alloc(r->arena, TOKENS_HASH_LEN + 1);
	if (!refresh_field(r, old) || !identity_refresh_new(r, &rot->next))
		return;
	const char *ua, *ip;
	identity_client(r, &ua, &ip);
	const char *params[] = {old, rot->next.hash, ua, ip};
	pg_query(((app_t *)r->app)->pg, refresh_sql, 4, params, refresh_done, rot);
}

static void logout_done(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "auth: logout", res, err);
		return;
	}
	/* The same answer whether or not the token was live: logging out is idempotent. The
	 * access token that signed out dies with the session. */
	auth_revoke_token(r);
	http_ok(r, 200, json_object(), "Signed out.");
}

static void auth_logout(req_t *r)
{
	char *hash = arena_alloc(r->arena, TOKENS_HASH_LEN + 1);
	json_t *d = NULL;
	const char *token = validate_string(r, "refreshToken", V_REQUIRED | V_RAW, 256, &d, NULL);
	if (d) {
		http_invalid(r, d);
		return;
	}
	tokens_hash(token, hash);
	const char *params[] = {hash, r->user_id};
	pg_query(((app_t *)r->app)->pg, logout_sql, 2, params, logout_done, r);
}

/* --- me ------------------------------------------------------------------------------------- */

static void me_done(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "auth: me", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "NOT_FOUND", "No such user.", NULL);
		return;
	}
	json_t *data = json_pack("{s:o, s:o, s:o}", "user", identity_user_json(res, 0, 0), "tenant",
				 identity_tenant_json(res, 0, IDENTITY_USER_NCOLS), "permissions",
				 perm_list(pg_value(res, 0, 4)));
	http_ok(r, 200, data, NULL);
}

static void auth_me(req_t *r)
{
	const char *params[] = {r->user_id, r->tenant_id};
	pg_query_prepared(((app_t *)r->app)->pg, me_sql, 2, params, me_done, r);
}

void api_auth_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "POST", "/api/auth/register", auth_register, ROUTE_PUBLIC,
		   "Create a company (tenant) and its owner; returns the user, tenant and tokens");
	http_route(s, "POST", "/api/auth/login", auth_login, ROUTE_PUBLIC,
		   "Sign in with e-mail and password; returns the user, tenant and tokens");
	http_route(s, "POST", "/api/auth/refresh", auth_refresh, ROUTE_PUBLIC,
		   "Trade a refresh token for new tokens (rotation; a reused token revokes the "
		   "session)");
	http_route(s, "POST", "/api/auth/logout", auth_logout, ROUTE_AUTH,
		   "Sign out: revoke the session of the given refresh token");
	http_route(s, "GET", "/api/auth/me", auth_me, ROUTE_AUTH,
		   "The signed-in user, their tenant and their permissions");
}
