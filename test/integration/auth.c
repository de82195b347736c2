/* /api/auth over HTTP against the real server, PostgreSQL and Redis: the whole session life,
 * token forgeries, lockouts and limits, and the loop staying responsive while passwords hash. */
#include <criterion/criterion.h>
#include <jwt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ident.h"

static h_proc_t srv;

static void start(void)
{
	cr_assert(h_server_start(&srv, NULL), "sellerhubd did not start: see %s", srv.log_path);
}

static void stop(void)
{
	h_server_stop_clean(&srv);
}

TestSuite(auth, .init = start, .fini = stop, .timeout = 60);

static void expect_error(h_resp_t *r, long status, const char *code)
{
	cr_expect_eq(r->status, status, "want %ld %s, got %ld %s", status, code, r->status,
		     r->body);
	cr_expect_str_eq(ident_code(r), code, "%s", r->body);
	cr_expect(json_is_false(json_object_get(r->json, "success")));
}

Test(auth, register_login_me_refresh_reuse_logout)
{
	session_t s;
	ident_signup(&srv, &s);

	h_resp_t r = ident_login(&srv, s.email, GOOD_PW);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.user.role")), "owner");
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.tenant.plan")), "starter");
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.tokens.expiresIn")), 900);
	cr_assert_null(strstr(r.body, "password"), "%s", r.body);
	cr_assert_null(strstr(r.body, "argon2"), "%s", r.body);
	ident_take_tokens(&s, r.json);
	h_resp_free(&r);

	r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.user.id")), s.user_id);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.user.email")), s.email);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.tenant.id")), s.tenant_id);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.tenant.name")), "Loja Teste");
	json_t *perms = h_json_path(r.json, "data.permissions");
	cr_assert(json_array_size(perms) > 3);
	cr_assert(strstr(r.body, "\"users.manage\""));
	cr_assert_not_null(h_header(&r, "RateLimit-Limit"));
	h_resp_free(&r);

	char body[256], old[64];
	snprintf(old, sizeof(old), "%s", s.refresh);
	snprintf(body, sizeof(body), "{\"refreshToken\":\"%s\"}", old);
	r = ident_call(&srv, "POST", "/api/auth/refresh", NULL, body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	ident_take_tokens(&s, r.json);
	cr_assert_str_neq(s.refresh, old);
	h_resp_free(&r);
	/* The new access token works. */
	r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	/* The old one again: reuse, and the whole family (the new token too) is revoked. */
	r = ident_call(&srv, "POST", "/api/auth/refresh", NULL, body);
	expect_error(&r, 401, "TOKEN_REUSED");
	h_resp_free(&r);
	snprintf(body, sizeof(body), "{\"refreshToken\":\"%s\"}", s.refresh);
	r = ident_call(&srv, "POST", "/api/auth/refresh", NULL, body);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);

	/* A fresh session, then logout ends it. */
	r = ident_login(&srv, s.email, GOOD_PW);
	ident_take_tokens(&s, r.json);
	h_resp_free(&r);
	snprintf(body, sizeof(body), "{\"refreshToken\":\"%s\"}", s.refresh);
	r = ident_call(&srv, "POST", "/api/auth/logout", NULL, body);
	expect_error(&r, 401, "NO_TOKEN");
	h_resp_free(&r);
	r = ident_call(&srv, "POST", "/api/auth/logout", s.access, "{}");
	expect_error(&r, 400, "VALIDATION_FAILED");
	h_resp_free(&r);
	r = ident_call(&srv, "POST", "/api/auth/logout", s.access, body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_true(json_object_get(r.json, "success")));
	h_resp_free(&r);
	r = ident_call(&srv, "POST", "/api/auth/refresh", NULL, body);
	expect_error(&r, 401, "TOKEN_INVALID");
	char last[96];
	snprintf(last, sizeof(last), "\"req_id\":\"%s\"", h_header(&r, "X-Request-Id"));
	h_resp_free(&r);

	/* No password, hash or refresh token in any log line (up to the last request's). */
	char *log = h_proc_log_wait(&srv, last, 5000);
	cr_assert_null(strstr(log, GOOD_PW));
	cr_assert_null(strstr(log, "argon2"));
	cr_assert_null(strstr(log, s.refresh));
	cr_assert_null(strstr(log, old));
	cr_assert_null(strstr(log, s.access));
	free(log);
}

