/* Connecting a Tiny account (POST /api/tiny-accounts {apiToken, accountName?}): the company's API
 * token answers a real call before anything is stored, and is stored only sealed. The account
 * is known by the token's fingerprint (v2 names no company id to a token's holder); its plan and
 * calls per minute come from the test call's x-limit-api. The rest of /api/tiny-accounts is the
 * core's (src/api/channel_accounts.c). */
#include "accounts.h"
#include "arena.h"
#include "client.h"
#include "crypto.h"
#include "errors.h"
#include "identity.h"
#include "log.h"
#include "permissions.h"
#include "account.h"
#include "tiny.h"
#include "upkeep.h"
#include "validate.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT_NAME_MAXCHAR 100

typedef struct connect {
	req_t *r;
	char *token; /* cleared once done */
	const char *account_name;
	char *sealed;
	long limit; /* x-limit-api of the test call */
} connect_t;

static void connect_clear(connect_t *c)
{
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->sealed);
	c->sealed = NULL;
}

static void stored(const PGresult *res, const char *err, void *arg)
{
	connect_t *c = arg;
	req_t *r = c->r;
	connect_clear(c);
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

static void tested(const tiny_result_t *res, void *arg)
{
	connect_t *c = arg;
	req_t *r = c->r;
	if (res->err != CHANNEL_OK) {
		if (res->err == CHANNEL_ERR_UNAUTHORIZED || res->err == CHANNEL_ERR_FORBIDDEN) {
			connect_clear(c);
			http_invalid(r,
				     http_problem(NULL, "apiToken",
						  arena_printf(r->arena, "was refused by Tiny (%s)",
							       res->message)));
			return;
		}
		connect_clear(c);
		tiny_error_reply(r, res->err, "Testing the Tiny token", res->message);
		return;
	}
	crypto_keys_t keys;
	upkeep_keys(r->app, &keys);
	c->sealed = crypto_seal(&keys, c->token);
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (!c->sealed) {
		connect_clear(c);
		log_error("tiny: sealing the token failed");
		http_error(r, 500, "INTERNAL", "The account could not be stored.", NULL);
		return;
	}
	char hash[CRYPTO_SHA256_HEX + 1];
	crypto_sha256_hex(c->token, strlen(c->token), hash);
	const char *external = arena_printf(r->arena, "tiny-%.16s", hash);
	long limit = c->limit = res->limit;
	const char *per_minute = limit > 0 ? arena_printf(r->arena, "%ld", limit) : NULL;
	const char *params[] = {r->tenant_id,	       external,   c->account_name,
				tiny_plan_name(limit), per_minute, c->sealed};
	tiny_account_insert(r->app, params, stored, c);
}

static void create(req_t *r)
{
	if (!perm_require(r, "accounts.manage"))
		return;
	connect_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	json_t *d = NULL;
	const char *token =
	    validate_string(r, "apiToken", V_REQUIRED | V_RAW, TINY_TOKEN_MAX, &d, NULL);
	c->account_name =
	    validate_string(r, "accountName", V_OPTIONAL, ACCOUNT_NAME_MAXCHAR, &d, NULL);
	if (token && strspn(token, TINY_TOKEN_CHARS) != strlen(token))
		d = http_problem(d, "apiToken", "must be the token of Tiny's API extension");
	if (d) {
		http_invalid(r, d);
		return;
	}
	c->token = arena_strdup(r->arena, token);
	/* A search matching nothing is the cheapest call that proves the token (codigo 20). */
	char form[128] = "";
	httpc_form_add(form, sizeof(form), "pesquisa", "sellerhub-token-test");
	tiny_call_with_token(r->app, NULL, c->token, "produtos.pesquisa", form, tested, c);
}

void tiny_accounts_routes(app_t *app)
{
	http_route(app->http, "POST", "/api/tiny-accounts", create, ROUTE_AUTH,
		   "Connect a Tiny ERP company by its API token: {apiToken, accountName?} -> 201 "
		   "account (plan, callsPerMinute); 400 a refused token; 409 already connected");
}
