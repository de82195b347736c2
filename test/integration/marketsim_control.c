/* marketsim: rate limiting, fault injection, the request log and counters, reset, determinism,
 * and notification delivery with retries and missed feeds (against msh_receiver). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "marketsim_helpers.h"

static h_proc_t sim;
static msh_app_t app;
static msh_tokens_t tok;

static void stop(void)
{
	msh_stop(&sim);
}

static void start_with(const char *const args[])
{
	msh_start(&sim, &app, args);
	msh_login(&sim, &app, app.sellers[0], &tok);
}

TestSuite(marketsim_control, .fini = stop, .timeout = 30);

Test(marketsim_control, token_bucket_answers_429)
{
	const char *args[] = {"--rate", "5", "--burst", "5", NULL};
	msh_start(&sim, &app, args);
	msh_clock(&sim, "{\"frozen\":true}"); /* the bucket refills only when the clock moves */
	msh_login(&sim, &app, app.sellers[0], &tok); /* spends 1 token (the token call) */
	int ok = 0, limited = 0;
	for (int i = 0; i < 20; i++) {
		h_resp_t r = msh_get(&sim, tok.access, "/users/me");
		if (r.status == 200)
			ok++;
		else {
			msh_assert_error(&r, 429, "too_many_requests");
			limited++;
		}
		h_resp_free(&r);
	}
	cr_assert_eq(ok, 4, "burst of 5 then empty: %d ok", ok);
	cr_assert_eq(ok + limited, 20);
	char form[512];
	snprintf(form, sizeof(form),
		 "grant_type=refresh_token&client_id=%s&client_secret=%s"
		 "&refresh_token=%s",
		 app.client_id, app.client_secret, tok.refresh);
	h_resp_t t = msh_token(&sim, form);
	cr_assert_eq(t.status, 429);
	cr_assert_str_eq(msh_str(t.json, "error"), "local_rate_limited");
	h_resp_free(&t);
	msh_clock_advance(&sim, 200); /* 5 req/s: one token */
	h_resp_t again = msh_get(&sim, tok.access, "/users/me");
	cr_assert_eq(again.status, 200);
	h_resp_free(&again);
	again = msh_get(&sim, tok.access, "/users/me");
	msh_assert_error(&again, 429, "too_many_requests");
	h_resp_free(&again);
	h_resp_t st = msh_sim(&sim, "GET", "/_sim/stats", NULL);
	json_t *by = json_object_get(st.json, "by_status");
	cr_assert_eq(json_integer_value(json_object_get(by, "429")), limited + 2, "%s", st.body);
	cr_assert_eq(json_integer_value(json_object_get(st.json, "rate_limited")), limited + 2);
	cr_assert_eq(json_integer_value(json_object_get(st.json, "requests")), ok + limited + 5,
		     "authorization, token, 20 calls, refresh, two more");
	h_resp_free(&st);
}

