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
	bool reconnect; /* the website workflow: an account already connected gets new tokens */
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
	amazon_account_t a = {.tenant_id = r->tenant_id,
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

void amazon_accounts_routes(app_t *app)
{
	http_route(app->http, "POST", "/api/amazon-accounts", create, ROUTE_AUTH,
		   "Connect a self-authorized seller: {refreshToken, sellingPartnerId, "
		   "marketplaceIds, region, accountName?} -> 201 account; 409 already connected");
	http_route(
	    app->http, "POST", "/api/auth/connect-amazon", connect_amazon, ROUTE_AUTH,
	    "Trade a website-workflow code: {authorizationCode, redirectUri, marketplaceIds, "
	    "region, sellingPartnerId?} -> 201 {credentials, account}");
}