Test(auth, register_validates_every_field)
{
	h_resp_t r = ident_call(&srv, "POST", "/api/auth/register", NULL,
				"{\"email\":\"not-an-email\",\"password\":\"weakpass\","
				"\"fullName\":42,\"language\":\"fr\",\"timezone\":\"../x\","
				"\"phone\":\"12\"}");
	expect_error(&r, 400, "VALIDATION_FAILED");
	const char *want[][2] = {{"email", "must be an email address"},
				 {"password", "must contain an upper-case letter"},
				 {"fullName", "must be a string"},
				 {"companyName", "is required"},
				 {"language", "must be one of pt-BR, en-US, es"},
				 {"timezone", NULL},
				 {"phone", NULL}};
	json_t *details = json_object_get(r.json, "details");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;
		for (size_t j = 0; j < json_array_size(details); j++) {
			json_t *d = json_array_get(details, j);
			if (strcmp(json_string_value(json_object_get(d, "field")), want[i][0]))
				continue;
			found = true;
			if (want[i][1])
				cr_expect_str_eq(json_string_value(json_object_get(d, "problem")),
						 want[i][1]);
		}
		cr_expect(found, "no detail for %s in %s", want[i][0], r.body);
	}
	h_resp_free(&r);

	char name[160], body[512];
	memset(name, 'n', 101);
	name[101] = 0;
	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"" GOOD_PW "\",\"fullName\":\"%s\","
		 "\"companyName\":\"ok\"}",
		 ident_email("long"), name);
	r = ident_call(&srv, "POST", "/api/auth/register", NULL, body);
	expect_error(&r, 400, "VALIDATION_FAILED");
	cr_expect(strstr(r.body, "\"fullName\"") && strstr(r.body, "at most 100"), "%s", r.body);
	h_resp_free(&r);

	r = ident_call(&srv, "POST", "/api/auth/register", NULL, "[1,2]");
	expect_error(&r, 400, "VALIDATION_FAILED");
	h_resp_free(&r);
	r = ident_call(&srv, "POST", "/api/auth/register", NULL, "{not json");
	cr_expect_eq(r.status, 400);
	h_resp_free(&r);
	r = ident_call(&srv, "POST", "/api/auth/register", NULL, NULL);
	expect_error(&r, 400, "VALIDATION_FAILED");
	h_resp_free(&r);
}

Test(auth, register_twice_is_409_whatever_the_case)
{
	session_t s;
	ident_signup(&srv, &s);
	char upper[128], body[512];
	snprintf(upper, sizeof(upper), "%s", s.email);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"" GOOD_PW "\",\"fullName\":\"X\","
		 "\"companyName\":\"Y\",\"language\":\"en-US\",\"timezone\":\"UTC\"}",
		 upper);
	h_resp_t r = ident_call(&srv, "POST", "/api/auth/register", NULL, body);
	expect_error(&r, 409, "EMAIL_EXISTS");
	h_resp_free(&r);
	/* Login is case-insensitive too. */
	r = ident_login(&srv, upper, GOOD_PW);
	cr_expect_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

Test(auth, unknown_email_and_wrong_password_look_the_same)
{
	session_t s;
	ident_signup(&srv, &s);
	h_resp_t wrong = ident_login(&srv, s.email, "Wrong0Password");
	h_resp_t unknown = ident_login(&srv, ident_email("nobody"), "Wrong0Password");
	expect_error(&wrong, 401, "INVALID_CREDENTIALS");
	expect_error(&unknown, 401, "INVALID_CREDENTIALS");
	cr_expect_str_eq(wrong.body, unknown.body);
	/* Both verify an argon2id hash (the unknown one a dummy): neither is a quick answer. */
	cr_expect_gt(unknown.ms, wrong.ms / 4, "unknown %.1f ms, wrong %.1f ms", unknown.ms,
		     wrong.ms);
	cr_expect_gt(wrong.ms, unknown.ms / 4, "unknown %.1f ms, wrong %.1f ms", unknown.ms,
		     wrong.ms);
	h_resp_free(&wrong);
	h_resp_free(&unknown);
	h_resp_t r = ident_call(&srv, "POST", "/api/auth/login", NULL, "{\"email\":\"a@b.co\"}");
	expect_error(&r, 400, "VALIDATION_FAILED");
	h_resp_free(&r);
}

