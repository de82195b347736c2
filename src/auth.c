/* Access-token check for every authenticated route.
 *
 * A JWT alone cannot be taken back, so each request also reads its user's row: one prepared
 * primary-key lookup (about 0.1 ms) instead of a cache. That makes deactivating a user,
 * suspending a tenant or changing a role take effect on the very next request in every process,
 * with no invalidation protocol to get wrong. The role used for permissions is the one in the
 * database, not the (up to 15 minutes old) one in the token. */
#include "auth.h"
#include "log.h"
#include "pg.h"
#include "tokens.h"
#include "util.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char user_state_sql[] = "SELECT u.role, u.active, t.active FROM users u "
				     "JOIN tenants t ON t.id = u.tenant_id "
				     "WHERE u.id = $1 AND u.tenant_id = $2";

static void refuse(req_t *r, const char *code, const char *message)
{
	char challenge[96];
	snprintf(challenge, sizeof(challenge), "Bearer error=\"%s\"",
		 strcmp(code, "NO_TOKEN") == 0 ? "invalid_request" : "invalid_token");
	http_set_header(r, "WWW-Authenticate", challenge);
	http_error(r, 401, code, message, NULL);
}

static void user_state(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		log_error("auth: user lookup failed: %s", primary ? primary : err);
		http_error(r, 503, "UNAVAILABLE", "The database is unavailable; retry shortly.",
			   NULL);
		return;
	}
	if (PQntuples(res) != 1) {
		refuse(r, "TOKEN_INVALID", "The access token's user no longer exists.");
		return;
	}
	if (!pg_bool(res, 0, 1)) {
		http_error(r, 403, "ACCOUNT_DISABLED", "This user account has been deactivated.",
			   NULL);
		return;
	}
	if (!pg_bool(res, 0, 2)) {
		http_error(r, 403, "TENANT_SUSPENDED", "This company's access is suspended.", NULL);
		return;
	}
	r->role = arena_strdup(r->arena, pg_value(res, 0, 0));
	http_continue(r);
}

static void auth_hook(req_t *r)
{
	app_t *app = r->app;
	const char *h = http_header(r, "Authorization");
	if (!h || !*h) {
		refuse(r, "NO_TOKEN", "Sign in first: send Authorization: Bearer <accessToken>.");
		return;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		refuse(r, "TOKEN_INVALID",
		       "The Authorization header must be Bearer <accessToken>.");
		return;
	}
	access_claims_t c;
	switch (tokens_access_verify(app->cfg.jwt_secret, h + 7, (long)time(NULL), &c)) {
	case TOKEN_EXPIRED:
		refuse(r, "TOKEN_EXPIRED", "The access token has expired; refresh it.");
		return;
	case TOKEN_INVALID:
		refuse(r, "TOKEN_INVALID", "The access token is not valid.");
		return;
	case TOKEN_OK:
		break;
	}
	if (!validate_uuid(c.sub) || !validate_uuid(c.tid)) {
		refuse(r, "TOKEN_INVALID", "The access token is not valid.");
		return;
	}
	r->user_id = arena_strdup(r->arena, c.sub);
	r->tenant_id = arena_strdup(r->arena, c.tid);
	const char *params[] = {r->user_id, r->tenant_id};
	pg_query_prepared(app->pg, user_state_sql, 2, params, user_state, r);
}

void auth_install(app_t *app)
{
	http_add_hook(app->http, "/api", auth_hook, true);
}
