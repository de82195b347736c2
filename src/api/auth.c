/* /api/auth: register, login, refresh, logout, me. Passwords are hashed and verified on the
 * worker threads; every session is a refresh-token family whose tokens rotate on each use
 * (sessions.h). */
#include "api.h"
#include "auth.h"
#include "identity.h"
#include "log.h"
#include "passwords.h"
#include "permissions.h"
#include "sessions.h"
#include "throttle.h"
#include "users.h"
#include "util.h"
#include "validate.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const languages[] = {"pt-BR", "en-US", "es", NULL};

static void internal_error(req_t *r)
{
	http_error(r, 500, "INTERNAL", "Something went wrong on our side.", NULL);
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
	if (identity_refresh_new(r, &s->refresh)) {
		session_token_t t = {.hash = s->refresh.hash};
		identity_client(r, &t.user_agent, &t.ip);
		const register_body_t *in = &s->in;
		session_signup_t f = {.company = in->company,
				      .email = in->email,
				      .password_hash = hash,
				      .full_name = in->full_name,
				      .phone = in->phone,
				      .timezone = in->timezone,
				      .language = in->language};
		sessions_sign_up(r->app, &f, &t, register_done, s);
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
		if (l->found)
			sessions_sign_in_failed(app, l->user_id);
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
	session_token_t t = {.hash = l->refresh.hash};
	identity_client(r, &t.user_agent, &t.ip);
	sessions_sign_in(app, l->user_id, &t, login_done, l);
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
	sessions_credentials(l->r->app, l->email, login_found, l);
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
	session_token_t t = {.hash = rot->next.hash};
	identity_client(r, &t.user_agent, &t.ip);
	sessions_rotate(r->app, old, &t, refresh_done, rot);
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
	sessions_end(r->app, r->user_id, hash, logout_done, r);
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
	users_get_with_tenant(r->app, r->tenant_id, r->user_id, me_done, r);
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
