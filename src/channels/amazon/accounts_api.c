/* Connecting an Amazon account: a self-authorized application's refresh token
 * (POST /api/amazon-accounts) or an authorization code of the website workflow
 * (POST /api/auth/connect-amazon). Either way the token is proven before anything is stored:
 * Login with Amazon must trade it for an access token, and that token must be able to call the
 * SP-API for the first marketplace. The rest of /api/amazon-accounts is the core's
 * (src/api/channel_accounts.c). */
#include "account.h"
#include "amazon.h"
#include "arena.h"
#include "client.h"
#include "crypto.h"
#include "errors.h"
#include "identity.h"
#include "log.h"
#include "permissions.h"
#include "validate.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define TOKEN_MAX	     2048 /* amazon.md 1.1 */
#define SELLER_ID_MAX	     64
#define MARKETPLACES_MAX     50
#define AUTH_CODE_MAX	     512
#define REDIRECT_URI_MAX     2048
#define ACCOUNT_NAME_MAXCHAR 100

static const char *const regions[] = {"na", "eu", "fe", NULL};

/* One connect on its way: grant → test call → store. In the request's arena, but the secrets
 * are cleared once done (the arena is freed without clearing). */
typedef struct connect {
	req_t *r;
	const char *tenant_id; /* the caller's, or the state's (callback) */
	bool reconnect; /* the website workflow: an account already connected gets new tokens */
	bool callback;	/* the browser comes back: to APP_URL when set */
	const char *seller_id, *account_name, *marketplaces, *region, *first_marketplace;
	char *access, *refresh;
	long expires_in;
} connect_t;

static void connect_clear(connect_t *c)
{
	if (c->access)
		explicit_bzero(c->access, strlen(c->access));
	if (c->refresh)
		explicit_bzero(c->refresh, strlen(c->refresh));
}

/* Upper-case letters and digits, as Amazon's seller and marketplace ids are. */
static bool amazon_id(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s))
			return false;
	return true;
}

/* marketplaceIds: 1..50 known ids, every one served by region. The JSON text (arena) or NULL. */
static const char *marketplaces_field(connect_t *c, json_t **d)
{
	req_t *r = c->r;
	json_t *ids = r->body ? json_object_get(r->body, "marketplaceIds") : NULL;
	size_t n = json_array_size(ids);
	if (!json_is_array(ids) || n == 0 || n > MARKETPLACES_MAX) {
		*d = http_problem(*d, "marketplaceIds",
				  "must be an array of 1 to 50 Amazon marketplace ids");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_array_get(ids, i));
		const char *region = id && amazon_id(id, 32) ? amazon_region_of(id) : NULL;
		if (!region) {
			*d = http_problem(*d, "marketplaceIds",
					  arena_printf(r->arena,
						       "item %zu is not a marketplace id "
						       "Amazon lists",
						       i));
			return NULL;
		}
		if (c->region && strcmp(region, c->region) != 0) {
			*d = http_problem(
			    *d, "marketplaceIds",
			    arena_printf(r->arena, "%s is not in region %s", id, c->region));
			return NULL;
		}
	}
	c->first_marketplace = json_string_value(json_array_get(ids, 0));
	char *text = json_dumps(ids, JSON_COMPACT);
	const char *copy = arena_strdup(r->arena, text);
	free(text);
	return copy;
}

/* The fields both connects share. */
static void common_fields(connect_t *c, json_t **d)
{
	c->region = validate_enum(c->r, "region", V_REQUIRED, regions, d);
	c->marketplaces = marketplaces_field(c, d);
	c->account_name =
	    validate_string(c->r, "accountName", V_OPTIONAL, ACCOUNT_NAME_MAXCHAR, d, NULL);
}

