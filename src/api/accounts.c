/* GET /api/accounts: the tenant's accounts of every channel (?channel= one of them). */
#include "accounts.h"
#include "api.h"
#include "channel.h"
#include "identity.h"
#include "permissions.h"

static void listed(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "accounts: list", res, err);
		return;
	}
	json_t *accounts = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *a = json_loads(PQgetvalue(res, i, 0), 0, NULL);
		json_array_append_new(accounts, a ? a : json_null());
	}
	http_ok(r, 200, json_pack("{s:o, s:i}", "accounts", accounts, "total", PQntuples(res)),
		NULL);
}

static void list(req_t *r)
{
	if (!perm_require(r, "accounts.view"))
		return;
	const char *channel = http_query(r, "channel");
	if (channel && !channel_find(channel)) {
		http_invalid(r, http_problem(NULL, "channel", "must be the name of a channel"));
		return;
	}
	accounts_list(r->app, r->tenant_id, channel, listed, r);
}

void api_accounts_routes(app_t *app)
{
	http_route(app->http, "GET", "/api/accounts", list, ROUTE_AUTH,
		   "The tenant's accounts of every channel (?channel= filters): {accounts, total}");
}
