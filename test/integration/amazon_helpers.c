/* Shared setup for the Amazon channel tests. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "amazon_helpers.h"

static const char *app_field(amt_t *t, const char *key)
{
	return msh_str(json_object_get(t->truth, "application"), key);
}

static json_t *seller(amt_t *t, int i)
{
	json_t *s = json_array_get(json_object_get(t->truth, "sellers"), (size_t)i);
	cr_assert(s, "marketsim has no Amazon seller %d", i);
	return s;
}

void amt_start(amt_t *t, const char *const sim_args[], const char *const extra_env[])
{
	memset(t, 0, sizeof(*t));
	const char *args[32] = {"--amazon-redirect-uri", AMT_REDIRECT};
	size_t n = 2;
	for (size_t i = 0; sim_args && sim_args[i] && n < 31; i++)
		args[n++] = sim_args[i];
	msh_start(&t->sim, NULL, args);
	h_resp_t r = msh_sim(&t->sim, "GET", "/_sim/amazon", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	t->truth = json_incref(r.json);
	h_resp_free(&r);

	snprintf(t->env[0], 512, "AMAZON_LWA_URL=%s", h_url(&t->sim, ""));
	snprintf(t->env[1], 512, "AMAZON_SPAPI_URL=%s", h_url(&t->sim, ""));
	snprintf(t->env[2], 512, "AMAZON_CLIENT_ID=%s", app_field(t, "client_id"));
	snprintf(t->env[3], 512, "AMAZON_CLIENT_SECRET=%s", app_field(t, "client_secret"));
	snprintf(t->env[4], 512, "AMAZON_APP_ID=%s", app_field(t, "application_id"));
	snprintf(t->env[5], 512, "AMAZON_CONSENT_URL=%s", h_url(&t->sim, ""));
	snprintf(t->env[6], 512, "AMAZON_REDIRECT_URI=%s", AMT_REDIRECT);
	const char *env[40];
	size_t k = 0;
	for (; k < 7; k++)
		env[k] = t->env[k];
	for (size_t i = 0; extra_env && extra_env[i] && k < 39; i++)
		env[k++] = extra_env[i];
	env[k] = NULL;
	cr_assert(h_server_start(&t->srv, env), "sellerhubd did not start");
	ident_signup(&t->srv, &t->owner);
}

void amt_stop(amt_t *t)
{
	int rc = h_proc_stop(&t->srv, 15);
	cr_expect_eq(rc, 0, "sellerhubd exit status %d", rc);
	msh_stop(&t->sim);
	json_decref(t->truth);
}

const char *amt_seller_id(amt_t *t, int i)
{
	return msh_str(seller(t, i), "selling_partner_id");
}

const char *amt_refresh_token(amt_t *t, int i)
{
	return msh_str(seller(t, i), "refresh_token");
}

h_resp_t amt_connect(amt_t *t, const session_t *s, int i, const char *account_name)
{
	json_t *body = json_pack("{s:s, s:s, s:O, s:s}", "refreshToken", amt_refresh_token(t, i),
				 "sellingPartnerId", amt_seller_id(t, i), "marketplaceIds",
				 json_object_get(seller(t, i), "marketplace_ids"), "region", "na");
	if (account_name)
		json_object_set_new(body, "accountName", json_string(account_name));
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	h_resp_t r = ident_call(&t->srv, "POST", "/api/amazon-accounts", s->access, text);
	free(text);
	return r;
}

void amt_add(amt_t *t, const session_t *s, int i, char *id)
{
	h_resp_t r = amt_connect(t, s, i, NULL);
	cr_assert_eq(r.status, 201, "connect Amazon seller %d: %s", i, r.body);
	amt_assert_clean(&r, amt_refresh_token(t, i));
	snprintf(id, 40, "%s", json_string_value(h_json_path(r.json, "data.id")));
	h_resp_free(&r);
}

long amt_calls(amt_t *t, const char *path)
{
	char p[512];
	char *e = curl_easy_escape(NULL, path, 0);
	snprintf(p, sizeof(p), "/_sim/requests?path=%s&limit=1", e);
	curl_free(e);
	h_resp_t r = msh_sim(&t->sim, "GET", p, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	long n = (long)json_integer_value(json_object_get(r.json, "count"));
	h_resp_free(&r);
	return n;
}

void amt_consent_code(amt_t *t, int i, char *code, size_t size)
{
	char path[1024];
	char *app = curl_easy_escape(NULL, app_field(t, "application_id"), 0);
	snprintf(path, sizeof(path),
		 "/apps/authorize/consent?application_id=%s&state=s1&version=beta"
		 "&selling_partner_id=%s",
		 app, amt_seller_id(t, i));
	curl_free(app);
	h_resp_t r = h_http("GET", h_url(&t->sim, path), NULL, NULL);
	cr_assert_eq(r.status, 302, "%s", r.body);
	const char *loc = h_header(&r, "Location");
	const char *p = loc ? strstr(loc, "spapi_oauth_code=") : NULL;
	cr_assert(p, "Location: %s", loc ? loc : "(none)");
	p += strlen("spapi_oauth_code=");
	snprintf(code, size, "%.*s", (int)strcspn(p, "&"), p);
	h_resp_free(&r);
}

void amt_assert_clean(const h_resp_t *r, const char *secret)
{
	cr_assert(r->body && !strstr(r->body, secret), "a token leaked into a response");
	cr_assert(!strstr(r->body, "Atzr|") && !strstr(r->body, "Atza|"),
		  "a token leaked into a response");
}
