/* /api/ml-accounts: a tenant's Mercado Livre accounts. The accounts are account.h's (every
 * statement filters by the caller's tenant, so another tenant's id is simply not found: 404);
 * this file parses, authorizes, calls it and renders. */
#include "api.h"
#include "errors.h"
#include "ml.h"
#include "identity.h"
#include "account.h"
#include "client.h"
#include "summary.h"
#include "token.h"
#include "permissions.h"
#include "util.h"
#include "validate.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 2048

static const char *const account_types[] = {"store", "individual", "business", NULL};

static void not_found(req_t *r)
{
	http_error(r, 404, "NOT_FOUND", "No such Mercado Livre account.", NULL);
}

/* The :id parameter when it can name an account; answers 404 otherwise. */
static const char *account_id_param(req_t *r)
{
	const char *id = http_param(r, "id");
	if (!validate_uuid(id)) {
		not_found(r);
		return NULL;
	}
	return id;
}

/* --- create --------------------------------------------------------------------------------- */

/* "2024-01-25T18:00:00Z", with optional seconds fraction and a Z or ±hh:mm offset. */
static bool iso_time(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd";
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	s += sizeof(shape) - 1;
	if (*s == ':' && isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]))
		s += 3;
	if (*s == '.' && isdigit((unsigned char)s[1]))
		for (s++; isdigit((unsigned char)*s); s++)
			;
	if (*s == 'Z')
		return s[1] == '\0';
	return (*s == '+' || *s == '-') && isdigit((unsigned char)s[1]) &&
	       isdigit((unsigned char)s[2]) &&
	       (s[3] == '\0' || (s[3] == ':' && isdigit((unsigned char)s[4]) &&
				 isdigit((unsigned char)s[5]) && s[6] == '\0'));
}

/* mlUserId as a JSON integer or a string of digits; Mercado Livre ids exceed Int32. */
static const char *ml_user_id_field(req_t *r, json_t **d)
{
	json_t *v = r->body ? json_object_get(r->body, "mlUserId") : NULL;
	if (!v || json_is_null(v)) {
		*d = http_problem(*d, "mlUserId", "is required");
		return NULL;
	}
	long long id = 0;
	if (json_is_integer(v)) {
		id = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end = NULL;
		id = (*s && strlen(s) <= 19 && isdigit((unsigned char)*s)) ? strtoll(s, &end, 10)
									   : 0;
		if (!end || *end)
			id = 0;
	}
	if (id <= 0) {
		*d = http_problem(*d, "mlUserId",
				  "must be a positive integer (as a number or string)");
		return NULL;
	}
	return arena_printf(r->arena, "%lld", id);
}

typedef struct creation {
	req_t *r;
	ml_account_new_t a;
} creation_t;

static void create_done(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		if (strncmp(res ? pg_sqlstate(res) : "", "22", 2) == 0) {
			http_invalid(r, http_problem(NULL, "tokenExpiresAt",
						     "must be an ISO-8601 date and time"));
			return;
		}
		identity_db_error(r, "ml_accounts: create", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 409, "ACCOUNT_EXISTS",
			   "This Mercado Livre account is already connected",
			   http_problem(NULL, "mlUserId", "is already connected to this company"));
		return;
	}
	http_ok(r, 201, ml_account_json(res, 0, 0, true), "Account added successfully");
}

static void tokens_checked(const ml_result_t *res, const ml_user_t *me, void *arg)
{
	creation_t *c = arg;
	req_t *r = c->r;
	if (!me) {
		ml_error_reply(r, ML_ASK_TOKEN_CHECK, res->err,
			       "Checking the tokens with Mercado Livre failed", res->message);
		return;
	}
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, me->id);
	if (strcmp(id, c->a.ml_user_id) != 0) {
		http_invalid(r,
			     http_problem(NULL, "accessToken",
					  "belongs to another Mercado Livre user than mlUserId"));
		return;
	}
	if (!ml_accounts_create(r->app, r->tenant_id, &c->a, create_done, r))
		http_error(r, 500, "INTERNAL", "Something went wrong on our side.", NULL);
}

