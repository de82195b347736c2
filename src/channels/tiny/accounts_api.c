/* Connecting a Tiny account (POST /api/tiny-accounts {apiToken, accountName?}): the company's API
 * token answers a real call before anything is stored, and is stored only sealed. The account
 * is known by the token's fingerprint (v2 names no company id to a token's holder); its plan and
 * calls per minute come from the test call's x-limit-api. The rest of /api/tiny-accounts is the
 * core's (src/api/channel_accounts.c). */
#include "accounts.h"
#include "arena.h"
#include "client.h"
#include "crypto.h"
#include "identity.h"
#include "permissions.h"
#include "account.h"
#include "tiny.h"
#include "token_proof.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT_NAME_MAXCHAR 100

typedef struct connect {
	req_t *r;
	const char *account_name;
	long limit; /* x-limit-api of the test call */
} connect_t;

static void stored(const PGresult *res, const char *err, void *arg)
{
	connect_t *c = arg;
	req_t *r = c->r;
	if (err) {
		identity_db_error(r, "tiny: store account", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 409, "ACCOUNT_EXISTS", "This Tiny account is already connected.",
			   NULL);
		return;
	}
	json_t *a = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	/* Its bucket at its plan from the first call on. */
	tiny_learn_limit(r->app, json_string_value(json_object_get(a, "id")), c->limit);
	http_ok(r, 201, a, "Tiny account connected");
}

static void proved(req_t *r, const char *token, char *sealed, long limit, void *arg)
{
	connect_t *c = arg;
	char hash[CRYPTO_SHA256_HEX + 1];
	crypto_sha256_hex(token, strlen(token), hash);
	const char *external = arena_printf(r->arena, "tiny-%.16s", hash);
	c->limit = limit;
	const char *per_minute = limit > 0 ? arena_printf(r->arena, "%ld", limit) : NULL;
	const char *params[] = {r->tenant_id,	       external,   c->account_name,
				tiny_plan_name(limit), per_minute, sealed};
	tiny_account_insert(r->app, params, stored, c);
	free(sealed); /* the statement has its own copy of the parameters */
}

static void create(req_t *r)
{
	if (!perm_require(r, "accounts.manage"))
		return;
	connect_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	json_t *d = NULL;
	const char *token = tiny_token_field(r, &d);
	c->account_name =
	    validate_string(r, "accountName", V_OPTIONAL, ACCOUNT_NAME_MAXCHAR, &d, NULL);
	if (d) {
		http_invalid(r, d);
		return;
	}
	tiny_token_prove(r, token, "The account could not be stored.", proved, c);
}

void tiny_accounts_routes(app_t *app)
{
	http_route(app->http, "POST", "/api/tiny-accounts", create, ROUTE_AUTH,
		   "Connect a Tiny ERP company by its API token: {apiToken, accountName?} -> 201 "
		   "account (plan, callsPerMinute); 400 a refused token; 409 already connected");
}
