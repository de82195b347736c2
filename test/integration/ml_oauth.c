/* /api/ml/oauth: the whole authorization code flow through marketsim's /authorization (PKCE
 * S256 verified there), reconnects, and states that are bad, reused or expired. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml_helpers.h"

TestSuite(ml_oauth, .timeout = 60);

typedef struct started {
	char url[2048], state[128];
} started_t;

static void start(mlt_t *t, started_t *s)
{
	h_resp_t r = ident_call(&t->srv, "GET", "/api/ml/oauth/start", t->owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	snprintf(s->url, sizeof(s->url), "%s",
		 json_string_value(h_json_path(r.json, "data.authorizationUrl")));
	snprintf(s->state, sizeof(s->state), "%s",
		 json_string_value(h_json_path(r.json, "data.state")));
	cr_assert(strstr(s->url, "code_challenge_method=S256"), "%s", s->url);
	cr_assert(strstr(s->url, "code_challenge="), "%s", s->url);
	h_resp_free(&r);
}

/* The seller approves on marketsim: the query string of the redirect back to us. */
static const char *approve(mlt_t *t, const started_t *s, size_t seller)
{
	static char query[1024];
	char url[2300];
	snprintf(url, sizeof(url), "%s&seller=%lld", s->url, (long long)t->app.sellers[seller]);
	h_resp_t r = h_http("GET", url, NULL, NULL);
	cr_assert_eq(r.status, 302, "%s", r.body);
	const char *loc = h_header(&r, "Location");
	cr_assert(loc && strncmp(loc, "http://app.test/cb?", 19) == 0, "%s", loc);
	snprintf(query, sizeof(query), "%s", loc + 19);
	h_resp_free(&r);
	return query;
}

static h_resp_t callback(mlt_t *t, const char *query)
{
	char p[1200];
	snprintf(p, sizeof(p), "/api/ml/oauth/callback?%s", query);
	return ident_call(&t->srv, "GET", p, NULL, NULL);
}

Test(ml_oauth, connect_reuse_and_reconnect)
{
	mlt_t t;
	mlt_start(&t, "601", 2, NULL);
	started_t s;
	start(&t, &s);
	const char *q = approve(&t, &s, 0);
	char query[1024];
	snprintf(query, sizeof(query), "%s", q);
	h_resp_t r = callback(&t, query);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert(json_is_false(h_json_path(r.json, "data.reconnected")));
	char id[40];
	snprintf(id, sizeof(id), "%s", json_string_value(h_json_path(r.json, "data.account.id")));
	cr_assert(json_is_true(h_json_path(r.json, "data.account.isPrimary")));
	char uid[32];
	snprintf(uid, sizeof(uid), "%lld", (long long)t.app.sellers[0]);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.account.mlUserId")), uid);
	mlt_assert_clean(&r, "TG-");
	h_resp_free(&r);

	/* The same state again: 400, nothing created. */
	r = callback(&t, query);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "INVALID_STATE");
	h_resp_free(&r);

	/* The account works: a sync with the exchanged token. */
	char p[128];
	snprintf(p, sizeof(p), "/api/ml-accounts/%s/sync", id);
	r = ident_call(&t.srv, "POST", p, t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	/* Reconnect the same seller: same id, cached data kept. */
	start(&t, &s);
	r = callback(&t, approve(&t, &s, 0));
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_true(h_json_path(r.json, "data.reconnected")));
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.account.id")), id);
	cr_assert_gt(json_integer_value(h_json_path(r.json, "data.account.cachedData.products")),
		     0);
	h_resp_free(&r);

	/* A second seller: a second account, not primary. */
	start(&t, &s);
	r = callback(&t, approve(&t, &s, 1));
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert(json_is_false(h_json_path(r.json, "data.account.isPrimary")));
	h_resp_free(&r);
	r = ident_call(&t.srv, "GET", "/api/ml-accounts", t.owner.access, NULL);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.total")), 2);
	h_resp_free(&r);
	mlt_stop(&t);
}

Test(ml_oauth, bad_and_expired_states_are_400)
{
	mlt_t t;
	mlt_start(&t, "602", 1, NULL);
	h_resp_t r = callback(&t, "code=TG-abc&state=nope");
	cr_assert_eq(r.status, 400, "%s", r.body);
	h_resp_free(&r);
	r = callback(&t, "code=TG-abc&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "INVALID_STATE");
	h_resp_free(&r);

	started_t s;
	start(&t, &s);
	const char *q = approve(&t, &s, 0);
	char query[1024];
	snprintf(query, sizeof(query), "%s", q);
	cr_assert_eq(
	    ident_sql("UPDATE ml_oauth_states SET expires_at = now() - interval '1 second' "
		      "WHERE user_id = '%s'",
		      t.owner.user_id),
	    0);
	r = callback(&t, query);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "INVALID_STATE");
	h_resp_free(&r);

	/* Without a session, start is 401. */
	r = ident_call(&t.srv, "GET", "/api/ml/oauth/start", NULL, NULL);
	cr_assert_eq(r.status, 401, "%s", r.body);
	h_resp_free(&r);
	mlt_stop(&t);
}

Test(ml_oauth, redirects_to_app_url_when_set)
{
	mlt_t t;
	const char *env[] = {"APP_URL=http://front.test", NULL};
	mlt_start(&t, "603", 1, env);
	started_t s;
	start(&t, &s);
	h_resp_t r = callback(&t, approve(&t, &s, 0));
	cr_assert_eq(r.status, 302, "%s", r.body);
	const char *loc = h_header(&r, "Location");
	cr_assert(loc && strncmp(loc, "http://front.test/ml-accounts?connected=", 40) == 0, "%s",
		  loc);
	h_resp_free(&r);
	mlt_stop(&t);
}

/* Mercado Livre refusing the code is the client's 400 INVALID_CODE (errors.c maps it), the
 * state is spent all the same, and no account is made. */
Test(ml_oauth, a_refused_code_is_400_invalid_code)
{
	mlt_t t;
	mlt_start(&t, "604", 1, NULL);
	started_t s;
	start(&t, &s);
	char query[256];
	snprintf(query, sizeof(query), "code=TG-not-a-code&state=%s", s.state);
	h_resp_t r = callback(&t, query);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "INVALID_CODE", "%s", r.body);
	h_resp_free(&r);
	r = callback(&t, query);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "INVALID_STATE", "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&t.srv, "GET", "/api/ml-accounts", t.owner.access, NULL);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.total")), 0, "%s", r.body);
	h_resp_free(&r);
	mlt_stop(&t);
}
