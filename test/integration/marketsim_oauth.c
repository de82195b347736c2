/* marketsim: the OAuth code flow, single-use codes and refresh tokens, PKCE, and the 401 bodies
 * of the bearer check. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "marketsim_helpers.h"

static h_proc_t sim;
static msh_app_t app;

static void start_default(void)
{
	msh_start(&sim, &app, NULL);
}

static void stop(void)
{
	msh_stop(&sim);
}

TestSuite(marketsim_oauth, .init = start_default, .fini = stop, .timeout = 30);

static char *form(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *form(const char *fmt, ...)
{
	static char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

static h_resp_t exchange(const char *code, const char *redirect, const char *verifier)
{
	return msh_token(&sim, form("grant_type=authorization_code&client_id=%s&client_secret=%s"
				    "&code=%s&redirect_uri=%s%s%s",
				    app.client_id, app.client_secret, code, redirect,
				    verifier ? "&code_verifier=" : "", verifier ? verifier : ""));
}

static h_resp_t refresh(const char *token)
{
	return msh_token(&sim, form("grant_type=refresh_token&client_id=%s&client_secret=%s"
				    "&refresh_token=%s",
				    app.client_id, app.client_secret, token));
}

static void assert_invalid_grant(const h_resp_t *r)
{
	cr_assert_eq(r->status, 400, "%s", r->body);
	cr_assert_str_eq(msh_str(r->json, "error"), "invalid_grant");
	cr_assert(json_is_string(json_object_get(r->json, "error_description")), "%s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "status")), 400);
	cr_assert(json_is_array(json_object_get(r->json, "cause")));
}

Test(marketsim_oauth, code_flow_gives_documented_token_shape)
{
	int64_t seller = app.sellers[1];
	const char *code = msh_authorize(&sim, &app, seller, NULL);
	char want_suffix[32];
	snprintf(want_suffix, sizeof(want_suffix), "-%lld", (long long)seller);
	cr_assert(strstr(code, want_suffix), "code %s ends with the user id", code);
	h_resp_t r = exchange(code, "http://app.test/cb", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	const char *access = msh_str(r.json, "access_token");
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "APP_USR-%s-", app.client_id);
	cr_assert(strncmp(access, prefix, strlen(prefix)) == 0, "access token %s", access);
	cr_assert(strstr(access, want_suffix));
	cr_assert_str_eq(msh_str(r.json, "token_type"), "bearer");
	cr_assert_eq(json_integer_value(json_object_get(r.json, "expires_in")), 21600);
	cr_assert_str_eq(msh_str(r.json, "scope"), "offline_access read write");
	cr_assert_eq(json_integer_value(json_object_get(r.json, "user_id")), seller);
	cr_assert(strncmp(msh_str(r.json, "refresh_token"), "TG-", 3) == 0);

	h_resp_t me = msh_get(&sim, access, "/users/me");
	cr_assert_eq(me.status, 200, "%s", me.body);
	cr_assert_eq(json_integer_value(json_object_get(me.json, "id")), seller);
	cr_assert(json_is_string(json_object_get(me.json, "email")));
	cr_assert(json_is_object(json_object_get(me.json, "seller_reputation")));
	h_resp_free(&me);
	h_resp_free(&r);
}

Test(marketsim_oauth, authorization_code_is_single_use_and_bound_to_redirect_uri)
{
	const char *code = msh_authorize(&sim, &app, app.sellers[0], NULL);
	char saved[128];
	snprintf(saved, sizeof(saved), "%s", code);
	h_resp_t bad = exchange(saved, "http://other.test/cb", NULL);
	assert_invalid_grant(&bad);
	h_resp_t ok = exchange(saved, "http://app.test/cb", NULL);
	cr_assert_eq(ok.status, 200, "%s", ok.body);
	h_resp_t again = exchange(saved, "http://app.test/cb", NULL);
	assert_invalid_grant(&again);
	h_resp_free(&bad);
	h_resp_free(&ok);
	h_resp_free(&again);
}

Test(marketsim_oauth, token_endpoint_errors)
{
	h_resp_t r =
	    msh_token(&sim, form("grant_type=refresh_token&client_id=%s&client_secret=wrong"
				 "&refresh_token=TG-x",
				 app.client_id));
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(msh_str(r.json, "error"), "invalid_client");
	h_resp_free(&r);
	r = msh_token(&sim,
		      form("client_id=%s&client_secret=%s", app.client_id, app.client_secret));
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(msh_str(r.json, "error"), "invalid_request");
	h_resp_free(&r);
	r = msh_token(&sim, form("grant_type=password&client_id=%s&client_secret=%s", app.client_id,
				 app.client_secret));
	cr_assert_str_eq(msh_str(r.json, "error"), "unsupported_grant_type");
	h_resp_free(&r);
	r = msh_token(&sim, form("grant_type=refresh_token&grant_type=refresh_token&client_id=%s"
				 "&client_secret=%s&refresh_token=TG-x",
				 app.client_id, app.client_secret));
	cr_assert_str_eq(msh_str(r.json, "error"), "invalid_request", "duplicated parameter");
	h_resp_free(&r);
	r = refresh("TG-unknown-1");
	assert_invalid_grant(&r);
	h_resp_free(&r);
}

Test(marketsim_oauth, refresh_tokens_are_single_use_and_only_the_latest_works)
{
	msh_tokens_t t;
	msh_login(&sim, &app, app.sellers[0], &t);
	h_resp_t r1 = refresh(t.refresh);
	cr_assert_eq(r1.status, 200, "%s", r1.body);
	const char *second = msh_str(r1.json, "refresh_token");
	cr_assert_str_neq(second, t.refresh);
	const char *new_access = msh_str(r1.json, "access_token");
	h_resp_t me = msh_get(&sim, new_access, "/users/me");
	cr_assert_eq(me.status, 200);
	h_resp_free(&me);

	h_resp_t reuse = refresh(t.refresh);
	assert_invalid_grant(&reuse);
	h_resp_t r2 = refresh(second);
	cr_assert_eq(r2.status, 200, "%s", r2.body);
	h_resp_t stale = refresh(second);
	assert_invalid_grant(&stale);

	/* The request log lets a test count refresh calls exactly. */
	h_resp_t log = msh_sim(&sim, "GET", "/_sim/requests?path=/oauth/token&method=POST", NULL);
	cr_assert_eq(json_integer_value(json_object_get(log.json, "count")), 5, "%s", log.body);
	json_t *reqs = json_object_get(log.json, "requests");
	cr_assert_eq(json_array_size(reqs), 5);
	json_t *last = json_array_get(reqs, 4);
	cr_assert_str_eq(msh_str(last, "method"), "POST");
	cr_assert_str_eq(msh_str(last, "path"), "/oauth/token");
	cr_assert_eq(json_integer_value(json_object_get(last, "status")), 400);
	cr_assert(json_is_string(json_object_get(last, "time")));
	h_resp_free(&log);
	h_resp_free(&r1);
	h_resp_free(&reuse);
	h_resp_free(&r2);
	h_resp_free(&stale);
}

