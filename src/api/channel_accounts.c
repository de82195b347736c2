/* /api/<channel>-accounts for the channels that name one (channel_t.accounts_path): the
 * handling every channel's accounts share — list, one, change, remove, pause and resume — so a
 * channel writes only how an account is connected (its POST). A channel whose accounts API
 * predates the seam keeps its own and names no accounts_path. */
#include "accounts.h"
#include "api.h"
#include "channel.h"
#include "identity.h"
#include "permissions.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

#define SYNC_INTERVAL_MIN 60000
#define SYNC_INTERVAL_MAX 86400000

/* The channel whose accounts path the request's path starts with. */
static const channel_t *channel_of(const req_t *r)
{
	for (size_t i = 0; channels[i]; i++) {
		const char *p = channels[i]->accounts_path;
		size_t n = p ? strlen(p) : 0;
		if (n && strncmp(r->path, p, n) == 0 && (r->path[n] == '/' || !r->path[n]))
			return channels[i];
	}
	return NULL; /* not reached: only those paths are routed here */
}

static void not_found(req_t *r)
{
	const channel_t *ch = channel_of(r);
	char msg[120];
	snprintf(msg, sizeof(msg), "No such %s account.", ch ? ch->title : "");
	http_error(r, 404, "NOT_FOUND", msg, NULL);
}

/* The :id parameter when it can name an account; answers 404 otherwise. */
static const char *id_param(req_t *r)
{
	const char *id = http_param(r, "id");
	if (!validate_uuid(id)) {
		not_found(r);
		return NULL;
	}
	return id;
}

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
	if (perm_require(r, "accounts.view"))
		accounts_list(r->app, r->tenant_id, channel_of(r)->name, listed, r);
}

/* One account's row (accounts_find, accounts_change): the account, or 404. */
static void one(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "accounts: read", res, err);
		return;
	}
	json_t *a = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
	if (!a) {
		not_found(r);
		return;
	}
	http_ok(r, 200, a, NULL);
}

static void get(req_t *r)
{
	const char *id;
	if (perm_require(r, "accounts.view") && (id = id_param(r)))
		accounts_find(r->app, r->tenant_id, channel_of(r)->name, id, one, r);
}

static void update(req_t *r)
{
	const char *id;
	if (!perm_require(r, "accounts.manage") || !(id = id_param(r)))
		return;
	json_t *d = NULL;
	accounts_edit_t change = {0};
	change.name =
	    validate_string(r, "accountName", V_NULLABLE, NAME_MAX_CHARS, &d, &change.has_name);
	json_t *iv = r->body ? json_object_get(r->body, "syncInterval") : NULL;
	if (iv && !json_is_null(iv)) {
		json_int_t v = json_is_integer(iv) ? json_integer_value(iv) : -1;
		if (v < SYNC_INTERVAL_MIN || v > SYNC_INTERVAL_MAX)
			d = http_problem(d, "syncInterval",
					 "must be an integer number of milliseconds between 60000 "
					 "and 86400000");
		else
			change.interval_ms = arena_printf(r->arena, "%lld", (long long)v);
	}
	if (d) {
		http_invalid(r, d);
		return;
	}
	accounts_change(r->app, r->tenant_id, channel_of(r)->name, id, &change, one, r);
}

static void deleted(PGresult *const *results, int n, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "accounts: delete", n > 1 ? results[1] : NULL, err);
		return;
	}
	if (PQntuples(results[1]) != 1) {
		not_found(r);
		return;
	}
	http_ok(r, 200, NULL, "Account removed successfully");
}

static void remove_account(req_t *r)
{
	const char *id;
	if (perm_require(r, "accounts.manage") && (id = id_param(r)))
		accounts_remove(r->app, r->tenant_id, channel_of(r)->name, id, deleted, r);
}

static void toggled(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "accounts: pause/resume", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		not_found(r);
		return;
	}
	bool enabled = pg_bool(res, 0, 2);
	http_ok(r, 200,
		json_pack("{s:s, s:s, s:b}", "id", pg_value(res, 0, 0), "status",
			  pg_value(res, 0, 1), "syncEnabled", enabled),
		enabled ? "Account synchronization resumed" : "Account synchronization paused");
}

static void toggle(req_t *r, bool enabled)
{
	const char *id;
	if (perm_require(r, "accounts.manage") && (id = id_param(r)))
		accounts_set_sync(r->app, r->tenant_id, channel_of(r)->name, id, enabled, toggled,
				  r);
}

static void pause_account(req_t *r)
{
	toggle(r, false);
}

static void resume_account(req_t *r)
{
	toggle(r, true);
}

void api_channel_accounts_routes(app_t *app)
{
	for (size_t i = 0; channels[i]; i++) {
		const char *base = channels[i]->accounts_path;
		if (!base)
			continue;
		char p[128];
		http_route(app->http, "GET", base, list, ROUTE_AUTH,
			   "A channel's accounts of the tenant: {accounts, total}");
		snprintf(p, sizeof(p), "%s/:id", base); /* the router copies patterns */
		http_route(app->http, "GET", p, get, ROUTE_AUTH, "One account");
		http_route(app->http, "PUT", p, update, ROUTE_AUTH,
			   "Change an account: {accountName?, syncInterval?}");
		http_route(app->http, "DELETE", p, remove_account, ROUTE_AUTH,
			   "Remove an account and what was synced from it");
		snprintf(p, sizeof(p), "%s/:id/pause", base);
		http_route(app->http, "PUT", p, pause_account, ROUTE_AUTH,
			   "Pause an account's scheduled sync: {id, status, syncEnabled}");
		snprintf(p, sizeof(p), "%s/:id/resume", base);
		http_route(app->http, "PUT", p, resume_account, ROUTE_AUTH,
			   "Resume an account's scheduled sync: {id, status, syncEnabled}");
	}
}