json_t *ml_account_body_check(req_t *r, ml_account_body_t *b)
{
	json_t *d = NULL;
	b->ml_user_id = ml_user_id_field(r, &d);
	b->nickname = validate_string(r, "nickname", V_REQUIRED, NAME_MAX_CHARS, &d, NULL);
	b->email = validate_string(r, "email", V_REQUIRED, EMAIL_MAX, &d, NULL);
	if (b->email && !validate_email(b->email))
		d = http_problem(d, "email", "must be an email address");
	b->access = validate_string(r, "accessToken", V_REQUIRED | V_RAW, TOKEN_MAX, &d, NULL);
	b->refresh = validate_string(r, "refreshToken", V_REQUIRED | V_RAW, TOKEN_MAX, &d, NULL);
	b->expires = validate_string(r, "tokenExpiresAt", V_REQUIRED, 64, &d, NULL);
	if (b->expires && !iso_time(b->expires))
		d = http_problem(d, "tokenExpiresAt",
				 "must be an ISO-8601 date and time (2024-01-25T18:00:00Z)");
	b->name = validate_string(r, "accountName", V_NULLABLE, NAME_MAX_CHARS, &d, NULL);
	b->type = validate_enum(r, "accountType", V_OPTIONAL, account_types, &d);
	return d;
}

static void accounts_create(req_t *r)
{
	if (!perm_require(r, "accounts.manage"))
		return;
	ml_account_body_t b;
	json_t *d = ml_account_body_check(r, &b);
	if (d) {
		http_invalid(r, d);
		return;
	}
	creation_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	c->a = (ml_account_new_t){.ml_user_id = b.ml_user_id,
				  .nickname = b.nickname,
				  .email = b.email,
				  .access_token = b.access,
				  .refresh_token = b.refresh,
				  .expires_at = b.expires,
				  .account_name = b.name,
				  .account_type = b.type};
	/* The tokens must be the seller's: a made-up pair for another tenant's seller would show
	 * that seller's notifications here and take them for an account that cannot fetch. */
	ml_users_me(r->app, b.access, tokens_checked, c);
}

/* --- list and read ---------------------------------------------------------------------------- */

static void list_done(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "ml_accounts: list", res, err);
		return;
	}
	json_t *accounts = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(accounts, ml_account_json(res, i, 0, false));
	http_ok(r, 200, json_pack("{s:o, s:i}", "accounts", accounts, "total", PQntuples(res)),
		NULL);
}

static void list_accounts(req_t *r)
{
	if (!perm_require(r, "accounts.view"))
		return;
	ml_accounts_list(r->app, r->tenant_id, list_done, r);
}

static void get_done(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "ml_accounts: get", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		not_found(r);
		return;
	}
	http_ok(r, 200, ml_account_json(res, 0, 0, true), NULL);
}

static void accounts_get(req_t *r)
{
	const char *id;
	if (!perm_require(r, "accounts.view") || !(id = account_id_param(r)))
		return;
	ml_accounts_find(r->app, r->tenant_id, id, get_done, r);
}

/* --- update ----------------------------------------------------------------------------------- */

static void update_done(const PGresult *res, const char *err, bool refused, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "ml_accounts: update", res, err);
		return;
	}
	if (PQntuples(res) == 1) {
		http_ok(r, 200, ml_account_json(res, 0, 0, true), "Account updated successfully");
		return;
	}
	if (refused) {
		http_error(r, 409, "PRIMARY_REQUIRED",
			   "A company with accounts keeps one primary account: make another "
			   "account primary instead.",
			   http_problem(NULL, "isPrimary", "cannot un-mark the primary account"));
		return;
	}
	not_found(r);
}

