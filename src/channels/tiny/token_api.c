/* A new token for a Tiny account (PUT /api/tiny-accounts/:id/token {apiToken}): the token
 * answers a real call before it is stored, sealed; an account Tiny had refused (expired) is
 * active again and the orders it held are sent now. */
#include "account.h"
#include "arena.h"
#include "client.h"
#include "crypto.h"
#include "errors.h"
#include "httpc.h"
#include "identity.h"
#include "log.h"
#include "permissions.h"
#include "tiny.h"
#include "upkeep.h"
#include "validate.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

typedef struct renew {
	req_t *r;
	char *token; /* in the arena; cleared once done */
	char *sealed;
} renew_t;

static void renew_clear(renew_t *c)
{
	explicit_bzero(c->token, strlen(c->token));
	free(c->sealed);
	c->sealed = NULL;
}

static void stored(const PGresult *res, const char *err, void *arg)
{
	renew_t *c = arg;
	req_t *r = c->r;
	renew_clear(c);
	if (err) {
		identity_db_error(r, "tiny: store token", res, err);
		return;
	}
	json_t *a = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
	if (!a) {
		http_error(r, 404, "NOT_FOUND", "No such Tiny account.", NULL);
		return;
	}
	http_ok(r, 200, a, "Tiny token replaced");
}

static void tested(const tiny_result_t *res, void *arg)
{
	renew_t *c = arg;
	req_t *r = c->r;
	if (res->err == CHANNEL_ERR_UNAUTHORIZED || res->err == CHANNEL_ERR_FORBIDDEN) {
		renew_clear(c);
		http_invalid(r, http_problem(NULL, "apiToken",
					     arena_printf(r->arena, "was refused by Tiny (%s)",
							  res->message)));
		return;
	}
	if (res->err != CHANNEL_OK) {
		renew_clear(c);
		tiny_error_reply(r, res->err, "Testing the Tiny token", res->message);
		return;
	}
	crypto_keys_t keys;
	upkeep_keys(r->app, &keys);
	c->sealed = crypto_seal(&keys, c->token);
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (!c->sealed) {
		renew_clear(c);
		log_error("tiny: sealing the token failed");
		http_error(r, 500, "INTERNAL", "The token could not be stored.", NULL);
		return;
	}
	const char *params[] = {r->tenant_id, http_param(r, "id"), c->sealed};
	tiny_account_set_token(r->app, params, stored, c);
}

static void put_token(req_t *r)
{
	if (!perm_require(r, "accounts.manage"))
		return;
	if (!validate_uuid(http_param(r, "id"))) {
		http_error(r, 404, "NOT_FOUND", "No such Tiny account.", NULL);
		return;
	}
	json_t *d = NULL;
	const char *token =
	    validate_string(r, "apiToken", V_REQUIRED | V_RAW, TINY_TOKEN_MAX, &d, NULL);
	if (token && strspn(token, TINY_TOKEN_CHARS) != strlen(token))
		d = http_problem(d, "apiToken", "must be the token of Tiny's API extension");
	if (d) {
		http_invalid(r, d);
		return;
	}
	renew_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	c->token = arena_strdup(r->arena, token);
	/* A search matching nothing is the cheapest call that proves the token (codigo 20). */
	char form[128] = "";
	httpc_form_add(form, sizeof(form), "pesquisa", "sellerhub-token-test");
	tiny_call_with_token(r->app, NULL, c->token, "produtos.pesquisa", form, tested, c);
}

void tiny_token_routes(app_t *app)
{
	http_route(app->http, "PUT", "/api/tiny-accounts/:id/token", put_token, ROUTE_AUTH,
		   "Replace a Tiny account's API token {apiToken} (tested first); an expired "
		   "account is active again and its held orders are sent -> 200 account");
}