Test(marketsim_control, faults_status_latency_drop_and_clear)
{
	start_with(NULL);
	h_resp_t f = msh_sim(&sim, "POST", "/_sim/faults",
			     "{\"path\":\"/users/me\",\"status\":503,\"count\":2}");
	cr_assert_eq(f.status, 201, "%s", f.body);
	h_resp_free(&f);
	for (int i = 0; i < 2; i++) {
		h_resp_t r = msh_get(&sim, tok.access, "/users/me");
		msh_assert_error(&r, 503, "service_not_available");
		h_resp_free(&r);
	}
	h_resp_t after = msh_get(&sim, tok.access, "/users/me");
	cr_assert_eq(after.status, 200, "the count is used up");
	h_resp_free(&after);

	f = msh_sim(&sim, "POST", "/_sim/faults", "{\"path\":\"/items/*\",\"latency_ms\":300}");
	h_resp_free(&f);
	h_resp_t slow = msh_get(&sim, tok.access, "/items/MLB3000000001");
	cr_assert_eq(slow.status, 200);
	cr_assert_geq(slow.ms, 290, "latency injected: %.0f ms", slow.ms);
	h_resp_free(&slow);

	f = msh_sim(&sim, "POST", "/_sim/faults", "{\"path\":\"/orders/search\",\"drop\":true}");
	h_resp_free(&f);
	char path[96];
	snprintf(path, sizeof(path), "/orders/search?seller=%lld", (long long)app.sellers[0]);
	h_resp_t dropped = msh_get(&sim, tok.access, path);
	cr_assert_eq(dropped.status, 0, "connection dropped without an answer");
	h_resp_free(&dropped);

	f = msh_sim(&sim, "POST", "/_sim/faults", "{\"status\":700}");
	cr_assert_eq(f.status, 400);
	h_resp_free(&f);
	h_resp_t clear = msh_sim(&sim, "DELETE", "/_sim/faults", NULL);
	cr_assert_eq(clear.status, 200);
	h_resp_free(&clear);
	h_resp_t fine = msh_get(&sim, tok.access, path);
	cr_assert_eq(fine.status, 200);
	h_resp_free(&fine);
	h_resp_t fast = msh_get(&sim, tok.access, "/items/MLB3000000001");
	cr_assert_lt(fast.ms, 250);
	h_resp_free(&fast);

	h_resp_t reqs = msh_sim(&sim, "GET", "/_sim/requests?path=/orders/search", NULL);
	json_t *list = json_object_get(reqs.json, "requests");
	cr_assert_eq(json_integer_value(json_object_get(reqs.json, "count")), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(list, 0), "status")), 0,
		     "a dropped request is logged with status 0");
	cr_assert_str_eq(msh_str(json_array_get(list, 1), "query"),
			 path + strlen("/orders/search?"));
	h_resp_free(&reqs);
}

Test(marketsim_control, fault_rate_applies_to_a_share)
{
	start_with(NULL);
	h_resp_t f = msh_sim(&sim, "POST", "/_sim/faults",
			     "{\"path\":\"/users/me\",\"status\":500,\"rate\":0.5}");
	h_resp_free(&f);
	int failed = 0;
	for (int i = 0; i < 200; i++) {
		h_resp_t r = msh_get(&sim, tok.access, "/users/me");
		failed += r.status == 500;
		h_resp_free(&r);
	}
	cr_assert(failed > 60 && failed < 140, "about half fail: %d of 200", failed);
}