static void s256(const char *verifier, char *out)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)verifier, strlen(verifier), d);
	unsigned char b[64];
	int n = EVP_EncodeBlock(b, d, sizeof(d));
	while (n > 0 && b[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		out[i] = b[i] == '+' ? '-' : b[i] == '/' ? '_' : (char)b[i];
	out[n] = '\0';
}

Test(marketsim_oauth, pkce_s256_is_checked)
{
	const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-marketsim";
	char challenge[64];
	s256(verifier, challenge);
	char code[128];
	snprintf(code, sizeof(code), "%s", msh_authorize(&sim, &app, app.sellers[0], challenge));
	h_resp_t missing = exchange(code, "http://app.test/cb", NULL);
	cr_assert_eq(missing.status, 400);
	cr_assert_str_eq(msh_str(missing.json, "error"), "invalid_request");
	h_resp_t wrong =
	    exchange(code, "http://app.test/cb", "not-the-verifier-not-the-verifier-xx");
	assert_invalid_grant(&wrong);
	h_resp_t ok = exchange(code, "http://app.test/cb", verifier);
	cr_assert_eq(ok.status, 200, "%s", ok.body);
	h_resp_free(&missing);
	h_resp_free(&wrong);
	h_resp_free(&ok);
}

Test(marketsim_oauth, bearer_check_answers_documented_401s)
{
	msh_tokens_t t;
	msh_login(&sim, &app, app.sellers[0], &t);
	h_resp_t none = msh_get(&sim, NULL, "/users/me");
	msh_assert_error(&none, 401, "unauthorized_request_error");
	h_resp_t bogus = msh_get(&sim, "APP_USR-1-010101-deadbeef-1", "/users/me");
	msh_assert_error(&bogus, 401, "unauthorized_request_error");

	char body[64];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld}", (long long)app.sellers[0]);
	h_resp_t ex = msh_sim(&sim, "POST", "/_sim/tokens/expire", body);
	cr_assert_eq(ex.status, 200);
	h_resp_t expired = msh_get(&sim, t.access, "/users/me");
	msh_assert_error(&expired, 401, "unauthorized_request_error");
	/* An expired access token is what refresh tokens are for. */
	h_resp_t fresh = refresh(t.refresh);
	cr_assert_eq(fresh.status, 200, "%s", fresh.body);
	h_resp_t me = msh_get(&sim, msh_str(fresh.json, "access_token"), "/users/me");
	cr_assert_eq(me.status, 200);

	char path[64];
	snprintf(path, sizeof(path), "/_sim/grants/%lld/revoke", (long long)app.sellers[0]);
	h_resp_t rv = msh_sim(&sim, "POST", path, NULL);
	cr_assert(json_is_true(json_object_get(rv.json, "revoked")), "%s", rv.body);
	h_resp_t revoked = msh_get(&sim, msh_str(fresh.json, "access_token"), "/users/me");
	msh_assert_error(&revoked, 401, "unauthorized_request_error");
	h_resp_t dead = refresh(msh_str(fresh.json, "refresh_token"));
	assert_invalid_grant(&dead);
	/* A new authorization makes a new grant. */
	msh_tokens_t t2;
	msh_login(&sim, &app, app.sellers[0], &t2);
	h_resp_t back = msh_get(&sim, t2.access, "/users/me");
	cr_assert_eq(back.status, 200);
	h_resp_t *all[] = {&none, &bogus, &ex, &expired, &fresh, &me, &rv, &revoked, &dead, &back};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		h_resp_free(all[i]);
}