Test(auth, sixth_bad_login_is_429_with_retry_after)
{
	session_t s;
	ident_signup(&srv, &s);
	for (int i = 0; i < 5; i++) {
		h_resp_t r = ident_login(&srv, s.email, "Wrong0Password");
		expect_error(&r, 401, "INVALID_CREDENTIALS");
		h_resp_free(&r);
	}
	h_resp_t r = ident_login(&srv, s.email, "Wrong0Password");
	expect_error(&r, 429, "TOO_MANY_ATTEMPTS");
	const char *ra = h_header(&r, "Retry-After");
	cr_assert_not_null(ra);
	cr_expect(atoi(ra) > 0 && atoi(ra) <= 900, "Retry-After %s", ra);
	h_resp_free(&r);
	/* Even the right password waits now. */
	r = ident_login(&srv, s.email, GOOD_PW);
	expect_error(&r, 429, "TOO_MANY_ATTEMPTS");
	h_resp_free(&r);
}

Test(auth, locked_account_is_403_and_suspended_tenant_is_refused)
{
	session_t s;
	ident_signup(&srv, &s);
	cr_assert_eq(ident_sql("UPDATE users SET locked_until = now() + interval '5 minutes' "
			       "WHERE id = '%s'",
			       s.user_id),
		     0);
	h_resp_t r = ident_login(&srv, s.email, GOOD_PW);
	expect_error(&r, 403, "ACCOUNT_LOCKED");
	cr_expect_not_null(h_header(&r, "Retry-After"));
	h_resp_free(&r);
	cr_assert_eq(ident_sql("UPDATE users SET locked_until = NULL WHERE id = '%s'", s.user_id),
		     0);

	cr_assert_eq(ident_sql("UPDATE tenants SET active = false WHERE id = '%s'", s.tenant_id),
		     0);
	r = ident_login(&srv, s.email, GOOD_PW);
	expect_error(&r, 403, "TENANT_SUSPENDED");
	h_resp_free(&r);
	/* A valid access token no longer opens anything, nor does the refresh token. */
	r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
	expect_error(&r, 403, "TENANT_SUSPENDED");
	h_resp_free(&r);
	char body[128];
	snprintf(body, sizeof(body), "{\"refreshToken\":\"%s\"}", s.refresh);
	r = ident_call(&srv, "POST", "/api/auth/refresh", NULL, body);
	expect_error(&r, 403, "TENANT_SUSPENDED");
	h_resp_free(&r);
	/* Wrong passwords still get the same 401 (a suspended tenant is no oracle). */
	r = ident_login(&srv, s.email, "Wrong0Password");
	expect_error(&r, 401, "INVALID_CREDENTIALS");
	h_resp_free(&r);
}

static char *forge(jwt_alg_t alg, const char *key, const session_t *s, long exp_delta)
{
	jwt_t *j;
	jwt_new(&j);
	jwt_add_grant(j, "sub", s->user_id);
	jwt_add_grant(j, "tid", s->tenant_id);
	jwt_add_grant(j, "role", "owner");
	jwt_add_grant(j, "jti", "forged");
	jwt_add_grant_int(j, "iat", time(NULL));
	jwt_add_grant_int(j, "exp", time(NULL) + exp_delta);
	jwt_set_alg(j, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0);
	char *t = jwt_encode_str(j);
	jwt_free(j);
	return t;
}

Test(auth, missing_tampered_and_forged_tokens_are_refused)
{
	session_t s;
	ident_signup(&srv, &s);
	h_resp_t r = ident_call(&srv, "GET", "/api/auth/me", NULL, NULL);
	expect_error(&r, 401, "NO_TOKEN");
	cr_expect_not_null(h_header(&r, "WWW-Authenticate"));
	h_resp_free(&r);

	const char *basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
	r = h_http("GET", h_url(&srv, "/api/auth/me"), NULL, basic);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);

	char tampered[1024];
	snprintf(tampered, sizeof(tampered), "%s", s.access);
	char *sig = strrchr(tampered, '.') + 3;
	*sig = *sig == 'A' ? 'B' : 'A';
	r = ident_call(&srv, "GET", "/api/auth/me", tampered, NULL);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);

	char *none = forge(JWT_ALG_NONE, NULL, &s, 600);
	r = ident_call(&srv, "GET", "/api/auth/me", none, NULL);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);
	free(none);

	char *other = forge(JWT_ALG_HS256, "some-other-secret-some-other-secret-xx", &s, 600);
	r = ident_call(&srv, "GET", "/api/auth/me", other, NULL);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);
	free(other);

	r = ident_call(&srv, "GET", "/api/auth/me", "garbage", NULL);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);

	r = ident_call(&srv, "POST", "/api/auth/refresh", NULL, "{\"refreshToken\":\"nope\"}");
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);
	r = ident_call(&srv, "POST", "/api/auth/refresh", NULL,
		       "{\"refreshToken\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}");
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);
	r = ident_call(&srv, "POST", "/api/auth/refresh", NULL, "{\"refreshToken\":7}");
	expect_error(&r, 400, "VALIDATION_FAILED");
	h_resp_free(&r);
}