Test(marketsim_control, reset_rebuilds_with_new_options)
{
	start_with(NULL);
	h_resp_t r = msh_sim(&sim, "POST", "/_sim/reset",
			     "{\"seed\":99,\"sellers\":3,\"orders\":10,\"items\":30}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "sellers")), 3);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "orders")), 10);
	h_resp_free(&r);
	h_resp_t me = msh_get(&sim, tok.access, "/users/me");
	cr_assert_eq(me.status, 401, "tokens do not survive a reset");
	h_resp_free(&me);
	msh_read_app(&sim, &app);
	cr_assert_eq(app.n_sellers, 3);
	h_resp_t bad = msh_sim(&sim, "POST", "/_sim/reset", "{\"colour\":1}");
	cr_assert_eq(bad.status, 400);
	h_resp_free(&bad);
	h_resp_t log = msh_sim(&sim, "GET", "/_sim/requests", NULL);
	cr_assert_eq(json_integer_value(json_object_get(log.json, "count")), 1,
		     "the log restarts (only the 401 since)");
	h_resp_free(&log);
}

/* Same seed and --now: byte-identical pages from two processes; another seed differs. */
static char *orders_page(const char *seed, int page)
{
	const char *args[] = {"--seed", seed, "--orders", "300", "--now", "2026-01-15T00:00:00Z",
			      NULL};
	h_proc_t p;
	msh_app_t a;
	msh_tokens_t t;
	msh_start(&p, &a, args);
	msh_login(&p, &a, a.sellers[0], &t);
	char path[128];
	snprintf(path, sizeof(path), "/orders/search?seller=%lld&offset=%d&limit=50",
		 (long long)a.sellers[0], page * 50);
	h_resp_t r = msh_get(&p, t.access, path);
	cr_assert_eq(r.status, 200);
	char *body = strdup(r.body);
	h_resp_free(&r);
	msh_stop(&p);
	return body;
}

TestSuite(marketsim_determinism, .timeout = 30);

Test(marketsim_determinism, same_seed_same_bytes)
{
	char *a = orders_page("42", 1), *b = orders_page("42", 1), *c = orders_page("43", 1);
	cr_assert_gt(strlen(a), 1000);
	cr_assert_str_eq(a, b, "same seed, same bytes");
	cr_assert_str_neq(a, c, "another seed, other data");
	free(a);
	free(b);
	free(c);
}

/* ---- notifications (msh_receiver in marketsim_helpers.c) ---- */

/* The notification counters once nothing is pending and at least this much was delivered and
 * missed. */
static json_t *wait_stats(int want_delivered, int want_missed, double seconds)
{
	json_t *n = NULL;
	bool settled = H_WAIT_UNTIL(
	    ({
		    h_resp_t st = msh_sim(&sim, "GET", "/_sim/stats", NULL);
		    json_decref(n);
		    n = json_incref(json_object_get(st.json, "notifications"));
		    h_resp_free(&st);
		    json_integer_value(json_object_get(n, "delivered")) >=
			    want_delivered &&json_integer_value(json_object_get(n, "missed")) >=
			    want_missed &&json_integer_value(json_object_get(n, "pending")) ==
			0;
	    }),
	    (int)(seconds * 1000));
	char *dump = json_dumps(n, JSON_COMPACT);
	cr_assert(settled, "notifications did not settle: %s", dump);
	free(dump);
	return n;
}

static void set_target(int port)
{
	char body[128];
	snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%d/webhooks/ml?k=s3cret\"}",
		 port);
	h_resp_t r = msh_sim(&sim, "POST", "/_sim/notifications/target", body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

TestSuite(marketsim_notify, .fini = stop, .timeout = 30);

Test(marketsim_notify, retried_until_a_200)
{
	const char *args[] = {"--notify-retry-scale", "0.0005", NULL};
	start_with(args);
	msh_receiver_t rc;
	msh_receiver_start(&rc, 2, 0);
	set_target(rc.port);
	char body[64];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld}", (long long)app.sellers[0]);
	h_resp_t o = msh_sim(&sim, "POST", "/_sim/orders", body);
	cr_assert_eq(o.status, 201, "%s", o.body);
	long long oid = (long long)json_integer_value(json_object_get(o.json, "id"));
	json_t *n = wait_stats(1, 0, 10);
	cr_assert_eq(json_integer_value(json_object_get(n, "failed_attempts")), 2);
	json_decref(n);
	cr_assert_eq(msh_receiver_hits(&rc), 3);
	char resource[48];
	snprintf(resource, sizeof(resource), "/orders/%lld", oid);
	for (int i = 0; i < 3; i++) {
		json_t *b = json_array_get(rc.bodies, (size_t)i);
		cr_assert_str_eq(msh_str(b, "topic"), "orders_v2");
		cr_assert_str_eq(msh_str(b, "resource"), resource);
		cr_assert_eq(json_integer_value(json_object_get(b, "user_id")), app.sellers[0]);
		cr_assert_eq(json_integer_value(json_object_get(b, "attempts")), i + 1);
		cr_assert_eq(json_integer_value(json_object_get(b, "application_id")),
			     strtoll(app.client_id, NULL, 10));
		cr_assert_str_eq(msh_str(b, "_id"), msh_str(json_array_get(rc.bodies, 0), "_id"),
				 "retries carry the same _id");
		cr_assert(strchr(msh_str(b, "sent"), 'Z') && strchr(msh_str(b, "received"), 'Z'));
	}
	/* The order it announced exists and is the seller's. */
	char path[64];
	snprintf(path, sizeof(path), "/orders/%lld", oid);
	h_resp_t got = msh_get(&sim, tok.access, path);
	cr_assert_eq(got.status, 200);
	h_resp_free(&got);
	h_resp_t feeds =
	    msh_get(&sim, tok.access,
		    (snprintf(path, sizeof(path), "/missed_feeds?app_id=%s", app.client_id), path));
	cr_assert_eq(json_array_size(json_object_get(feeds.json, "messages")), 0);
	h_resp_free(&feeds);
	h_resp_free(&o);
	msh_receiver_stop(&rc);
}

Test(marketsim_notify, never_answered_lands_in_missed_feeds)
{
	const char *args[] = {"--notify-retry-scale", "0.0002", "--notify-attempts", "3", NULL};
	start_with(args);
	msh_receiver_t rc;
	msh_receiver_start(&rc, 1000, 0);
	set_target(rc.port);
	char body[128];
	snprintf(body, sizeof(body),
		 "{\"seller_id\":%lld,\"item_id\":\"MLB3000000001\",\"text\":\"Tem azul?\"}",
		 (long long)app.sellers[0]);
	h_resp_t q = msh_sim(&sim, "POST", "/_sim/questions", body);
	cr_assert_eq(q.status, 201, "%s", q.body);
	cr_assert_str_eq(msh_str(q.json, "status"), "UNANSWERED");
	h_resp_t patch = msh_sim(&sim, "PATCH", "/_sim/items/MLB3000000001", "{\"price\": 99.9}");
	cr_assert_eq(patch.status, 200, "%s", patch.body);
	json_t *n = wait_stats(0, 2, 10);
	json_decref(n);
	cr_assert_eq(msh_receiver_hits(&rc), 6, "3 attempts each");

	char path[128];
	snprintf(path, sizeof(path), "/missed_feeds?app_id=%s", app.client_id);
	h_resp_t feeds = msh_get(&sim, tok.access, path);
	cr_assert_eq(feeds.status, 200, "%s", feeds.body);
	json_t *msgs = json_object_get(feeds.json, "messages");
	cr_assert_eq(json_array_size(msgs), 2);
	/* Both gave up at their third attempt: which one did first is the scheduler's business. */
	json_t *m = json_array_get(msgs, 0), *other = json_array_get(msgs, 1);
	if (strcmp(msh_str(m, "topic"), "questions") != 0) {
		json_t *x = m;
		m = other;
		other = x;
	}
	cr_assert_str_eq(msh_str(m, "topic"), "questions");
	cr_assert_str_eq(msh_str(other, "topic"), "items");
	cr_assert_eq(json_integer_value(json_object_get(m, "attempts")), 3);
	json_t *resp = json_object_get(m, "response");
	cr_assert_eq(json_integer_value(json_object_get(resp, "http_code")), 500);
	cr_assert_str_eq(msh_str(resp, "body"), "nope");
	cr_assert(json_is_integer(json_object_get(resp, "req_time")));
	json_t *req = json_object_get(m, "request");
	cr_assert(strstr(msh_str(req, "url"), "/webhooks/ml?k=s3cret"));
	cr_assert_str_eq(msh_str(json_object_get(req, "data"), "resource"), msh_str(m, "resource"));

	snprintf(path, sizeof(path), "/missed_feeds?app_id=%s&topic=items&site_id=MLB",
		 app.client_id);
	h_resp_t items = msh_get(&sim, tok.access, path);
	cr_assert_eq(json_array_size(json_object_get(items.json, "messages")), 1);
	snprintf(path, sizeof(path), "/missed_feeds?app_id=%s&topic=items", app.client_id);
	h_resp_t no_site = msh_get(&sim, tok.access, path);
	cr_assert_eq(no_site.status, 400, "topic=items needs site_id");
	h_resp_t wrong_app = msh_get(&sim, tok.access, "/missed_feeds?app_id=1");
	cr_assert_eq(wrong_app.status, 403);
	h_resp_t *rs[] = {&q, &patch, &feeds, &items, &no_site, &wrong_app};
	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
		h_resp_free(rs[i]);
	msh_receiver_stop(&rc);
}

Test(marketsim_notify, a_slow_200_is_a_failure)
{
	const char *args[] = {"--notify-retry-scale", "0.0002", "--notify-attempts", "2", NULL};
	start_with(args);
	msh_receiver_t rc;
	msh_receiver_start(&rc, 0, 700); /* answers 200, but after 700 ms > 500 ms */
	set_target(rc.port);
	char body[64];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld}", (long long)app.sellers[0]);
	h_resp_t o = msh_sim(&sim, "POST", "/_sim/orders", body);
	json_t *n = wait_stats(0, 1, 10);
	cr_assert_eq(json_integer_value(json_object_get(n, "delivered")), 0);
	cr_assert_eq(json_integer_value(json_object_get(n, "failed_attempts")), 2);
	json_decref(n);
	h_resp_free(&o);
	msh_receiver_stop(&rc);
}