Test(marketsim_oauth, authorization_validates_its_parameters)
{
	h_resp_t r = h_http("GET",
			    h_url(&sim, "/authorization?response_type=code&client_id=1"
					"&redirect_uri=http://app.test/cb"),
			    NULL, NULL);
	cr_assert_eq(r.status, 400, "unknown client_id is shown on the page");
	h_resp_free(&r);
	char path[512];
	snprintf(path, sizeof(path),
		 "/authorization?response_type=token&client_id=%s&redirect_uri=http://app.test/cb"
		 "&state=s",
		 app.client_id);
	r = h_http("GET", h_url(&sim, path), NULL, NULL);
	cr_assert_eq(r.status, 302);
	cr_assert(strstr(h_header(&r, "Location"), "error=unsupported_response_type&state=s"));
	h_resp_free(&r);
}

TestSuite(marketsim_oauth_flags, .fini = stop, .timeout = 30);

Test(marketsim_oauth_flags, token_ttl_error_field_and_pkce_are_switches)
{
	const char *args[] = {"--token-ttl",	 "1", "--grant-error-field", "message",
			      "--pkce-required", NULL};
	msh_start(&sim, &app, args);
	msh_clock(&sim, "{\"frozen\":true}"); /* the 1 s token lives until the clock moves */
	msh_tokens_t t;
	char path[512];
	snprintf(path, sizeof(path),
		 "/authorization?response_type=code&client_id=%s&redirect_uri=http://app.test/cb",
		 app.client_id);
	h_resp_t r = h_http("GET", h_url(&sim, path), NULL, NULL);
	cr_assert(strstr(h_header(&r, "Location"), "error=invalid_request"),
		  "PKCE required: no challenge is refused");
	h_resp_free(&r);
	const char *verifier = "a-verifier-that-is-long-enough-for-pkce-rules-0123456789";
	char challenge[64];
	s256(verifier, challenge);
	char code[128];
	snprintf(code, sizeof(code), "%s", msh_authorize(&sim, &app, app.sellers[0], challenge));
	h_resp_t tok = exchange(code, "http://app.test/cb", verifier);
	cr_assert_eq(tok.status, 200);
	cr_assert_eq(json_integer_value(json_object_get(tok.json, "expires_in")), 1);
	snprintf(t.access, sizeof(t.access), "%s", msh_str(tok.json, "access_token"));
	h_resp_t ok = msh_get(&sim, t.access, "/users/me");
	cr_assert_eq(ok.status, 200);
	msh_clock_advance(&sim, 1001); /* past expires_in, on marketsim's clock */
	h_resp_t late = msh_get(&sim, t.access, "/users/me");
	msh_assert_error(&late, 401, "unauthorized_request_error");
	h_resp_t again = exchange(code, "http://app.test/cb", verifier);
	cr_assert_eq(again.status, 400);
	cr_assert(json_is_string(json_object_get(again.json, "message")), "%s", again.body);
	cr_assert_null(json_object_get(again.json, "error_description"));
	h_resp_free(&tok);
	h_resp_free(&ok);
	h_resp_free(&late);
	h_resp_free(&again);
}
