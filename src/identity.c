/* Shared pieces of the identity handlers: rendering, token issuing, client metadata, errors. */
#include "identity.h"
#include "log.h"
#include "pg.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *str_or_null(const PGresult *res, int row, int col)
{
	const char *v = pg_value(res, row, col);
	return v ? json_string(v) : json_null();
}

json_t *identity_user_json(const PGresult *res, int row, int c)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:b, s:o, s:s, s:s}", "id",
			 pg_value(res, row, c), "email", pg_value(res, row, c + 1), "fullName",
			 pg_value(res, row, c + 2), "tenantId", pg_value(res, row, c + 3), "role",
			 pg_value(res, row, c + 4), "phone", str_or_null(res, row, c + 5),
			 "timezone", pg_value(res, row, c + 6), "language",
			 pg_value(res, row, c + 7), "active", pg_bool(res, row, c + 8),
			 "lastLoginAt", str_or_null(res, row, c + 9), "createdAt",
			 pg_value(res, row, c + 10), "updatedAt", pg_value(res, row, c + 11));
}

json_t *identity_tenant_json(const PGresult *res, int row, int c)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:s}", "id", pg_value(res, row, c), "name",
			 pg_value(res, row, c + 1), "plan", pg_value(res, row, c + 2), "active",
			 pg_bool(res, row, c + 3), "createdAt", pg_value(res, row, c + 4));
}

bool identity_refresh_new(req_t *r, refresh_pair_t *out)
{
	if (!tokens_refresh_new(out->token)) {
		log_error("identity: the random generator failed");
		http_error(r, 500, "INTERNAL", "Something went wrong on our side.", NULL);
		return false;
	}
	tokens_hash(out->token, out->hash);
	return true;
}

json_t *identity_tokens(req_t *r, const char *user_id, const char *tenant_id, const char *role,
			const char *refresh)
{
	const app_t *app = r->app;
	char *access = tokens_access_new(app->cfg.jwt_secret, (long)time(NULL), app->cfg.jwt_ttl_s,
					 user_id, tenant_id, role);
	if (!access) {
		log_error("identity: signing an access token failed");
		http_error(r, 500, "INTERNAL", "Something went wrong on our side.", NULL);
		return NULL;
	}
	json_t *t = json_pack("{s:s, s:s, s:s, s:i}", "accessToken", access, "refreshToken",
			      refresh, "tokenType", "Bearer", "expiresIn", app->cfg.jwt_ttl_s);
	free(access);
	return t;
}

void identity_client(req_t *r, const char **user_agent, const char **ip)
{
	const char *ua = http_header(r, "User-Agent");
	*user_agent = NULL;
	if (ua && *ua) {
		size_t n = strlen(ua) > 255 ? 255 : strlen(ua);
		char *copy = arena_strndup(r->arena, ua, n);
		for (char *p = copy; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		*user_agent = copy;
	}
	*ip = r->client_ip[0] ? r->client_ip : NULL;
}

void identity_db_error(req_t *r, const char *what, const PGresult *res, const char *err)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	log_error("%s: query failed: sqlstate=%s %s", what, res ? pg_sqlstate(res) : "-",
		  primary ? primary : err);
	if (!res)
		http_error(r, 503, "UNAVAILABLE", "The database is unavailable; retry shortly.",
			   NULL);
	else
		http_error(r, 500, "INTERNAL", "Something went wrong on our side.", NULL);
}