Test(marketsim_notify, without_a_target_nothing_is_sent)
{
	start_with(NULL);
	char body[128];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld}", (long long)app.sellers[0]);
	h_resp_t o = msh_sim(&sim, "POST", "/_sim/orders", body);
	cr_assert_eq(o.status, 201);
	h_resp_t st = msh_sim(&sim, "GET", "/_sim/stats", NULL);
	json_t *n = json_object_get(st.json, "notifications");
	cr_assert_eq(json_integer_value(json_object_get(n, "no_target")), 1);
	h_resp_free(&st);
	h_resp_free(&o);
	h_resp_t bad = msh_sim(&sim, "POST", "/_sim/notifications/target", "{\"url\":\"ftp://x\"}");
	cr_assert_eq(bad.status, 400);
	h_resp_free(&bad);
}

/* ---- the clock: expiry and schedules move with POST /_sim/clock, not with waiting ---- */

TestSuite(marketsim_clock, .fini = stop, .timeout = 30);

static json_t *clock_now(void)
{
	h_resp_t r = msh_sim(&sim, "GET", "/_sim/clock", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *j = json_incref(r.json);
	h_resp_free(&r);
	return j;
}

/* An access token answers until expires_in has passed on marketsim's clock, then gets Mercado
 * Livre's 401; its refresh token still trades for a working one. */
Test(marketsim_clock, advancing_the_clock_expires_an_access_token)
{
	msh_start(&sim, &app, NULL); /* --token-ttl: 21600 s, as documented */
	msh_clock(&sim, "{\"frozen\":true}");
	json_t *c = clock_now();
	long long frozen_at = json_integer_value(json_object_get(c, "nowMs"));
	json_decref(c);
	const char *code = msh_authorize(&sim, &app, app.sellers[0], NULL);
	char form[512];
	snprintf(form, sizeof(form),
		 "grant_type=authorization_code&client_id=%s&client_secret=%s&code=%s"
		 "&redirect_uri=http://app.test/cb",
		 app.client_id, app.client_secret, code);
	h_resp_t t = msh_token(&sim, form);
	cr_assert_eq(t.status, 200, "%s", t.body);
	long long life_ms = json_integer_value(json_object_get(t.json, "expires_in")) * 1000;
	cr_assert_eq(life_ms, 21600 * 1000);
	snprintf(tok.access, sizeof(tok.access), "%s", msh_str(t.json, "access_token"));
	snprintf(tok.refresh, sizeof(tok.refresh), "%s", msh_str(t.json, "refresh_token"));
	h_resp_free(&t);

	msh_clock_advance(&sim, life_ms - 1);
	h_resp_t r = msh_get(&sim, tok.access, "/users/me");
	cr_assert_eq(r.status, 200, "1 ms before expiry: %s", r.body);
	h_resp_free(&r);
	msh_clock_advance(&sim, 2);
	r = msh_get(&sim, tok.access, "/users/me");
	msh_assert_error(&r, 401, "unauthorized_request_error");
	cr_assert_str_eq(msh_str(r.json, "message"), "expired access token");
	h_resp_free(&r);
	c = clock_now();
	cr_assert_eq(json_integer_value(json_object_get(c, "nowMs")) - frozen_at, life_ms + 1);
	cr_assert(json_is_true(json_object_get(c, "frozen")));
	json_decref(c);

	snprintf(form, sizeof(form),
		 "grant_type=refresh_token&client_id=%s&client_secret=%s&refresh_token=%s",
		 app.client_id, app.client_secret, tok.refresh);
	t = msh_token(&sim, form);
	cr_assert_eq(t.status, 200, "%s", t.body);
	r = msh_get(&sim, msh_str(t.json, "access_token"), "/users/me");
	cr_assert_eq(r.status, 200, "the refreshed token: %s", r.body);
	h_resp_free(&r);
	h_resp_free(&t);
}

/* The clock runs with the real one unless frozen, only goes forward, and what marketsim writes
 * (an order's dates) is stamped with it. */
Test(marketsim_clock, moves_forward_only_and_stamps_what_marketsim_writes)
{
	start_with(NULL);
	json_t *c = clock_now();
	long long real = (long long)time(NULL) * 1000;
	long long now = json_integer_value(json_object_get(c, "nowMs"));
	cr_assert(now > real - 5000 && now < real + 5000, "nowMs %lld, real %lld", now, real);
	cr_assert_eq(json_integer_value(json_object_get(c, "offsetMs")), 0);
	cr_assert(json_is_false(json_object_get(c, "frozen")));
	json_decref(c);

	const char *bad[] = {"{\"advanceMs\":-1}",
			     "{\"nowMs\":1000}",
			     "{\"advanceMs\":\"1\"}",
			     "{\"frozen\":1}",
			     "{}",
			     "[1]",
			     "{\"advanceMs\":1,\"nowMs\":1}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h_resp_t r = msh_sim(&sim, "POST", "/_sim/clock", bad[i]);
		msh_assert_error(&r, 400, "bad_request");
		h_resp_free(&r);
	}

	/* 2031-01-01T00:00:00Z, frozen there: orders are created at that instant. */
	msh_clock(&sim, "{\"frozen\":true,\"nowMs\":1924992000000}");
	c = clock_now();
	cr_assert_eq(json_integer_value(json_object_get(c, "nowMs")), 1924992000000LL);
	cr_assert_str_eq(msh_str(c, "now"), "2031-01-01T00:00:00.000Z");
	json_decref(c);
	char body[64];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld}", (long long)app.sellers[0]);
	h_resp_t o = msh_sim(&sim, "POST", "/_sim/orders", body);
	cr_assert_eq(o.status, 201, "%s", o.body);
	cr_assert_str_eq(msh_str(o.json, "date_created"), "2030-12-31T21:00:00.000-03:00");
	h_resp_free(&o);

	/* Thawed, it runs on from where it was. */
	msh_clock(&sim, "{\"frozen\":false}");
	c = clock_now();
	now = json_integer_value(json_object_get(c, "nowMs"));
	cr_assert(now >= 1924992000000LL && now < 1924992000000LL + 5000, "nowMs %lld", now);
	json_decref(c);
}