static void stored(const PGresult *res, const char *err, void *arg)
{
	connect_t *c = arg;
	req_t *r = c->r;
	connect_clear(c);
	if (err) {
		if (strcmp(err, "sealing") == 0) {
			log_error("amazon: sealing tokens failed");
			http_error(r, 500, "INTERNAL", "The account could not be stored.", NULL);
		} else {
			identity_db_error(r, "amazon: store account", res, err);
		}
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 409, "ACCOUNT_EXISTS", "This Amazon account is already connected.",
			   NULL);
		return;
	}
	json_t *a = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	bool created = pg_bool(res, 0, 1);
	const char *app_url = ((app_t *)r->app)->cfg.app_url;
	if (c->callback && app_url) {
		http_redirect(r, 302,
			      arena_printf(r->arena, "%s/amazon-accounts?connected=%s&result=%s",
					   app_url, json_string_value(json_object_get(a, "id")),
					   created ? "created" : "reconnected"));
		json_decref(a);
		return;
	}
	if (c->reconnect) { /* API.md: the monitoring SaaS's shape */
		json_t *cred = json_pack(
		    "{s:O, s:s, s:O, s:b, s:b}", "id", json_object_get(a, "id"), "type", "SPAPI",
		    "marketplaceIds", json_object_get(a, "marketplaceIds"), "isActive",
		    strcmp(json_string_value(json_object_get(a, "status")), "active") == 0,
		    "created", created);
		http_ok(r, created ? 201 : 200,
			json_pack("{s:o, s:o}", "credentials", cred, "account", a),
			created ? "Amazon account connected" : "Amazon account reconnected");
		return;
	}
	http_ok(r, 201, a, "Amazon account connected");
}

static void tested(const amazon_result_t *res, void *arg)
{
	connect_t *c = arg;
	req_t *r = c->r;
	if (res->err != CHANNEL_OK && res->err != CHANNEL_ERR_NOT_FOUND) {
		connect_clear(c);
		if (res->err == CHANNEL_ERR_UNAUTHORIZED)
			http_invalid(
			    r,
			    http_problem(NULL, c->reconnect ? "authorizationCode" : "refreshToken",
					 "gives no access to the Selling Partner API "
					 "for these marketplaces"));
		else
			amazon_error_reply(r, res->err, "Testing the Amazon authorization failed",
					   res->message);
		return;
	}
	channel_grant_t g = {c->access, c->refresh, c->expires_in};
	amazon_account_t a = {.tenant_id = c->tenant_id,
			      .selling_partner_id = c->seller_id,
			      .account_name = c->account_name,
			      .marketplace_ids = c->marketplaces,
			      .region = c->region,
			      .grant = &g};
	amazon_account_store(r->app, &a, c->reconnect, stored, c);
}

static void granted(const amazon_result_t *res, const channel_grant_t *g, void *arg)
{
	connect_t *c = arg;
	req_t *r = c->r;
	if (res->err != CHANNEL_OK) {
		if (res->err == CHANNEL_ERR_INVALID_GRANT)
			http_invalid(
			    r,
			    http_problem(NULL, c->reconnect ? "authorizationCode" : "refreshToken",
					 "was refused by Login with Amazon"));
		else
			amazon_error_reply(r, res->err, "Login with Amazon failed", res->message);
		return;
	}
	c->access = arena_strdup(r->arena, g->access_token);
	c->refresh = arena_strdup(r->arena, g->refresh_token);
	c->expires_in = g->expires_in;
	if (!c->seller_id) { /* the authorization's fingerprint (connect_amazon) */
		char hash[65];
		crypto_sha256_hex(g->refresh_token, strlen(g->refresh_token), hash);
		c->seller_id = arena_printf(r->arena, "lwa-%.16s", hash);
	}
	/* A cheap call (2/s) that any selling partner may make: it proves the token reaches the
	 * SP-API for these marketplaces. 404 would still prove it. */
	char path[256];
	snprintf(path, sizeof(path),
		 "/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId=%s"
		 "&marketplaceIds=%s",
		 c->first_marketplace, c->first_marketplace);
	amazon_call_with_token(r->app, c->region, NULL, c->access, "GET", path, NULL, tested, c);
}

/* POST /api/amazon-accounts {refreshToken, sellingPartnerId, marketplaceIds, region,
 * accountName?}: a self-authorized application's seller. */
