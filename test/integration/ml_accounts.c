/* /api/ml-accounts against marketsim, PostgreSQL and Redis: the seed's workflow, primary rules,
 * validation, tenant isolation, concurrent refreshes (one reaches Mercado Livre), a revoked
 * grant, and no token in the database, the log or any response. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml_helpers.h"

TestSuite(ml_accounts, .timeout = 60);

static const char *path(const char *fmt, const char *id)
{
	static __thread char buf[4][256];
	static __thread int n;
	char *b = buf[n++ % 4];
	snprintf(b, 256, fmt, id);
	return b;
}

static long long int_at(json_t *j, const char *p)
{
	return (long long)json_integer_value(h_json_path(j, p));
}

static const char *str_at(json_t *j, const char *p)
{
	return json_string_value(h_json_path(j, p));
}

static h_resp_t call(mlt_t *t, const char *method, const char *p, const char *body)
{
	return ident_call(&t->srv, method, p, t->owner.access, body);
}

static long status_of(mlt_t *t, const char *method, const char *p, const char *body)
{
	h_resp_t r = call(t, method, p, body);
	long s = r.status;
	h_resp_free(&r);
	return s;
}

Test(ml_accounts, the_seed_workflow_end_to_end)
{
	mlt_t t;
	mlt_start(&t, "501", 3, NULL);
	char a[40], b[40];
	msh_tokens_t tok;
	mlt_add(&t, &t.owner, 0, 6 * 3600, a, &tok);
	mlt_add(&t, &t.owner, 1, 6 * 3600, b, NULL);

	/* Missing fields: 400 with each one listed. */
	h_resp_t r = call(&t, "POST", "/api/ml-accounts", "{\"nickname\":\"x\"}");
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED");
	cr_assert_geq(json_array_size(json_object_get(r.json, "details")), 5, "%s", r.body);
	cr_assert(strstr(r.body, "mlUserId") && strstr(r.body, "accessToken") &&
		  strstr(r.body, "tokenExpiresAt"));
	h_resp_free(&r);

	/* The same seller again, with its own tokens: 409. */
	char body[1024];
	snprintf(body, sizeof(body),
		 "{\"mlUserId\":%lld,\"nickname\":\"n\",\"email\":\"e@ml.test\",\"accessToken\":"
		 "\"%s\",\"refreshToken\":\"b\",\"tokenExpiresAt\":\"2030-01-01T00:00:00Z\"}",
		 (long long)t.app.sellers[0], tok.access);
	r = call(&t, "POST", "/api/ml-accounts", body);
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "message"),
			 "This Mercado Livre account is already connected");
	h_resp_free(&r);

	/* Another tenant claims the seller with made-up tokens, or with another seller's: 400,
	 * nothing stored (it would see the seller's notifications, and take them). */
	session_t other;
	ident_signup(&t.srv, &other);
	const char *const fakes[] = {"made-up", tok.access};
	for (size_t i = 0; i < 2; i++) {
		snprintf(body, sizeof(body),
			 "{\"mlUserId\":%lld,\"nickname\":\"n\",\"email\":\"e@ml.test\","
			 "\"accessToken\":\"%s\",\"refreshToken\":\"b\",\"tokenExpiresAt\":"
			 "\"2030-01-01T00:00:00Z\"}",
			 (long long)t.app.sellers[i == 0 ? 0 : 1], fakes[i]);
		r = ident_call(&t.srv, "POST", "/api/ml-accounts", other.access, body);
		cr_assert_eq(r.status, 400, "%s", r.body);
		cr_assert_not_null(strstr(r.body, "accessToken"), "%s", r.body);
		h_resp_free(&r);
	}
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM accounts WHERE tenant_id = '%s'", other.tenant_id), 0);

	/* List: the first is primary. */
	r = call(&t, "GET", "/api/ml-accounts", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.total"), 2);
	json_t *list = h_json_path(r.json, "data.accounts");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), a);
	cr_assert(json_is_true(json_object_get(json_array_get(list, 0), "isPrimary")));
	cr_assert(json_is_false(json_object_get(json_array_get(list, 1), "isPrimary")));
	mlt_assert_clean(&r, tok.access);
	h_resp_free(&r);

	/* Get in detail. */
	r = call(&t, "GET", path("/api/ml-accounts/%s", a), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "data.status"), "active");
	cr_assert_str_eq(str_at(r.json, "data.accountType"), "store");
	cr_assert(json_is_array(h_json_path(r.json, "data.errorHistory")));
	cr_assert_null(h_json_path(r.json, "data.accessToken"));
	h_resp_free(&r);

	/* Update: name, interval; out-of-range interval is 400; b becomes primary. */
	r = call(&t, "PUT", path("/api/ml-accounts/%s", a),
		 "{\"accountName\":\"Renamed\",\"syncInterval\":600000,"
		 "\"notificationsEnabled\":false}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "data.accountName"), "Renamed");
	cr_assert_eq(int_at(r.json, "data.syncInterval"), 600000);
	h_resp_free(&r);
	cr_assert_eq(
	    status_of(&t, "PUT", path("/api/ml-accounts/%s", a), "{\"syncInterval\":59999}"), 400);
	cr_assert_eq(status_of(&t, "PUT", path("/api/ml-accounts/%s", a), "{\"isPrimary\":false}"),
		     409);
	r = call(&t, "PUT", path("/api/ml-accounts/%s", b), "{\"isPrimary\":true}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_true(h_json_path(r.json, "data.isPrimary")));
	h_resp_free(&r);
	r = call(&t, "GET", path("/api/ml-accounts/%s", a), NULL);
	cr_assert(json_is_false(h_json_path(r.json, "data.isPrimary")), "%s", r.body);
	h_resp_free(&r);

	/* Sync one: counts from marketsim. */
	r = call(&t, "POST", path("/api/ml-accounts/%s/sync", a), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "data.accountId"), a);
	long long products = int_at(r.json, "data.data.products");
	cr_assert_gt(products, 0, "%s", r.body);
	h_resp_free(&r);
	char p[128];
	snprintf(p, sizeof(p), "/users/%lld/items/search?limit=1", (long long)t.app.sellers[0]);
	r = msh_get(&t.sim, tok.access, p);
	cr_assert_eq(int_at(r.json, "paging.total"), products);
	h_resp_free(&r);
	r = call(&t, "GET", path("/api/ml-accounts/%s", a), NULL);
	cr_assert_str_eq(str_at(r.json, "data.lastSyncStatus"), "success");
	cr_assert_eq(int_at(r.json, "data.cachedData.products"), products);
	cr_assert(json_is_string(h_json_path(r.json, "data.lastSync")));
	cr_assert(json_is_string(h_json_path(r.json, "data.nextSync")));
	h_resp_free(&r);

	/* Sync all. */
	r = call(&t, "POST", "/api/ml-accounts/sync-all", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.summary.total"), 2);
	cr_assert_eq(int_at(r.json, "data.summary.successful"), 2, "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "message"), "Synchronized 2/2 accounts");
	h_resp_free(&r);

	/* Pause and resume. */
	r = call(&t, "PUT", path("/api/ml-accounts/%s/pause", a), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "data.status"), "paused");
	cr_assert(json_is_false(h_json_path(r.json, "data.syncEnabled")));
	h_resp_free(&r);
	r = call(&t, "PUT", path("/api/ml-accounts/%s/resume", a), NULL);
	cr_assert_str_eq(str_at(r.json, "data.status"), "active");
	cr_assert(json_is_true(h_json_path(r.json, "data.syncEnabled")));
	h_resp_free(&r);

	/* Refresh the token (past the grace period) and read its health. */
	cr_assert_eq(ident_sql("UPDATE ml_accounts SET refreshed_at = now() - interval '1 hour' "
			       "WHERE id = '%s'",
			       a),
		     0);
	long before = mlt_token_calls(&t);
	r = call(&t, "PUT", path("/api/ml-accounts/%s/refresh-token", a), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "data.status"), "active");
	cr_assert_eq(int_at(r.json, "data.tokenInfo.healthPercent"), 100, "%s", r.body);
	cr_assert(json_is_false(h_json_path(r.json, "data.tokenInfo.needsRefresh")));
	mlt_assert_clean(&r, tok.refresh);
	h_resp_free(&r);
	cr_assert_eq(mlt_token_calls(&t), before + 1);
	r = call(&t, "GET", path("/api/ml-accounts/%s/token-info", a), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_geq(int_at(r.json, "data.tokenInfo.timeToExpiry"), 21000);
	cr_assert(json_is_string(h_json_path(r.json, "data.tokenInfo.mlUserId")), "%s", r.body);
	cr_assert(json_is_false(h_json_path(r.json, "data.tokenInfo.isExpired")));
	h_resp_free(&r);
	/* The new token works. */
	cr_assert_eq(status_of(&t, "POST", path("/api/ml-accounts/%s/sync", a), NULL), 200);

	/* Delete the primary (b): a is promoted. */
	cr_assert_eq(status_of(&t, "DELETE", path("/api/ml-accounts/%s", b), NULL), 200);
	cr_assert_eq(status_of(&t, "GET", path("/api/ml-accounts/%s", b), NULL), 404);
	r = call(&t, "GET", path("/api/ml-accounts/%s", a), NULL);
	cr_assert(json_is_true(h_json_path(r.json, "data.isPrimary")), "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(status_of(&t, "GET", "/api/ml-accounts/not-a-uuid", NULL), 404);
	cr_assert_eq(
	    status_of(&t, "GET", "/api/ml-accounts/00000000-0000-4000-8000-000000000000", NULL),
	    404);
	mlt_stop(&t);
}

Test(ml_accounts, a_tenant_cannot_see_or_touch_another_tenants_account)
{
	mlt_t t;
	mlt_start(&t, "502", 1, NULL);
	char a[40];
	mlt_add(&t, &t.owner, 0, 6 * 3600, a, NULL);
	session_t other;
	ident_signup(&t.srv, &other);
	static const char *const routes[][2] = {
	    {"GET", "/api/ml-accounts/%s"},
	    {"PUT", "/api/ml-accounts/%s"},
	    {"DELETE", "/api/ml-accounts/%s"},
	    {"POST", "/api/ml-accounts/%s/sync"},
	    {"PUT", "/api/ml-accounts/%s/pause"},
	    {"PUT", "/api/ml-accounts/%s/resume"},
	    {"PUT", "/api/ml-accounts/%s/refresh-token"},
	    {"GET", "/api/ml-accounts/%s/token-info"},
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		h_resp_t r = ident_call(&t.srv, routes[i][0], path(routes[i][1], a), other.access,
					routes[i][0][0] == 'P' ? "{}" : NULL);
		cr_assert_eq(r.status, 404, "%s %s: %ld %s", routes[i][0], routes[i][1], r.status,
			     r.body);
		h_resp_free(&r);
	}
	h_resp_t r = ident_call(&t.srv, "GET", "/api/ml-accounts", other.access, NULL);
	cr_assert_eq(int_at(r.json, "data.total"), 0, "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&t.srv, "POST", "/api/ml-accounts/sync-all", other.access, NULL);
	cr_assert_eq(int_at(r.json, "data.summary.total"), 0, "%s", r.body);
	h_resp_free(&r);
	/* The owner's account is untouched and a viewer cannot manage it. */
	session_t viewer;
	ident_add_user(&t.srv, &t.owner, "viewer", &viewer);
	cr_assert_eq(status_of(&t, "GET", path("/api/ml-accounts/%s", a), NULL), 200);
	r = ident_call(&t.srv, "DELETE", path("/api/ml-accounts/%s", a), viewer.access, NULL);
	cr_assert_eq(r.status, 403, "%s", r.body);
	h_resp_free(&r);
	mlt_stop(&t);
}

typedef struct refresher {
	mlt_t *t;
	const char *id;
	long status;
} refresher_t;

static void *refresh_thread(void *arg)
{
	refresher_t *f = arg;
	f->status = status_of(f->t, "PUT", path("/api/ml-accounts/%s/refresh-token", f->id), NULL);
	return NULL;
}

Test(ml_accounts, twenty_concurrent_refreshes_and_two_timers_make_one_refresh_call)
{
	/* A database of its own: these timers sweep every account of their database, and other
	 * tests' timers would sweep this one. */
	h_database_private();
	mlt_t t;
	const char *env[] = {"TOKEN_SWEEP_MS=100", NULL};
	mlt_start(&t, "503", 2, env);
	h_proc_t second;
	mlt_start_server(&t, &second, env); /* another process with its own timer */
	char a[40], witness[40];
	/* Connected healthy, so no timer refreshes it while the test sets it up; then expiring
	 * within 30 minutes (both timers want it too) and last refreshed hours ago. Every refresh
	 * call from here on is counted. */
	mlt_add(&t, &t.owner, 0, 60 * 60, a, NULL);
	mlt_add(&t, &t.owner, 1, 60 * 60, witness, NULL);
	long before = mlt_token_calls(&t);
	cr_assert_eq(ident_sql("UPDATE ml_accounts SET refreshed_at = now() - interval '5 hours', "
			       "token_expires_at = now() + interval '10 minutes' WHERE id = '%s'",
			       a),
		     0);
	pthread_t th[20];
	refresher_t f[20];
	for (int i = 0; i < 20; i++) {
		f[i] = (refresher_t){&t, a, 0};
		pthread_create(&th[i], NULL, refresh_thread, &f[i]);
	}
	for (int i = 0; i < 20; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(f[i].status, 200, "caller %d got %ld", i, f[i].status);
	}
	/* A witness falls due now: its refresh is a timer sweep that began after every caller had
	 * its answer, which a late second refresh of the account would have come with. */
	cr_assert_eq(ident_sql("UPDATE ml_accounts SET refreshed_at = now() - interval '5 hours', "
			       "token_expires_at = now() + interval '10 minutes' WHERE id = '%s'",
			       witness),
		     0);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM ml_accounts WHERE id = '%s' AND "
					 "token_expires_at > now() + interval '1 hour'",
					 witness) == 1,
			       5000),
		  "no timer swept after the refreshes");
	cr_assert_eq(
	    mlt_token_calls(&t), before + 2,
	    "exactly one refresh of the account (and the witness's) reached Mercado Livre");
	/* Everyone's token works: a sync through either process succeeds. */
	cr_assert_eq(status_of(&t, "POST", path("/api/ml-accounts/%s/sync", a), NULL), 200);
	h_resp_t r =
	    ident_call(&second, "POST", path("/api/ml-accounts/%s/sync", a), t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(h_proc_stop(&second, 15), 0);
	mlt_stop(&t);
}

Test(ml_accounts, a_revoked_grant_marks_the_account_expired)
{
	mlt_t t;
	mlt_start(&t, "504", 1, NULL);
	char a[40];
	mlt_add(&t, &t.owner, 0, 6 * 3600, a, NULL);
	char p[128];
	snprintf(p, sizeof(p), "/_sim/grants/%lld/revoke", (long long)t.app.sellers[0]);
	h_resp_t r = msh_sim(&t.sim, "POST", p, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	/* The 401 triggers one refresh, which gets invalid_grant. */
	r = call(&t, "POST", path("/api/ml-accounts/%s/sync", a), NULL);
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "ACCOUNT_EXPIRED");
	h_resp_free(&r);
	r = call(&t, "GET", path("/api/ml-accounts/%s", a), NULL);
	cr_assert_str_eq(str_at(r.json, "data.status"), "expired", "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "data.lastSyncStatus"), "failed");
	cr_assert_geq(int_at(r.json, "data.errorCount"), 1);
	json_t *first = json_array_get(h_json_path(r.json, "data.errorHistory"), 0);
	cr_assert(json_is_string(json_object_get(first, "time")) &&
		      json_is_string(json_object_get(first, "kind")) &&
		      json_is_string(json_object_get(first, "message")),
		  "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(status_of(&t, "PUT", path("/api/ml-accounts/%s/refresh-token", a), NULL), 409);
	r = call(&t, "POST", "/api/ml-accounts/sync-all", NULL);
	cr_assert_eq(int_at(r.json, "data.summary.failed"), 1, "%s", r.body);
	h_resp_free(&r);
	mlt_stop(&t);
}

Test(ml_accounts, the_error_history_keeps_the_last_twenty)
{
	mlt_t t;
	mlt_start(&t, "505", 1, NULL);
	char a[40];
	mlt_add(&t, &t.owner, 0, 6 * 3600, a, NULL);
	h_resp_t r =
	    msh_sim(&t.sim, "POST", "/_sim/faults", "{\"path\":\"/orders/search\",\"status\":400}");
	cr_assert(r.status == 200 || r.status == 201, "%s", r.body);
	h_resp_free(&r);
	for (int i = 0; i < 22; i++)
		cr_assert_eq(status_of(&t, "POST", path("/api/ml-accounts/%s/sync", a), NULL), 502);
	r = call(&t, "GET", path("/api/ml-accounts/%s", a), NULL);
	cr_assert_eq(int_at(r.json, "data.errorCount"), 22);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.errorHistory")), 20);
	cr_assert_str_eq(str_at(r.json, "data.status"), "error");
	cr_assert(strstr(str_at(r.json, "data.lastSyncError"), "400"), "%s", r.body);
	h_resp_free(&r);
	/* A success brings it back. */
	r = msh_sim(&t.sim, "DELETE", "/_sim/faults", NULL);
	h_resp_free(&r);
	cr_assert_eq(status_of(&t, "POST", path("/api/ml-accounts/%s/sync", a), NULL), 200);
	r = call(&t, "GET", path("/api/ml-accounts/%s", a), NULL);
	cr_assert_str_eq(str_at(r.json, "data.status"), "active", "%s", r.body);
	h_resp_free(&r);
	mlt_stop(&t);
}

Test(ml_accounts, no_token_in_the_database_dump_the_log_or_responses)
{
	mlt_t t;
	mlt_start(&t, "506", 2, NULL);
	char a[40], b[40];
	msh_tokens_t ta, tb;
	mlt_add(&t, &t.owner, 0, 6 * 3600, a, &ta);
	mlt_add(&t, &t.owner, 1, 6 * 3600, b, &tb);
	cr_assert_eq(ident_sql("UPDATE ml_accounts SET refreshed_at = now() - interval '1 hour' "
			       "WHERE id = '%s'",
			       a),
		     0);
	const char *const calls[][2] = {{"POST", "/api/ml-accounts/%s/sync"},
					{"PUT", "/api/ml-accounts/%s/refresh-token"},
					{"GET", "/api/ml-accounts/%s"},
					{"GET", "/api/ml-accounts/%s/token-info"}};
	for (size_t i = 0; i < 4; i++) {
		h_resp_t r = call(&t, calls[i][0], path(calls[i][1], a), NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		mlt_assert_clean(&r, ta.access);
		mlt_assert_clean(&r, ta.refresh);
		h_resp_free(&r);
	}
	const char *secrets[] = {ta.access, ta.refresh, tb.access, tb.refresh, "APP_USR-"};
	for (size_t i = 0; i < 5; i++)
		cr_assert_neq(
		    h_sh("pg_dump '%s' | grep -qF -- '%s'", h_env("DATABASE_URL"), secrets[i]), 0,
		    "a plaintext token is in the database dump");
	char *log = h_proc_log(&t.srv);
	for (size_t i = 0; i < 5; i++)
		cr_assert_null(strstr(log, secrets[i]), "a token is in the server log");
	free(log);
	mlt_stop(&t);
}
