/* Amazon accounts: connecting a self-authorized seller (POST /api/amazon-accounts) and a website
 * workflow's code (POST /api/auth/connect-amazon) against marketsim's Login with Amazon and
 * SP-API; the token proven before anything is stored and stored only sealed; the core's
 * /api/amazon-accounts handling (list, one, change, pause, resume, remove) and /api/accounts;
 * another tenant sees none of it. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "amazon_helpers.h"

static amt_t t;

static void start(void)
{
	amt_start(&t, NULL, NULL);
}

static void stop(void)
{
	amt_stop(&t);
}

TestSuite(amazon_accounts, .init = start, .fini = stop, .timeout = 90);

Test(amazon_accounts, self_authorized_seller_is_proven_sealed_and_listed)
{
	long lwa_before = amt_calls(&t, "/auth/o2/token");
	char id[40];
	h_resp_t r = amt_connect(&t, &t.owner, 0, "Loja Amazon");
	cr_assert_eq(r.status, 201, "%s", r.body);
	json_t *a = json_object_get(r.json, "data");
	snprintf(id, sizeof(id), "%s", msh_str(a, "id"));
	cr_assert_str_eq(msh_str(a, "channel"), "amazon");
	cr_assert_str_eq(msh_str(a, "externalId"), amt_seller_id(&t, 0));
	cr_assert_str_eq(msh_str(a, "sellingPartnerId"), amt_seller_id(&t, 0));
	cr_assert_str_eq(msh_str(a, "region"), "na");
	cr_assert_str_eq(msh_str(a, "accountName"), "Loja Amazon");
	cr_assert_str_eq(msh_str(a, "status"), "active");
	cr_assert(json_is_true(json_object_get(a, "isPrimary")), "the first account is primary");
	cr_assert_eq(json_array_size(json_object_get(a, "marketplaceIds")), 1);
	cr_assert_not_null(json_object_get(a, "tokenExpiresAt"));
	amt_assert_clean(&r, amt_refresh_token(&t, 0));
	cr_assert_null(strstr(r.body, "Atza|"), "no access token in the answer: %s", r.body);
	h_resp_free(&r);
	/* Proven with one LWA call and one SP-API call before the row was written. */
	cr_assert_eq(amt_calls(&t, "/auth/o2/token"), lwa_before + 1);

	/* Only sealed in the database. */
	char *sealed =
	    h_sql_text("SELECT refresh_token_sealed || access_token_sealed FROM accounts "
		       "WHERE id = '%s'",
		       id);
	cr_assert_null(strstr(sealed, amt_refresh_token(&t, 0)));
	cr_assert_null(strstr(sealed, "Atz"));
	free(sealed);

	r = ident_call(&t.srv, "GET", "/api/accounts?channel=amazon", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.total")), 1);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.accounts.0.id")), id);
	h_resp_free(&r);
	r = ident_call(&t.srv, "GET", "/api/amazon-accounts", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.total")), 1);
	h_resp_free(&r);
	/* Not a Mercado Livre account. */
	r = ident_call(&t.srv, "GET", "/api/ml-accounts", t.owner.access, NULL);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.total")), 0, "%s", r.body);
	h_resp_free(&r);

	/* Twice: 409, still one. */
	r = amt_connect(&t, &t.owner, 0, NULL);
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "ACCOUNT_EXISTS");
	h_resp_free(&r);
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM accounts WHERE tenant_id = '%s'", t.owner.tenant_id),
	    1);
}