static void accounts_update(req_t *r)
{
	const char *id;
	if (!perm_require(r, "accounts.manage") || !(id = account_id_param(r)))
		return;
	json_t *d = NULL;
	ml_account_change_t c = {0};
	c.account_name =
	    validate_string(r, "accountName", V_NULLABLE, NAME_MAX_CHARS, &d, &c.has_name);
	c.primary = validate_bool(r, "isPrimary", &d, &c.has_primary);
	c.notifications = validate_bool(r, "notificationsEnabled", &d, &c.has_notifications);
	json_t *iv = r->body ? json_object_get(r->body, "syncInterval") : NULL;
	if (iv && !json_is_null(iv)) {
		json_int_t v = json_is_integer(iv) ? json_integer_value(iv) : -1;
		if (v < ML_SYNC_INTERVAL_MIN || v > ML_SYNC_INTERVAL_MAX)
			d = http_problem(d, "syncInterval",
					 "must be an integer number of milliseconds between 60000 "
					 "and 86400000");
		c.has_interval = true;
		c.interval_ms = (long long)v;
	}
	if (d) {
		http_invalid(r, d);
		return;
	}
	ml_accounts_update(r->app, r->tenant_id, id, &c, update_done, r);
}

/* --- delete ----------------------------------------------------------------------------------- */

static void delete_done(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		identity_db_error(r, "ml_accounts: delete", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		not_found(r);
		return;
	}
	http_ok(r, 200, NULL, "Account removed successfully");
}

static void accounts_delete(req_t *r)
{
	const char *id;
	if (!perm_require(r, "accounts.manage") || !(id = account_id_param(r)))
		return;
	ml_accounts_delete(r->app, r->tenant_id, id, delete_done, r);
}

/* --- pause and resume ------------------------------------------------------------------------ */

typedef struct toggle {
	req_t *r;
	const char *message;
} toggle_t;