/* Mercado Livre's retry schedule is an hour long: its first wait (28 s) passes by moving the
 * clock, and not one millisecond early. */
Test(marketsim_clock, notification_retries_follow_the_clock)
{
	start_with(NULL); /* --notify-retry-scale 1: the real schedule */
	msh_clock(&sim, "{\"frozen\":true}");
	msh_receiver_t rc;
	msh_receiver_start(&rc, 1, 0);
	set_target(rc.port);
	char body[64];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld}", (long long)app.sellers[0]);
	h_resp_t o = msh_sim(&sim, "POST", "/_sim/orders", body);
	cr_assert_eq(o.status, 201, "%s", o.body);
	h_resp_free(&o);
	bool failed_once =
	    H_WAIT_UNTIL(({
				 h_resp_t st = msh_sim(&sim, "GET", "/_sim/stats", NULL);
				 bool done = json_integer_value(h_json_path(
						 st.json, "notifications.failed_attempts")) == 1;
				 h_resp_free(&st);
				 done;
			 }),
			 10000);
	cr_assert(failed_once, "the first attempt did not fail");

	/* 3600 s / (2^7 - 1) = 28.346 s before attempt 2. */
	msh_clock_advance(&sim, 28000);
	h_resp_t st = msh_sim(&sim, "GET", "/_sim/stats", NULL);
	cr_assert_eq(json_integer_value(h_json_path(st.json, "notifications.pending")), 1, "%s",
		     st.body);
	h_resp_free(&st);
	cr_assert_eq(msh_receiver_hits(&rc), 1, "retried before its time");
	msh_clock_advance(&sim, 400);
	json_t *n = wait_stats(1, 0, 10);
	cr_assert_eq(json_integer_value(json_object_get(n, "failed_attempts")), 1);
	json_decref(n);
	cr_assert_eq(msh_receiver_hits(&rc), 2);
	msh_receiver_stop(&rc);
}