Test(amazon_accounts, refused_tokens_and_bad_fields_store_nothing)
{
	char body[1024];
	snprintf(body, sizeof(body),
		 "{\"refreshToken\":\"Atzr|not-a-token\",\"sellingPartnerId\":\"%s\","
		 "\"marketplaceIds\":[\"ATVPDKIKX0DER\"],\"region\":\"na\"}",
		 amt_seller_id(&t, 0));
	h_resp_t r = ident_call(&t.srv, "POST", "/api/amazon-accounts", t.owner.access, body);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "details.0.field")), "refreshToken");
	h_resp_free(&r);

	static const char *const bad[][2] = {
	    {"{\"sellingPartnerId\":\"A1\",\"marketplaceIds\":[\"ATVPDKIKX0DER\"],"
	     "\"region\":\"na\"}",
	     "refreshToken"},
	    {"{\"refreshToken\":\"Atzr|x\",\"sellingPartnerId\":\"a b\",\"marketplaceIds\":"
	     "[\"ATVPDKIKX0DER\"],\"region\":\"na\"}",
	     "sellingPartnerId"},
	    {"{\"refreshToken\":\"Atzr|x\",\"sellingPartnerId\":\"A1\",\"marketplaceIds\":"
	     "[\"NOPE\"],\"region\":\"na\"}",
	     "marketplaceIds"},
	    {"{\"refreshToken\":\"Atzr|x\",\"sellingPartnerId\":\"A1\",\"marketplaceIds\":"
	     "[\"A1PA6795UKMFR9\"],\"region\":\"na\"}",
	     "marketplaceIds"},
	    {"{\"refreshToken\":\"Atzr|x\",\"sellingPartnerId\":\"A1\",\"marketplaceIds\":[],"
	     "\"region\":\"na\"}",
	     "marketplaceIds"},
	    {"{\"refreshToken\":\"Atzr|x\",\"sellingPartnerId\":\"A1\",\"marketplaceIds\":"
	     "[\"ATVPDKIKX0DER\"],\"region\":\"mars\"}",
	     "region"},
	};
	long lwa_before = amt_calls(&t, "/auth/o2/token");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = ident_call(&t.srv, "POST", "/api/amazon-accounts", t.owner.access, bad[i][0]);
		cr_assert_eq(r.status, 400, "%s -> %s", bad[i][0], r.body);
		cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED");
		cr_assert(strstr(r.body, bad[i][1]), "%s names %s: %s", bad[i][0], bad[i][1],
			  r.body);
		h_resp_free(&r);
	}
	cr_assert_eq(amt_calls(&t, "/auth/o2/token"), lwa_before, "bad input never reaches LWA");
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM accounts WHERE tenant_id = '%s'", t.owner.tenant_id),
	    0);

	/* A viewer may look but not connect. */
	session_t viewer;
	ident_add_user(&t.srv, &t.owner, "viewer", &viewer);
	r = amt_connect(&t, &viewer, 0, NULL);
	cr_assert_eq(r.status, 403, "%s", r.body);
	h_resp_free(&r);
}

Test(amazon_accounts, core_handling_and_tenant_isolation)
{
	h_resp_t r = amt_connect(&t, &t.owner, 1, NULL);
	cr_assert_eq(r.status, 201, "%s", r.body);
	char id[40], path[128];
	snprintf(id, sizeof(id), "%s", json_string_value(h_json_path(r.json, "data.id")));
	h_resp_free(&r);

	snprintf(path, sizeof(path), "/api/amazon-accounts/%s", id);
	r = ident_call(&t.srv, "PUT", path, t.owner.access,
		       "{\"accountName\":\"Outra\",\"syncInterval\":600000}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.accountName")), "Outra");
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.syncInterval")), 600000);
	h_resp_free(&r);
	r = ident_call(&t.srv, "PUT", path, t.owner.access, "{\"syncInterval\":5}");
	cr_assert_eq(r.status, 400, "%s", r.body);
	h_resp_free(&r);

	char p2[160];
	snprintf(p2, sizeof(p2), "%s/pause", path);
	r = ident_call(&t.srv, "PUT", p2, t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.status")), "paused");
	cr_assert(json_is_false(h_json_path(r.json, "data.syncEnabled")));
	h_resp_free(&r);
	snprintf(p2, sizeof(p2), "%s/resume", path);
	r = ident_call(&t.srv, "PUT", p2, t.owner.access, NULL);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.status")), "active", "%s",
			 r.body);
	h_resp_free(&r);

	/* Another tenant: 404 for every verb, and an empty list. */
	session_t other;
	ident_signup(&t.srv, &other);
	static const char *const verbs[][2] = {
	    {"GET", ""}, {"PUT", ""}, {"DELETE", ""}, {"PUT", "/pause"}};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p2, sizeof(p2), "%s%s", path, verbs[i][1]);
		r = ident_call(&t.srv, verbs[i][0], p2, other.access, "{\"accountName\":\"x\"}");
		cr_assert_eq(r.status, 404, "%s %s: %s", verbs[i][0], p2, r.body);
		h_resp_free(&r);
	}
	r = ident_call(&t.srv, "GET", "/api/amazon-accounts", other.access, NULL);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.total")), 0, "%s", r.body);
	h_resp_free(&r);
	/* A Mercado Livre path does not reach an Amazon account. */
	snprintf(p2, sizeof(p2), "/api/ml-accounts/%s", id);
	r = ident_call(&t.srv, "GET", p2, t.owner.access, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);

	r = ident_call(&t.srv, "DELETE", path, t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&t.srv, "GET", path, t.owner.access, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
}

