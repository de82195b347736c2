/* What the identity handlers (src/api/auth.c, src/api/users.c) share: the user and tenant
 * columns and their JSON, issuing a session's tokens, and answering database failures without
 * leaking row contents into logs or bodies. */
#ifndef SH_IDENTITY_H
#define SH_IDENTITY_H

#include <jansson.h>
#include <libpq-fe.h>

#include "app.h"
#include "http.h"
#include "tokens.h"

#define SQL_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Selected by every user query, in this order, for identity_user_json(). */
#define IDENTITY_USER_COLS                                                                         \
	"u.id, u.email, u.full_name, u.tenant_id, u.role, u.phone, u.timezone, u.language, "       \
	"u.active, " SQL_ISO("u.last_login_at") ", " SQL_ISO("u.created_at") ", " SQL_ISO(         \
	    "u.updated_at")
#define IDENTITY_USER_NCOLS   12
#define IDENTITY_TENANT_COLS  "t.id, t.name, t.plan, t.active, " SQL_ISO("t.created_at")
#define IDENTITY_TENANT_NCOLS 5

json_t *identity_user_json(const PGresult *res, int row, int col);
json_t *identity_tenant_json(const PGresult *res, int row, int col);

/* A new refresh token and its hash for storing (the token itself is never stored). */
typedef struct refresh_pair {
	char token[TOKENS_REFRESH_LEN + 1];
	char hash[TOKENS_HASH_LEN + 1];
} refresh_pair_t;
/* False (and a 500 answered) if the RNG failed. */
bool identity_refresh_new(req_t *r, refresh_pair_t *out);

/* {accessToken, refreshToken, tokenType, expiresIn}, or NULL (and a 500 answered). */
json_t *identity_tokens(req_t *r, const char *user_id, const char *tenant_id, const char *role,
			const char *refresh);

/* The client's user agent (printable ASCII, at most 255) and address for a refresh-token row;
 * either may be NULL. */
void identity_client(req_t *r, const char **user_agent, const char **ip);

/* Answer a failed query: 503 when the database is unreachable, else 500. Logs the SQLSTATE and
 * primary message only: DETAIL lines can quote row values (a password hash). */
void identity_db_error(req_t *r, const char *what, const PGresult *res, const char *err);

#endif