static void toggle_done(const PGresult *res, const char *err, void *arg)
{
	toggle_t *t = arg;
	if (err) {
		identity_db_error(t->r, "ml_accounts: pause/resume", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		not_found(t->r);
		return;
	}
	http_ok(t->r, 200,
		json_pack("{s:s, s:s, s:b}", "id", pg_value(res, 0, 0), "status",
			  pg_value(res, 0, 1), "syncEnabled", pg_bool(res, 0, 2)),
		t->message);
}

static void toggle(req_t *r, bool sync_enabled, const char *message)
{
	const char *id;
	if (!perm_require(r, "accounts.manage") || !(id = account_id_param(r)))
		return;
	toggle_t *t = arena_calloc(r->arena, 1, sizeof(*t));
	t->r = r;
	t->message = message;
	ml_accounts_set_sync(r->app, r->tenant_id, id, sync_enabled, toggle_done, t);
}

static void accounts_pause(req_t *r)
{
	toggle(r, false, "Account synchronization paused");
}

static void accounts_resume(req_t *r)
{
	toggle(r, true, "Account synchronization resumed");
}

/* --- tokens ----------------------------------------------------------------------------------- */

typedef struct token_req {
	req_t *r;
	const char *id;
	bool refreshed; /* answer with the refresh shape */
} token_req_t;

static void token_row(const PGresult *res, const char *err, void *arg)
{
	token_req_t *t = arg;
	req_t *r = t->r;
	if (err) {
		identity_db_error(r, "ml_accounts: token", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		not_found(r);
		return;
	}
	ml_token_info_t info = ml_account_token_info(res, 0);
	const char *status = pg_value(res, 0, ML_ACCOUNT_COL_STATUS);
	const char *expiry = pg_value(res, 0, ML_ACCOUNT_COL_TOKEN_EXPIRES_AT);
	if (t->refreshed) {
		http_ok(r, 200,
			json_pack("{s:s, s:s, s:s, s:o}", "accountId", t->id, "status", status,
				  "tokenExpiresAt", expiry, "tokenInfo",
				  ml_token_info_json(&info, NULL, NULL, NULL)),
			"Token refreshed successfully");
		return;
	}
	json_t *ti =
	    ml_token_info_json(&info, t->id, pg_value(res, 0, ML_ACCOUNT_COL_ML_USER_ID), expiry);
	http_ok(r, 200,
		json_pack("{s:s, s:o, s:s}", "accountId", t->id, "tokenInfo", ti, "status", status),
		NULL);
}

static void token_read(token_req_t *t)
{
	ml_accounts_find(t->r->app, t->r->tenant_id, t->id, token_row, t);
}

static void refresh_done(const ml_result_t *res, const char *access_token, void *arg)
{
	token_req_t *t = arg;
	if (res->err != ML_OK) {
		ml_error_reply(t->r, ML_ASK_ACCOUNT, res->err, "Token refresh failed",
			       res->message);
		return;
	}
	token_read(t);
}

static void refresh_owned(const PGresult *res, const char *err, void *arg)
{
	token_req_t *t = arg;
	if (err) {
		identity_db_error(t->r, "ml_accounts: refresh", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		not_found(t->r);
		return;
	}
	ml_tokens_refresh(t->r->app, t->id, ML_REFRESH_MANUAL, NULL, refresh_done, t);
}

static token_req_t *token_req(req_t *r, const char *perm)
{
	const char *id;
	if (!perm_require(r, perm) || !(id = account_id_param(r)))
		return NULL;
	token_req_t *t = arena_calloc(r->arena, 1, sizeof(*t));
	t->r = r;
	t->id = id;
	return t;
}

static void accounts_refresh_token(req_t *r)
{
	token_req_t *t = token_req(r, "accounts.manage");
	if (!t)
		return;
	t->refreshed = true;
	ml_accounts_owned(r->app, r->tenant_id, t->id, refresh_owned, t);
}

static void accounts_token_info(req_t *r)
{
	token_req_t *t = token_req(r, "accounts.view");
	if (t)
		token_read(t);
}

/* --- sync ------------------------------------------------------------------------------------- */

static json_t *sync_data(const ml_sync_result_t *s)
{
	return json_pack("{s:I, s:I, s:I}", "products", (json_int_t)s->products, "orders",
			 (json_int_t)s->orders, "issues", (json_int_t)s->issues);
}

static void sync_one_done(const ml_sync_result_t *s, void *arg)
{
	req_t *r = arg;
	if (!s->found) {
		not_found(r);
		return;
	}
	if (!s->ok) {
		ml_error_reply(r, ML_ASK_ACCOUNT, s->err, "Failed to synchronize account",
			       s->error);
		return;
	}
	http_ok(r, 200,
		json_pack("{s:s, s:s, s:o}", "accountId", s->account_id, "syncedAt", s->synced_at,
			  "data", sync_data(s)),
		"Account synchronized successfully");
}

static void accounts_sync(req_t *r)
{
	const char *id;
	if (!perm_require(r, "sync.run") || !(id = account_id_param(r)))
		return;
	ml_sync_account(r->app, id, r->tenant_id, sync_one_done, r);
}

/* sync-all: every account of the tenant at once; answers when the last one is done. */
typedef struct sync_all {
	req_t *r;
	json_t *results; /* one slot per account, in list order */
	int pending, ok;
} sync_all_t;

typedef struct sync_slot {
	sync_all_t *all;
	size_t index;
} sync_slot_t;

static void sync_all_answer(sync_all_t *a)
{
	size_t total = json_array_size(a->results);
	json_t *summary = json_pack("{s:I, s:i, s:I}", "total", (json_int_t)total, "successful",
				    a->ok, "failed", (json_int_t)(total - (size_t)a->ok));
	char *msg = arena_printf(a->r->arena, "Synchronized %d/%zu accounts", a->ok, total);
	http_ok(a->r, 200, json_pack("{s:o, s:o}", "results", a->results, "summary", summary), msg);
}

static void sync_slot_done(const ml_sync_result_t *s, void *arg)
{
	sync_slot_t *slot = arg;
	sync_all_t *a = slot->all;
	json_t *item;
	if (s->ok) {
		a->ok++;
		item = json_pack("{s:s, s:b, s:s, s:o}", "accountId", s->account_id, "success", 1,
				 "syncedAt", s->synced_at, "data", sync_data(s));
	} else {
		item = json_pack("{s:s, s:b, s:s}", "accountId", s->account_id, "success", 0,
				 "error", s->found ? s->error : "the account was removed");
	}
	json_array_set_new(a->results, slot->index, item);
	if (--a->pending == 0)
		sync_all_answer(a);
}

static void sync_all_listed(const PGresult *res, const char *err, void *arg)
{
	sync_all_t *a = arg;
	if (err) {
		json_decref(a->results);
		identity_db_error(a->r, "ml_accounts: sync-all", res, err);
		return;
	}
	int n = PQntuples(res);
	for (int i = 0; i < n; i++)
		json_array_append_new(a->results, json_null());
	if (n == 0) {
		sync_all_answer(a);
		return;
	}
	a->pending = n;
	for (int i = 0; i < n; i++) {
		sync_slot_t *slot = arena_calloc(a->r->arena, 1, sizeof(*slot));
		slot->all = a;
		slot->index = (size_t)i;
		ml_sync_account(a->r->app, pg_value(res, i, 0), a->r->tenant_id, sync_slot_done,
				slot);
	}
}

static void accounts_sync_all(req_t *r)
{
	if (!perm_require(r, "sync.run"))
		return;
	sync_all_t *a = arena_calloc(r->arena, 1, sizeof(*a));
	a->r = r;
	a->results = json_array();
	ml_accounts_ids(r->app, r->tenant_id, sync_all_listed, a);
}

void ml_accounts_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "POST", "/api/ml-accounts", accounts_create, ROUTE_AUTH,
		   "Connect a Mercado Livre account with its tokens (the first becomes primary); "
		   "needs accounts.manage");
	http_route(s, "GET", "/api/ml-accounts", list_accounts, ROUTE_AUTH,
		   "List the company's Mercado Livre accounts");
	http_route(s, "POST", "/api/ml-accounts/sync-all", accounts_sync_all, ROUTE_AUTH,
		   "Sync every account at once; results per account and a summary; needs sync.run");
	http_route(s, "GET", "/api/ml-accounts/:id", accounts_get, ROUTE_AUTH,
		   "One Mercado Livre account in detail (error history, token health)");
	http_route(s, "PUT", "/api/ml-accounts/:id", accounts_update, ROUTE_AUTH,
		   "Change accountName, isPrimary, syncInterval (60000..86400000 ms) or "
		   "notificationsEnabled; needs accounts.manage");
	http_route(s, "DELETE", "/api/ml-accounts/:id", accounts_delete, ROUTE_AUTH,
		   "Disconnect an account and remove its synced data; the oldest account becomes "
		   "primary if needed; needs accounts.manage");
	http_route(s, "POST", "/api/ml-accounts/:id/sync", accounts_sync, ROUTE_AUTH,
		   "Sync the account's counts from Mercado Livre now; needs sync.run");
	http_route(s, "PUT", "/api/ml-accounts/:id/pause", accounts_pause, ROUTE_AUTH,
		   "Pause automatic sync; needs accounts.manage");
	http_route(s, "PUT", "/api/ml-accounts/:id/resume", accounts_resume, ROUTE_AUTH,
		   "Resume automatic sync; needs accounts.manage");
	http_route(s, "PUT", "/api/ml-accounts/:id/refresh-token", accounts_refresh_token,
		   ROUTE_AUTH,
		   "Refresh the account's Mercado Livre token now; needs accounts.manage");
	http_route(s, "GET", "/api/ml-accounts/:id/token-info", accounts_token_info, ROUTE_AUTH,
		   "Token expiry and health of the account");
}
