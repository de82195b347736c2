/* A new token for a Tiny account (PUT /api/tiny-accounts/:id/token {apiToken}): the token
 * answers a real call before it is stored, sealed; an account Tiny had refused (expired) is
 * active again and the orders it held are sent now. */
#include "account.h"
#include "identity.h"
#include "permissions.h"
#include "tiny.h"
#include "token_proof.h"
#include "validate.h"

#include <stdlib.h>

static void stored(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
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

static void proved(req_t *r, const char *token, char *sealed, long limit, void *arg)
{
	const char *params[] = {r->tenant_id, http_param(r, "id"), sealed};
	tiny_account_set_token(r->app, params, stored, r);
	free(sealed); /* the statement has its own copy of the parameters */
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
	const char *token = tiny_token_field(r, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	tiny_token_prove(r, token, "The token could not be stored.", proved, NULL);
}

void tiny_token_routes(app_t *app)
{
	http_route(app->http, "PUT", "/api/tiny-accounts/:id/token", put_token, ROUTE_AUTH,
		   "Replace a Tiny account's API token {apiToken} (tested first); an expired "
		   "account is active again and its held orders are sent -> 200 account");
}