static void create(req_t *r)
{
	if (!perm_require(r, "accounts.manage"))
		return;
	connect_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	c->tenant_id = r->tenant_id;
	json_t *d = NULL;
	const char *refresh =
	    validate_string(r, "refreshToken", V_REQUIRED | V_RAW, TOKEN_MAX, &d, NULL);
	c->seller_id = validate_string(r, "sellingPartnerId", V_REQUIRED, SELLER_ID_MAX, &d, NULL);
	if (c->seller_id && !amazon_id(c->seller_id, SELLER_ID_MAX))
		d = http_problem(d, "sellingPartnerId",
				 "must be an Amazon seller id (upper-case letters and digits)");
	common_fields(c, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	amazon_lwa_refresh(r->app, NULL, refresh, granted, c);
}

/* POST /api/auth/connect-amazon {authorizationCode, redirectUri, marketplaceIds, region,
 * sellingPartnerId?}: the website workflow's code, traded here. The code does not say whose it
 * is; the redirect carried selling_partner_id, which a client passes on. Without it the account
 * is known by its refresh token's fingerprint, so the same authorization reconnects it. */
static void connect_amazon(req_t *r)
{
	if (!perm_require(r, "accounts.manage"))
		return;
	connect_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	c->tenant_id = r->tenant_id;
	c->reconnect = true;
	json_t *d = NULL;
	const char *code =
	    validate_string(r, "authorizationCode", V_REQUIRED | V_RAW, AUTH_CODE_MAX, &d, NULL);
	const char *redirect =
	    validate_string(r, "redirectUri", V_REQUIRED | V_RAW, REDIRECT_URI_MAX, &d, NULL);
	if (redirect && strncmp(redirect, "https://", 8) != 0 &&
	    strncmp(redirect, "http://", 7) != 0)
		d = http_problem(d, "redirectUri", "must be an http(s) URL");
	c->seller_id = validate_string(r, "sellingPartnerId", V_OPTIONAL, SELLER_ID_MAX, &d, NULL);
	if (c->seller_id && !amazon_id(c->seller_id, SELLER_ID_MAX))
		d = http_problem(d, "sellingPartnerId",
				 "must be an Amazon seller id (upper-case letters and digits)");
	common_fields(c, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	amazon_lwa_code(r->app, code, redirect, granted, c);
}

/* --- the website workflow ------------------------------------------------------------------ */

#define STATE_BYTES 24

typedef struct start {
	req_t *r;
	char state[STATE_BYTES * 2];
	const char *url;
} start_t;

static void state_saved(const PGresult *res, const char *err, void *arg)
{
	start_t *s = arg;
	if (err) {
		identity_db_error(s->r, "amazon: oauth start", res, err);
		return;
	}
	http_ok(s->r, 200, json_pack("{s:s, s:s}", "authorizationUrl", s->url, "state", s->state),
		NULL);
}

/* GET /api/amazon/oauth/start[?region=na&marketplaceIds=A,B]: the consent URL of Seller
 * Central with a single-use state bound to the caller; region and marketplaces travel with
 * it (default: na, the United States). */
static void oauth_start(req_t *r)
{
	if (!perm_require(r, "accounts.manage"))
		return;
	const amazon_config_t *cfg = amazon_config(r->app);
	if (!cfg->app_id || !cfg->redirect_uri || !cfg->client_id) {
		amazon_error_reply(r, CHANNEL_ERR_CONFIG, "Starting the Amazon authorization",
				   "AMAZON_APP_ID, AMAZON_REDIRECT_URI and AMAZON_CLIENT_ID are "
				   "required");
		return;
	}
	json_t *d = NULL;
	static const char *const query_regions[] = {"na", "eu", "fe", NULL};
	const char *region = validate_query_enum(r, "region", query_regions, &d);
	const char *ids = validate_query_text(r, "marketplaceIds", 1000, &d);
	connect_t probe = {.r = r, .region = region ? region : "na"};
	json_t *list = json_array();
	for (const char *p = ids ? ids : "ATVPDKIKX0DER"; *p;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(list, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	/* The body check of the other connects, on the list the query gave. */
	json_t *saved = r->body;
	r->body = json_pack("{s:o}", "marketplaceIds", list);
	const char *marketplaces = d ? NULL : marketplaces_field(&probe, &d);
	json_decref(r->body);
	r->body = saved;
	if (d) {
		http_invalid(r, d);
		return;
	}
	start_t *s = arena_calloc(r->arena, 1, sizeof(*s));
	s->r = r;
	if (!crypto_random_token(STATE_BYTES, s->state, sizeof(s->state))) {
		http_error(r, 500, "INTERNAL", "No state could be drawn.", NULL);
		return;
	}
	char hash[CRYPTO_SHA256_HEX + 1];
	crypto_sha256_hex(s->state, strlen(s->state), hash);
	char *app_id = curl_easy_escape(NULL, cfg->app_id, 0);
	char *redirect = curl_easy_escape(NULL, cfg->redirect_uri, 0);
	s->url = arena_printf(r->arena,
			      "%s/apps/authorize/consent?application_id=%s&state=%s&version=beta"
			      "&redirect_uri=%s",
			      cfg->consent_url, app_id, s->state, redirect);
	curl_free(app_id);
	curl_free(redirect);
	amazon_oauth_state_save(r->app, hash, r->tenant_id, r->user_id, probe.region, marketplaces,
				state_saved, s);
}

typedef struct callback {
	req_t *r;
	const char *code, *seller_id;
} callback_t;

static void state_taken(const PGresult *res, const char *err, void *arg)
{
	callback_t *cb = arg;
	req_t *r = cb->r;
	if (err) {
		identity_db_error(r, "amazon: oauth callback", res, err);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 400, "VALIDATION_FAILED",
			   "The authorization state is invalid, expired or already used.",
			   http_problem(NULL, "state", "is invalid, expired or already used"));
		return;
	}
	connect_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	c->reconnect = true;
	c->callback = true;
	c->tenant_id = arena_strdup(r->arena, pg_value(res, 0, 0));
	c->region = arena_strdup(r->arena, pg_value(res, 0, 1));
	c->marketplaces = arena_strdup(r->arena, pg_value(res, 0, 2));
	json_t *ids = json_loads(c->marketplaces, 0, NULL);
	c->first_marketplace =
	    arena_strdup(r->arena, json_string_value(json_array_get(ids, 0))
				       ? json_string_value(json_array_get(ids, 0))
				       : "");
	json_decref(ids);
	c->seller_id = cb->seller_id;
	amazon_lwa_code(r->app, cb->code, amazon_config(r->app)->redirect_uri, granted, c);
}

/* GET /api/amazon/oauth/callback?spapi_oauth_code&state&selling_partner_id (no auth: the
 * state says whose it is). */
static void oauth_callback(req_t *r)
{
	json_t *d = NULL;
	const char *code = validate_query_text(r, "spapi_oauth_code", AUTH_CODE_MAX, &d);
	const char *state = validate_query_text(r, "state", 200, &d);
	const char *seller = validate_query_text(r, "selling_partner_id", SELLER_ID_MAX, &d);
	if (!code)
		d = http_problem(d, "spapi_oauth_code", "is required");
	if (!state)
		d = http_problem(d, "state", "is required");
	if (seller && !amazon_id(seller, SELLER_ID_MAX))
		d = http_problem(d, "selling_partner_id", "must be an Amazon seller id");
	if (d) {
		http_invalid(r, d);
		return;
	}
	callback_t *cb = arena_calloc(r->arena, 1, sizeof(*cb));
	cb->r = r;
	cb->code = code;
	cb->seller_id = seller;
	char hash[CRYPTO_SHA256_HEX + 1];
	crypto_sha256_hex(state, strlen(state), hash);
	amazon_oauth_state_take(r->app, hash, state_taken, cb);
}

void amazon_accounts_routes(app_t *app)
{
	http_route(app->http, "GET", "/api/amazon/oauth/start", oauth_start, ROUTE_AUTH,
		   "The Seller Central consent URL with a single-use state: {authorizationUrl, "
		   "state} (?region=na|eu|fe&marketplaceIds=A,B)");
	http_route(app->http, "GET", "/api/amazon/oauth/callback", oauth_callback, ROUTE_PUBLIC,
		   "Amazon's redirect (spapi_oauth_code, state, selling_partner_id): connects or "
		   "reconnects the account; redirects to APP_URL when set");
	http_route(app->http, "POST", "/api/amazon-accounts", create, ROUTE_AUTH,
		   "Connect a self-authorized seller: {refreshToken, sellingPartnerId, "
		   "marketplaceIds, region, accountName?} -> 201 account; 409 already connected");
	http_route(
	    app->http, "POST", "/api/auth/connect-amazon", connect_amazon, ROUTE_AUTH,
	    "Trade a website-workflow code: {authorizationCode, redirectUri, marketplaceIds, "
	    "region, sellingPartnerId?} -> 201 {credentials, account}");
}