/* GET /api/auth/me with token until it stops answering 200: its last answer. sellerhubd reads the
 * real clock, so the test waits for the expiry itself, never for a guessed time. */
static h_resp_t me_until_refused(const char *token, int deadline_ms)
{
	h_resp_t r = {0};
	H_WAIT_UNTIL((h_resp_free(&r), r = ident_call(&srv, "GET", "/api/auth/me", token, NULL),
		      r.status != 200),
		     deadline_ms);
	return r;
}

Test(auth, expired_access_token_is_401_token_expired, .init = NULL)
{
	/* exp is iat + 2 in whole seconds: at least one second of life, at most two. */
	const char *env[] = {"JWT_TTL=2", NULL};
	cr_assert(h_server_start(&srv, env));
	session_t s;
	double before = h_now();
	ident_signup(&srv, &s);
	h_resp_t r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
	cr_assert_eq(r.status, 200, "a fresh token: %s", r.body);
	h_resp_free(&r);
	r = me_until_refused(s.access, 5000);
	expect_error(&r, 401, "TOKEN_EXPIRED");
	h_resp_free(&r);
	double lived = h_now() - before;
	cr_assert_geq(lived, 0.95, "expired %.2f s after it was asked for", lived);
	/* The refresh token still trades for a working access token. */
	char body[128];
	snprintf(body, sizeof(body), "{\"refreshToken\":\"%s\"}", s.refresh);
	r = ident_call(&srv, "POST", "/api/auth/refresh", NULL, body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.tokens.expiresIn")), 2);
	ident_take_tokens(&s, r.json);
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

Test(auth, general_limit_per_user_with_headers_but_never_on_health, .init = NULL)
{
	const char *env[] = {"RATE_LIMIT_PER_MINUTE=3", NULL};
	cr_assert(h_server_start(&srv, env));
	/* Register through a generously limited server: the per-address key is shared. */
	session_t s;
	h_proc_t other;
	cr_assert(h_server_start(&other, NULL));
	ident_signup(&other, &s);
	cr_assert_eq(h_proc_stop(&other, SIGTERM), 0);
	for (int i = 0; i < 3; i++) {
		h_resp_t r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
		cr_assert_eq(r.status, 200, "%d: %s", i, r.body);
		cr_expect_str_eq(h_header(&r, "RateLimit-Limit"), "3");
		cr_expect_eq(atoi(h_header(&r, "RateLimit-Remaining")), 2 - i);
		int reset = atoi(h_header(&r, "RateLimit-Reset"));
		cr_expect(reset >= 1 && reset <= 60, "reset %d", reset);
		h_resp_free(&r);
	}
	h_resp_t r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
	expect_error(&r, 429, "RATE_LIMITED");
	cr_expect_not_null(h_header(&r, "Retry-After"));
	cr_expect_str_eq(h_header(&r, "RateLimit-Remaining"), "0");
	h_resp_free(&r);
	for (int i = 0; i < 10; i++) {
		r = h_http("GET", h_url(&srv, "/health"), NULL, NULL);
		cr_assert_eq(r.status, 200);
		cr_assert_null(h_header(&r, "RateLimit-Limit"));
		h_resp_free(&r);
	}
}

/* --- with a private Redis: outages and the per-address login limit ------------------------- */

static h_proc_t redis;
static char redis_env[64];

static void start_private_redis(void)
{
	int port = h_free_port();
	static char port_s[16];
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(redis_env, sizeof(redis_env), "REDIS_URL=redis://127.0.0.1:%d", port);
	const char *argv[] = {"/usr/bin/redis-server", "--port", port_s,   "--save",	"",
			      "--appendonly",	       "no",	 "--bind", "127.0.0.1", NULL};
	cr_assert(h_proc_start(&redis, argv, NULL, port));
	const char *env[] = {redis_env, NULL};
	cr_assert(h_server_start(&srv, env));
}

static void stop_private_redis(void)
{
	stop();
	h_proc_stop(&redis, SIGTERM);
}

TestSuite(auth_redis, .init = start_private_redis, .fini = stop_private_redis, .timeout = 90);

Test(auth_redis, redis_down_login_works_and_fails_closed_locally)
{
	session_t s;
	ident_signup(&srv, &s);
	h_proc_stop(&redis, SIGKILL);
	cr_assert(H_WAIT_UNTIL(h_get_status(&srv, "/ready") == 503, 5000),
		  "sellerhubd did not notice that Redis is down");

	/* The general limit fails open... */
	h_resp_t r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_null(h_header(&r, "RateLimit-Limit"));
	h_resp_free(&r);
	r = ident_login(&srv, s.email, GOOD_PW);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	/* ...and login counts failures in the process. */
	for (int i = 0; i < 5; i++) {
		r = ident_login(&srv, s.email, "Wrong0Password");
		expect_error(&r, 401, "INVALID_CREDENTIALS");
		h_resp_free(&r);
	}
	r = ident_login(&srv, s.email, GOOD_PW);
	expect_error(&r, 429, "TOO_MANY_ATTEMPTS");
	h_resp_free(&r);
	/* Start Redis again for the suite's teardown. */
	const char *port = strrchr(redis_env, ':') + 1;
	const char *argv[] = {"/usr/bin/redis-server", "--port", port,	   "--save",	"",
			      "--appendonly",	       "no",	 "--bind", "127.0.0.1", NULL};
	cr_assert(h_proc_start(&redis, argv, NULL, atoi(port)));
}

/* An office behind one NAT: fifty failures for other e-mails from the address do not block a
 * correct password from it; failures for one e-mail from it still do (issue 17). */
Test(auth_redis, failures_for_other_emails_never_block_a_correct_password)
{
	session_t s;
	ident_signup(&srv, &s);
	for (int i = 0; i < 50; i++) {
		h_resp_t r = ident_login(&srv, ident_email("ghost"), "Wrong0Password");
		expect_error(&r, 401, "INVALID_CREDENTIALS");
		h_resp_free(&r);
	}
	h_resp_t r = ident_login(&srv, s.email, GOOD_PW);
	cr_expect_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	/* A stranger's typo from the same address does not either. */
	r = ident_login(&srv, ident_email("other"), "Wrong0Password");
	expect_error(&r, 401, "INVALID_CREDENTIALS");
	h_resp_free(&r);
	r = ident_login(&srv, s.email, GOOD_PW);
	cr_expect_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	/* Five failures for this e-mail from this address are a limit. */
	for (int i = 0; i < 5; i++) {
		r = ident_login(&srv, s.email, "Wrong0Password");
		expect_error(&r, 401, "INVALID_CREDENTIALS");
		h_resp_free(&r);
	}
	r = ident_login(&srv, s.email, GOOD_PW);
	expect_error(&r, 429, "TOO_MANY_ATTEMPTS");
	h_resp_free(&r);
}

/* --- 50 logins at once while /health stays fast -------------------------------------------- */

typedef struct burst {
	const char *email;
	long status;
} burst_t;

static void *burst_login(void *arg)
{
	burst_t *b = arg;
	h_resp_t r = ident_login(&srv, b->email, GOOD_PW);
	b->status = r.status;
	h_resp_free(&r);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

Test(auth, fifty_concurrent_logins_succeed_while_health_stays_fast, .timeout = 120)
{
	session_t s;
	ident_signup(&srv, &s);
	enum { N = 50 };
	pthread_t th[N];
	burst_t b[N];
	for (int i = 0; i < N; i++) {
		b[i] = (burst_t){s.email, 0};
		pthread_create(&th[i], NULL, burst_login, &b[i]);
	}
	double lat[2000];
	int n = 0;
	for (bool running = true; running && n < 2000;) {
		h_resp_t r = h_http("GET", h_url(&srv, "/health"), NULL, NULL);
		cr_assert_eq(r.status, 200);
		lat[n++] = r.ms;
		h_resp_free(&r);
		running = false;
		for (int i = 0; i < N; i++)
			running |= __atomic_load_n(&b[i].status, __ATOMIC_RELAXED) == 0;
		usleep(2000); /* the sampling rate of /health, not a wait for the logins */
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(b[i].status, 200, "login %d: %ld", i, b[i].status);
	}
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	double p99 = lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	cr_log_info("/health during 50 logins: %d samples, p50 %.2f ms, p99 %.2f ms, max %.2f ms",
		    n, lat[n / 2], p99, lat[n - 1]);
	cr_expect_geq(n, 10, "too few samples: %d", n);
	cr_expect_lt(p99, 50.0, "/health p99 %.2f ms during the burst", p99);
}