Test(amazon_accounts, website_workflow_code_connects_and_reconnects)
{
	char code[256];
	amt_consent_code(&t, 1, code, sizeof(code));
	char body[1024];
	snprintf(body, sizeof(body),
		 "{\"authorizationCode\":\"%s\",\"redirectUri\":\"%s\",\"sellingPartnerId\":\"%s\","
		 "\"marketplaceIds\":[\"ATVPDKIKX0DER\"],\"region\":\"na\"}",
		 code, AMT_REDIRECT, amt_seller_id(&t, 1));
	h_resp_t r = ident_call(&t.srv, "POST", "/api/auth/connect-amazon", t.owner.access, body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.credentials.type")), "SPAPI");
	cr_assert(json_is_true(h_json_path(r.json, "data.credentials.isActive")));
	char id[40];
	snprintf(id, sizeof(id), "%s",
		 json_string_value(h_json_path(r.json, "data.credentials.id")));
	h_resp_free(&r);

	/* The same code again: LWA refuses it (single use). */
	r = ident_call(&t.srv, "POST", "/api/auth/connect-amazon", t.owner.access, body);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert(strstr(r.body, "authorizationCode"), "%s", r.body);
	h_resp_free(&r);

	/* A new consent of the same seller reconnects the same account. */
	ident_sql("UPDATE accounts SET status = 'expired' WHERE id = '%s'", id);
	amt_consent_code(&t, 1, code, sizeof(code));
	snprintf(body, sizeof(body),
		 "{\"authorizationCode\":\"%s\",\"redirectUri\":\"%s\",\"sellingPartnerId\":\"%s\","
		 "\"marketplaceIds\":[\"ATVPDKIKX0DER\"],\"region\":\"na\"}",
		 code, AMT_REDIRECT, amt_seller_id(&t, 1));
	r = ident_call(&t.srv, "POST", "/api/auth/connect-amazon", t.owner.access, body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.credentials.id")), id);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.account.status")), "active");
	h_resp_free(&r);
}

Test(amazon_accounts, website_workflow_state_is_single_use_and_bound_to_the_tenant)
{
	h_resp_t r =
	    ident_call(&t.srv, "GET", "/api/amazon/oauth/start?region=na", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char url[2048];
	snprintf(url, sizeof(url), "%s&selling_partner_id=%s",
		 json_string_value(h_json_path(r.json, "data.authorizationUrl")),
		 amt_seller_id(&t, 1));
	h_resp_free(&r);
	cr_assert(strstr(url, "version=beta"), "%s", url);
	/* The seller consents at Seller Central (marketsim), which redirects to our callback. */
	r = h_http("GET", url, NULL, NULL);
	cr_assert_eq(r.status, 302, "%s", r.body);
	const char *loc = h_header(&r, "Location");
	cr_assert(loc && strncmp(loc, AMT_REDIRECT "?", strlen(AMT_REDIRECT) + 1) == 0, "%s", loc);
	char path[1024];
	snprintf(path, sizeof(path), "/api/amazon/oauth/callback?%s",
		 loc + strlen(AMT_REDIRECT) + 1);
	h_resp_free(&r);
	r = ident_call(&t.srv, "GET", path, NULL, NULL);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.account.externalId")),
			 amt_seller_id(&t, 1));
	amt_assert_clean(&r, amt_refresh_token(&t, 1));
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM accounts WHERE tenant_id = '%s' AND channel = "
			       "'amazon'",
			       t.owner.tenant_id),
		     1, "the account is the tenant's whose state it was");
	/* The same redirect again: the state is spent. */
	r = ident_call(&t.srv, "GET", path, NULL, NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert(strstr(r.body, "state"), "%s", r.body);
	h_resp_free(&r);
	/* A made-up state. */
	r = ident_call(&t.srv, "GET", "/api/amazon/oauth/callback?spapi_oauth_code=x&state=nope",
		       NULL, NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	h_resp_free(&r);
	/* A viewer may not start one. */
	session_t viewer;
	ident_add_user(&t.srv, &t.owner, "viewer", &viewer);
	r = ident_call(&t.srv, "GET", "/api/amazon/oauth/start", viewer.access, NULL);
	cr_assert_eq(r.status, 403, "%s", r.body);
	h_resp_free(&r);
}
