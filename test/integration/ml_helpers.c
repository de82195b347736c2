/* Shared setup for the Mercado Livre account tests. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ml_helpers.h"

static void server_env(mlt_t *t, const char **env, const char *const extra[])
{
	snprintf(t->env[0], 512, "ML_API_URL=%s", h_url(&t->sim, ""));
	snprintf(t->env[1], 512, "ML_AUTH_URL=%s", h_url(&t->sim, ""));
	snprintf(t->env[2], 512, "ML_CLIENT_ID=%s", t->app.client_id);
	snprintf(t->env[3], 512, "ML_CLIENT_SECRET=%s", t->app.client_secret);
	snprintf(t->env[4], 512, "ML_REDIRECT_URI=http://app.test/cb");
	size_t n = 0;
	for (; n < 5; n++)
		env[n] = t->env[n];
	for (size_t i = 0; extra && extra[i] && n < 30; i++)
		env[n++] = extra[i];
	env[n] = NULL;
}

void mlt_start(mlt_t *t, const char *seed, int sellers, const char *const extra_env[])
{
	char n[16];
	snprintf(n, sizeof(n), "%d", sellers);
	const char *args[] = {"--seed",	  seed, "--sellers",   n,    "--items", "60",
			      "--orders", "80", "--questions", "30", NULL};
	mlt_start_args(t, args, extra_env);
}

void mlt_start_args(mlt_t *t, const char *const sim_args[], const char *const extra_env[])
{
	memset(t, 0, sizeof(*t));
	msh_start(&t->sim, &t->app, sim_args);
	mlt_start_server(t, &t->srv, extra_env);
	ident_signup(&t->srv, &t->owner);
}

void mlt_start_server(mlt_t *t, h_proc_t *srv, const char *const extra_env[])
{
	const char *env[32];
	server_env(t, env, extra_env);
	cr_assert(h_server_start(srv, env), "sellerhubd did not start");
}

void mlt_stop(mlt_t *t)
{
	int rc = h_proc_stop(&t->srv, 15);
	cr_expect_eq(rc, 0, "sellerhubd exit status %d", rc);
	msh_stop(&t->sim);
}

void mlt_add(mlt_t *t, const session_t *s, size_t i, long expires_s, char *id, msh_tokens_t *tok)
{
	msh_tokens_t mine;
	msh_tokens_t *k = tok ? tok : &mine;
	cr_assert(i < t->app.n_sellers);
	msh_login(&t->sim, &t->app, t->app.sellers[i], k);
	char when[32], body[1024];
	time_t at = time(NULL) + expires_s;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&at));
	snprintf(body, sizeof(body),
		 "{\"mlUserId\":\"%lld\",\"nickname\":\"seller_%zu\",\"email\":\"s%zu@ml.test\","
		 "\"accessToken\":\"%s\",\"refreshToken\":\"%s\",\"tokenExpiresAt\":\"%s\","
		 "\"accountName\":\"Loja %zu\",\"accountType\":\"store\"}",
		 (long long)t->app.sellers[i], i, i, k->access, k->refresh, when, i);
	h_resp_t r = ident_call(&t->srv, "POST", "/api/ml-accounts", s->access, body);
	cr_assert_eq(r.status, 201, "add account: %ld %s", r.status, r.body);
	mlt_assert_clean(&r, k->access);
	mlt_assert_clean(&r, k->refresh);
	snprintf(id, 40, "%s", json_string_value(h_json_path(r.json, "data.id")));
	h_resp_free(&r);
}

long mlt_token_calls(mlt_t *t)
{
	h_resp_t r = msh_sim(&t->sim, "GET", "/_sim/requests?path=/oauth/token&limit=1", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	long n = (long)json_integer_value(json_object_get(r.json, "count"));
	h_resp_free(&r);
	return n;
}

void mlt_assert_clean(const h_resp_t *r, const char *secret)
{
	cr_assert(r->body && !strstr(r->body, secret), "a token leaked into a response");
	cr_assert(!r->body || !strstr(r->body, "APP_USR-"), "a token leaked into a response");
}
