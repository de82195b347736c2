/* Sync of Mercado Livre data against marketsim: a backfill that matches marketsim exactly
 * (items past the 1000-offset cap, variations, orders, shipments, questions), webhooks that
 * keep it current, a notification during a backfill, a restart mid-backfill that resumes, 429
 * storms, answering a question, the scheduled incremental sync (by hand, and by the timers of two
 * processes), the lists (filters, sorting, page/limit and cursors, stats) and tenant isolation.
 * Each test has its own marketsim seed, so seller ids never clash between tests sharing the
 * database. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ml_helpers.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char pbuf[8][512];
static int pslot;

/* printf into one of a few rotating buffers (several paths alive in one expression). */
__attribute__((format(printf, 1, 2))) static const char *fmt(const char *f, ...)
{
	char *b = pbuf[pslot++ % 8];
	va_list ap;
	va_start(ap, f);
	vsnprintf(b, 512, f, ap);
	va_end(ap);
	return b;
}

static long long int_at(json_t *j, const char *p)
{
	return (long long)json_integer_value(h_json_path(j, p));
}

static double num_at(json_t *j, const char *p)
{
	return json_number_value(h_json_path(j, p));
}

static const char *str_at(json_t *j, const char *p)
{
	return json_string_value(h_json_path(j, p));
}

static h_resp_t api(mlt_t *t, const char *method, const char *p, const char *body)
{
	return ident_call(&t->srv, method, p, t->owner.access, body);
}

static long status_of(mlt_t *t, const session_t *s, const char *method, const char *p,
		      const char *body)
{
	h_resp_t r = ident_call(&t->srv, method, p, s->access, body);
	long st = r.status;
	h_resp_free(&r);
	return st;
}

static char queue_env[64];
static const char *envs[16];

/* extra plus JOB_QUEUE=sync-<seed>-<pid>: the jobs this test creates run in its own server,
 * which talks to its own marketsim (servers of other tests share the database and Redis). */
static const char *const *with_queue(const char *seed, const char *const extra[])
{
	snprintf(queue_env, sizeof(queue_env), "JOB_QUEUE=sync-%s-%d", seed, (int)getpid());
	size_t n = 0;
	envs[n++] = queue_env;
	for (size_t i = 0; extra && extra[i] && n < 15; i++)
		envs[n++] = extra[i];
	envs[n] = NULL;
	return envs;
}

/* A marketsim for one seller with these sizes (and extra flags), then sellerhubd. */
static void start(mlt_t *t, const char *seed, const char *items, const char *orders,
		  const char *questions, const char *const extra_env[])
{
	const char *args[] = {"--seed",	      seed,	  "--sellers", "1",	      "--items",
			      items,	      "--orders", orders,      "--questions", questions,
			      "--scroll-ttl", "300",	  NULL};
	mlt_start_args(t, args, with_queue(seed, extra_env));
}

/* mlt_add, then pause the account's scheduled sync: servers of other tests share the database
 * and would otherwise sync it against their own marketsim (a paused account can still be
 * synced by hand or by a backfill). */
static void add_account(mlt_t *t, char *acct, msh_tokens_t *tok)
{
	mlt_add(t, &t->owner, 0, 3600, acct, tok);
	h_resp_t r = api(t, "PUT", fmt("/api/ml-accounts/%s/pause", acct), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

/* POST /api/sync/start; returns the HTTP status. */
static long sync_start(mlt_t *t, const char *acct, const char *scope, int days)
{
	h_resp_t r =
	    api(t, "POST", "/api/sync/start",
		fmt("{\"accountId\":\"%s\",\"scope\":\"%s\",\"days\":%d}", acct, scope, days));
	long st = r.status;
	if (st == 202)
		cr_assert_gt(int_at(r.json, "data.jobId"), 0, "%s", r.body);
	h_resp_free(&r);
	return st;
}

/* The status of the account's latest run ("" when none yet). */
static const char *run_status(mlt_t *t, const char *acct)
{
	static char status[32];
	h_resp_t r = api(t, "GET", fmt("/api/sync/status?accountId=%s", acct), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	const char *st = str_at(r.json, "data.run.status");
	snprintf(status, sizeof(status), "%s", st ? st : "");
	if (st && strcmp(st, "running") != 0 && strcmp(st, "success") != 0)
		cr_log_error("run: %s", r.body);
	h_resp_free(&r);
	return status;
}

/* Poll /api/sync/status until the latest run is no longer running; its status. */
static const char *wait_run(mlt_t *t, const char *acct, int seconds)
{
	const char *st = "";
	if (!H_WAIT_UNTIL(*(st = run_status(t, acct)) && strcmp(st, "running") != 0,
			  seconds * 1000))
		cr_assert_fail("the sync run did not end within %d s", seconds);
	return st;
}

static long long sim_total(mlt_t *t, const msh_tokens_t *tok, const char *p, const char *jp)
{
	h_resp_t r = msh_get(&t->sim, tok->access, p);
	cr_assert_eq(r.status, 200, "%s: %s", p, r.body);
	long long n = int_at(r.json, jp);
	h_resp_free(&r);
	return n;
}

static long long api_total(mlt_t *t, const char *p)
{
	h_resp_t r = api(t, "GET", p, NULL);
	cr_assert_eq(r.status, 200, "%s: %s", p, r.body);
	long long n = int_at(r.json, "data.pagination.total");
	h_resp_free(&r);
	return n;
}

static long long sim_requests(mlt_t *t, const char *p)
{
	h_resp_t r = msh_sim(&t->sim, "GET", fmt("/_sim/requests?path=%s&limit=1", p), NULL);
	long long n = int_at(r.json, "count");
	h_resp_free(&r);
	return n;
}

/* Every count matches marketsim's own totals for this seller (items and questions too unless
 * orders_only). */
static void assert_matches_scope(mlt_t *t, const msh_tokens_t *tok, const char *acct,
				 bool orders_only)
{
	long long seller = (long long)t->app.sellers[0];
	long long items =
	    sim_total(t, tok, fmt("/users/%lld/items/search?limit=1", seller), "paging.total");
	long long orders =
	    sim_total(t, tok, fmt("/orders/search?seller=%lld&limit=1", seller), "paging.total");
	long long questions = sim_total(
	    t, tok, fmt("/questions/search?seller_id=%lld&api_version=4&limit=1", seller), "total");
	if (!orders_only) {
		cr_assert_eq(api_total(t, fmt("/api/items?accountId=%s", acct)), items);
		cr_assert_eq(api_total(t, fmt("/api/questions?accountId=%s", acct)), questions);
	}
	cr_assert_eq(api_total(t, fmt("/api/orders?accountId=%s", acct)), orders);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_shipments WHERE account_id = '%s'", acct),
		     h_sql_int("SELECT count(*) FROM ml_orders WHERE account_id = '%s' AND "
			       "shipping_id IS NOT NULL",
			       acct));
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM ml_orders o WHERE account_id = '%s' AND NOT "
		      "EXISTS (SELECT 1 FROM ml_shipments s WHERE s.account_id = o.account_id "
		      "AND s.ml_id = o.shipping_id) AND shipping_id IS NOT NULL",
		      acct),
	    0);
}

static void assert_matches(mlt_t *t, const msh_tokens_t *tok, const char *acct)
{
	assert_matches_scope(t, tok, acct, false);
}

/* The stored item (API detail) equals marketsim's item, variations and SKUs included. */
static void assert_item(mlt_t *t, const msh_tokens_t *tok, const char *acct, const char *ml_id)
{
	h_resp_t sim = msh_get(&t->sim, tok->access, fmt("/items/%s", ml_id));
	cr_assert_eq(sim.status, 200);
	char *uuid = h_sql_text("SELECT id FROM ml_items WHERE account_id = '%s' AND ml_id = '%s'",
				acct, ml_id);
	cr_assert(uuid && *uuid, "item %s was not synced", ml_id);
	h_resp_t r = api(t, "GET", fmt("/api/items/%s", uuid), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "data.item.title"), str_at(sim.json, "title"));
	cr_assert_str_eq(str_at(r.json, "data.item.status"), str_at(sim.json, "status"));
	cr_assert_float_eq(num_at(r.json, "data.item.price"), num_at(sim.json, "price"), 0.001);
	cr_assert_eq(int_at(r.json, "data.item.availableQuantity"),
		     int_at(sim.json, "available_quantity"));
	cr_assert_eq(int_at(r.json, "data.item.soldQuantity"), int_at(sim.json, "sold_quantity"));
	json_t *sv = json_object_get(sim.json, "variations");
	json_t *v = h_json_path(r.json, "data.variations");
	cr_assert_eq(json_array_size(v), json_array_size(sv), "%s", r.body);
	for (size_t i = 0; i < json_array_size(sv); i++) {
		json_t *want = json_array_get(sv, i);
		json_int_t vid = json_integer_value(json_object_get(want, "id"));
		const char *sku = NULL;
		json_t *attrs = json_object_get(want, "attributes");
		for (size_t k = 0; k < json_array_size(attrs); k++)
			if (!strcmp(str_at(json_array_get(attrs, k), "id"), "SELLER_SKU"))
				sku = str_at(json_array_get(attrs, k), "value_name");
		bool found = false;
		for (size_t k = 0; k < json_array_size(v); k++) {
			json_t *got = json_array_get(v, k);
			if (json_integer_value(json_object_get(got, "id")) != vid)
				continue;
			found = true;
			cr_assert_eq(int_at(got, "availableQuantity"),
				     int_at(want, "available_quantity"));
			if (sku)
				cr_assert_str_eq(str_at(got, "sku"), sku);
		}
		cr_assert(found, "variation %lld missing", (long long)vid);
	}
	free(uuid);
	h_resp_free(&r);
	h_resp_free(&sim);
}

Test(sync, backfill_matches_marketsim, .timeout = 180)
{
	/* Its own database: last_analyze below is this backfill's, not another suite's. */
	h_database_private();
	mlt_t t;
	const char *env[] = {"ML_RATE=400", NULL};
	start(&t, "711", "1150", "260", "90", env);
	char acct[40];
	msh_tokens_t tok;
	add_account(&t, acct, &tok);

	/* Validation, unknown account, then the run and a second start while it runs. */
	h_resp_t r = api(&t, "POST", "/api/sync/start", "{\"scope\":\"everything\",\"days\":0}");
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "details")), 3, "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(sync_start(&t, "00000000-0000-4000-8000-000000000000", "all", 30), 404);
	char *began = h_sql_text("SELECT now()");
	cr_assert_eq(sync_start(&t, acct, "all", 365), 202);
	cr_assert_eq(sync_start(&t, acct, "items", 30), 409);
	cr_assert_str_eq(wait_run(&t, acct, 120), "success");
	/* A sync that stored over a thousand records refreshes the planner's statistics (nothing
	 * else in sellerhub runs ANALYZE, and no other test uses this database; autovacuum counts
	 * as autoanalyze). */
	cr_assert(
	    H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM pg_stat_user_tables WHERE relname IN "
				   "('listings', 'orders') AND last_analyze >= '%s'",
				   began) == 2,
			 5000),
	    "listings and orders were not analyzed after the backfill");
	free(began);

	assert_matches(&t, &tok, acct);
	/* Items past the 1000th (the scan), one with variations, the last one. */
	assert_item(&t, &tok, acct, "MLB3000001150");
	assert_item(&t, &tok, acct, "MLB3000001001");
	char *with_var = h_sql_text("SELECT ml_id FROM ml_items WHERE account_id = '%s' AND "
				    "variation_count > 1 ORDER BY ml_id LIMIT 1",
				    acct);
	cr_assert(with_var && *with_var, "no item with variations");
	assert_item(&t, &tok, acct, with_var);
	free(with_var);

	/* An order in detail: lines, payments, shipment (x-format-new fields). */
	char *oid = h_sql_text("SELECT id FROM ml_orders WHERE account_id = '%s' ORDER BY ml_id "
			       "LIMIT 1",
			       acct);
	r = api(&t, "GET", fmt("/api/orders/%s", oid), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	long long ml_order = int_at(r.json, "data.order.mlOrderId");
	h_resp_t so = msh_get(&t.sim, tok.access, fmt("/orders/%lld", ml_order));
	cr_assert_float_eq(num_at(r.json, "data.order.totalAmount"),
			   num_at(so.json, "total_amount"), 0.001);
	cr_assert_str_eq(str_at(r.json, "data.order.status"), str_at(so.json, "status"));
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.items")),
		     json_array_size(json_object_get(so.json, "order_items")));
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.payments")),
		     json_array_size(json_object_get(so.json, "payments")));
	long long ship = int_at(so.json, "shipping.id");
	h_resp_t ss = msh_get(&t.sim, tok.access, fmt("/shipments/%lld", ship));
	cr_assert_str_eq(str_at(r.json, "data.shipment.status"), str_at(ss.json, "status"));
	cr_assert_str_eq(str_at(r.json, "data.shipment.logisticType"),
			 str_at(ss.json, "logistic.type"));
	cr_assert_str_eq(str_at(r.json, "data.shipment.destination.city"),
			 str_at(ss.json, "destination.shipping_address.city.name"));
	h_resp_free(&ss);
	h_resp_free(&so);
	h_resp_free(&r);
	free(oid);

	/* The multiget went 20 at a time and orders 51 a page. */
	r = msh_sim(&t.sim, "GET", "/_sim/requests?path=/items&limit=500", NULL);
	json_t *reqs = json_object_get(r.json, "requests");
	for (size_t i = 0; i < json_array_size(reqs); i++) {
		const char *q = str_at(json_array_get(reqs, i), "query");
		size_t commas = 0;
		for (const char *c = q ? q : ""; *c; c++)
			commas += *c == ',' || (c[0] == '%' && c[1] == '2' && c[2] == 'C');
		cr_assert_leq(commas, 19, "a multiget with more than 20 ids: %s", q);
	}
	h_resp_free(&r);
	/* One window (260 orders fit): its pages, 51 orders each (+1: assert_matches' count). */
	cr_assert_eq(sim_requests(&t, "/orders/search*"), (260 + 50) / 51 + 1);

	/* Status, history and cachedData. */
	r = api(&t, "GET", fmt("/api/sync/status?accountId=%s", acct), NULL);
	cr_assert_eq(int_at(r.json, "data.run.resources.items.done"), 1150, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.run.resources.items.total"), 1150);
	cr_assert_str_eq(str_at(r.json, "data.run.resources.orders.state"), "done");
	h_resp_free(&r);
	r = api(&t, "GET", fmt("/api/sync/history?accountId=%s", acct), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.pagination.total"), 1);
	cr_assert_float_eq(num_at(r.json, "data.statistics.successRate"), 1.0, 0.0001, "%s",
			   r.body);
	cr_assert_gt(int_at(r.json, "data.statistics.totalRecords"), 1150 + 260);
	cr_assert(json_is_integer(h_json_path(r.json, "data.runs.0.duration")), "%s", r.body);
	h_resp_free(&r);
	r = api(&t, "GET", fmt("/api/ml-accounts/%s", acct), NULL);
	cr_assert_eq(int_at(r.json, "data.cachedData.products"), 1150, "%s", r.body);
	h_resp_free(&r);
	/* A second backfill changes nothing (same data, idempotent). */
	long long before = h_sql_int("SELECT count(*) FROM ml_order_items oi JOIN ml_orders o ON "
				     "o.id = oi.order_id WHERE o.account_id = '%s'",
				     acct);
	cr_assert_eq(sync_start(&t, acct, "orders", 365), 202);
	cr_assert_str_eq(wait_run(&t, acct, 60), "success");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_order_items oi JOIN ml_orders o ON "
			       "o.id = oi.order_id WHERE o.account_id = '%s'",
			       acct),
		     before);
	assert_matches(&t, &tok, acct);
	mlt_stop(&t);
}

/* Wait until the SQL count reaches want. */
static bool wait_sql(long long want, const char *sql)
{
	if (H_WAIT_UNTIL(h_sql_int("%s", sql) == want, 20000))
		return true;
	cr_log_error("%s: %lld, want %lld", sql, h_sql_int("%s", sql), want);
	return false;
}

Test(sync, webhooks_keep_it_current_even_during_a_backfill, .timeout = 180)
{
	mlt_t t;
	start(&t, "712", "80", "120", "40", NULL);
	char acct[40];
	msh_tokens_t tok;
	add_account(&t, acct, &tok);
	h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/notifications/target",
			     fmt("{\"url\":\"%s\"}", h_url(&t.srv, "/webhooks/ml")));
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	long long seller = (long long)t.app.sellers[0];

	/* A slow backfill (every multiget and order page waits), and changes while it runs. */
	r = msh_sim(&t.sim, "POST", "/_sim/faults",
		    "{\"path\":\"/orders/search*\",\"latency_ms\":400}");
	cr_assert_eq(r.status / 100, 2, "%s", r.body);
	h_resp_free(&r);
	r = msh_sim(&t.sim, "POST", "/_sim/faults", "{\"path\":\"/items\",\"latency_ms\":700}");
	h_resp_free(&r);
	cr_assert_eq(sync_start(&t, acct, "all", 365), 202);
	cr_assert(H_WAIT_UNTIL(strcmp(run_status(&t, acct), "running") == 0, 10000),
		  "the backfill did not start");
	r = msh_sim(&t.sim, "PATCH", "/_sim/items/MLB3000000007",
		    "{\"price\":4321.5,\"available_quantity\":3}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	r = msh_sim(&t.sim, "POST", "/_sim/orders", fmt("{\"seller_id\":%lld}", seller));
	cr_assert_eq(r.status, 201, "%s", r.body);
	long long new_order = int_at(r.json, "id");
	h_resp_free(&r);
	cr_assert_str_eq(wait_run(&t, acct, 120), "success");
	cr_assert(wait_sql(1, fmt("SELECT count(*) FROM ml_orders WHERE account_id = '%s' AND "
				  "ml_id = '%lld'",
				  acct, new_order)));
	cr_assert(wait_sql(1, fmt("SELECT count(*) FROM ml_items WHERE account_id = '%s' AND "
				  "ml_id = 'MLB3000000007' AND price = 4321.5 AND "
				  "available_quantity = 3",
				  acct)));
	/* ...and a shipment for the new order came with it. */
	cr_assert(wait_sql(1, fmt("SELECT count(*) FROM ml_shipments s JOIN ml_orders o ON "
				  "o.shipping_id = s.ml_id AND o.account_id = s.account_id WHERE "
				  "o.ml_id = '%lld' AND o.account_id = '%s'",
				  new_order, acct)));
	r = msh_sim(&t.sim, "DELETE", "/_sim/faults", NULL);
	h_resp_free(&r);

	/* After the backfill: a new question and an order status arrive by webhook. */
	r = msh_sim(&t.sim, "POST", "/_sim/questions",
		    fmt("{\"seller_id\":%lld,\"item_id\":\"MLB3000000003\",\"text\":\"Tem azul?\"}",
			seller));
	cr_assert_eq(r.status, 201, "%s", r.body);
	long long q = int_at(r.json, "id");
	h_resp_free(&r);
	cr_assert(wait_sql(1, fmt("SELECT count(*) FROM ml_questions WHERE account_id = '%s' AND "
				  "ml_id = %lld AND status = 'UNANSWERED' AND text = 'Tem azul?'",
				  acct, q)));
	assert_matches(&t, &tok, acct);
	/* An old document never overwrites a newer row. */
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_items WHERE account_id = '%s' AND "
			       "last_updated < (raw->>'last_updated')::timestamptz",
			       acct),
		     0);
	mlt_stop(&t);
}

Test(sync, restart_mid_backfill_resumes, .timeout = 240)
{
	mlt_t t;
	/* A stale limit of a few heartbeats (one a second): a busy host delays them, and a live run
	 * taken for dead would run twice. */
	const char *env[] = {"ML_RATE=60", "JOB_STALE_SECONDS=10", "JOB_REDISPATCH_SECONDS=1",
			     NULL};
	start(&t, "713", "40", "420", "20", env);
	char acct[40];
	msh_tokens_t tok;
	add_account(&t, acct, &tok);
	cr_assert_eq(sync_start(&t, acct, "orders", 365), 202);
	/* Let it store part of the orders and shipments, then kill it mid-flight. */
	cr_assert(
	    H_WAIT_UNTIL(
		h_sql_int("SELECT count(*) FROM ml_shipments WHERE account_id = '%s'", acct) >= 150,
		15000),
	    "the backfill did not progress");
	h_proc_stop(&t.srv, SIGKILL);
	long long shipments_before = sim_requests(&t, "/shipments/*");
	cr_assert_lt(h_sql_int("SELECT count(*) FROM ml_shipments WHERE account_id = '%s'", acct),
		     420);
	/* A new process picks the job up and resumes from the cursor. */
	mlt_start_server(&t, &t.srv, with_queue("713", env));
	cr_assert_str_eq(wait_run(&t, acct, 180), "success");
	assert_matches_scope(&t, &tok, acct, true);
	long long shipments_after = sim_requests(&t, "/shipments/*");
	cr_log_info("shipment calls: %lld before the kill, %lld in all (420 shipments)",
		    shipments_before, shipments_after);
	/* Resumed, not restarted: the same run (one sync_runs row) went on from its cursor. The
	 * orders cursor is a date window and all 420 orders fit in one, so the new process fetches
	 * the window's shipments again (about 460 calls with the SLAs, wherever the kill fell):
	 * counted from the kill, not from the start, which a busy host moves (the kill waits for
	 * 150 stored rows, and calls run ahead of the rows). */
	cr_assert_lt(shipments_after - shipments_before, 420 + 420 / 2,
		     "%lld shipment calls after the kill", shipments_after - shipments_before);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s'", acct), 1);
	char *log = h_proc_log(&t.srv);
	cr_assert(log && strstr(log, "resuming"), "the run did not resume");
	free(log);
	mlt_stop(&t);
}

Test(sync, rate_limit_storm_slows_but_loses_nothing, .timeout = 240)
{
	mlt_t t;
	start(&t, "714", "300", "150", "60", NULL);
	char acct[40];
	msh_tokens_t tok;
	add_account(&t, acct, &tok);
	const char *faults[] = {
	    "{\"path\":\"/orders/search*\",\"status\":429,\"rate\":0.5,"
	    "\"count\":15}",
	    "{\"path\":\"/shipments/*\",\"status\":429,\"rate\":0.3,\"count\":40}",
	    "{\"path\":\"/items\",\"status\":429,\"rate\":0.5,\"count\":10}",
	    "{\"path\":\"/questions/search\",\"status\":503,\"count\":4}"};
	for (size_t i = 0; i < ARRAY_SIZE(faults); i++) {
		h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/faults", faults[i]);
		cr_assert_eq(r.status / 100, 2, "%s", r.body);
		h_resp_free(&r);
	}
	cr_assert_eq(sync_start(&t, acct, "all", 365), 202);
	cr_assert_str_eq(wait_run(&t, acct, 200), "success");
	h_resp_t r = msh_sim(&t.sim, "GET", "/_sim/stats", NULL);
	cr_assert_geq(int_at(r.json, "faults_injected"), 20, "%s", r.body);
	h_resp_free(&r);
	r = msh_sim(&t.sim, "DELETE", "/_sim/faults", NULL); /* the checks below ask marketsim */
	h_resp_free(&r);
	assert_matches(&t, &tok, acct);
	mlt_stop(&t);
}

Test(sync, answer_and_scheduled_sync, .timeout = 120)
{
	mlt_t t;
	start(&t, "715", "50", "60", "40", NULL);
	char acct[40];
	msh_tokens_t tok;
	add_account(&t, acct, &tok);
	/* The account sync (what the scheduler runs for due accounts, claimed with SKIP LOCKED;
	 * here by hand) is the incremental sync run, and cachedData comes from the tables. */
	h_resp_t r = api(&t, "POST", fmt("/api/ml-accounts/%s/sync", acct), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.data.products"), 50, "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s' AND kind = "
			       "'scheduled' AND status = 'success'",
			       acct),
		     1);
	r = api(&t, "GET", fmt("/api/ml-accounts/%s", acct), NULL);
	cr_assert_eq(int_at(r.json, "data.cachedData.products"), 50, "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "data.lastSyncStatus"), "success");
	long long orders = int_at(r.json, "data.cachedData.orders");
	cr_assert_eq(orders, api_total(&t, "/api/orders"));
	h_resp_free(&r);
	cr_assert_eq(api_total(&t, "/api/items"), 50);
	long long unanswered =
	    h_sql_int("SELECT count(*) FROM ml_questions WHERE account_id = '%s' "
		      "AND status = 'UNANSWERED'",
		      acct);
	cr_assert_gt(unanswered, 0);

	/* An order created without a webhook arrives with the next sync (orders changed since
	 * the last successful run). */
	long long seller = (long long)t.app.sellers[0];
	r = msh_sim(&t.sim, "POST", "/_sim/orders", fmt("{\"seller_id\":%lld}", seller));
	long long new_order = int_at(r.json, "id");
	h_resp_free(&r);
	r = api(&t, "POST", fmt("/api/ml-accounts/%s/sync", acct), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.data.orders"), orders + 1, "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_orders WHERE account_id = '%s' AND ml_id = "
			       "'%lld'",
			       acct, new_order),
		     1);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s' AND since "
			       "IS NOT NULL AND status = 'success'",
			       acct),
		     1);

	/* Answer: validation, then Mercado Livre has it, then 409. */
	char *qid = h_sql_text("SELECT id FROM ml_questions WHERE account_id = '%s' AND status = "
			       "'UNANSWERED' ORDER BY ml_id LIMIT 1",
			       acct);
	long long ml_q = h_sql_int("SELECT ml_id FROM ml_questions WHERE id = '%s'", qid);
	r = api(&t, "POST", fmt("/api/questions/%s/answer", qid), "{\"text\":\"\"}");
	cr_assert_eq(r.status, 400, "%s", r.body);
	h_resp_free(&r);
	char *big = malloc(2100);
	memset(big, 'a', 2001);
	big[2001] = '\0';
	char *body = malloc(2200);
	snprintf(body, 2200, "{\"text\":\"%s\"}", big);
	r = api(&t, "POST", fmt("/api/questions/%s/answer", qid), body);
	cr_assert_eq(r.status, 400, "%s", r.body);
	h_resp_free(&r);
	free(big);
	free(body);
	r = api(&t, "POST", fmt("/api/questions/%s/answer", qid),
		"{\"text\":\"Olá! Temos sim, pronta entrega.\"}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str_at(r.json, "data.status"), "ANSWERED");
	cr_assert_str_eq(str_at(r.json, "data.answer.text"), "Olá! Temos sim, pronta entrega.");
	cr_assert(json_is_integer(h_json_path(r.json, "data.timeToAnswer")), "%s", r.body);
	h_resp_free(&r);
	r = msh_get(&t.sim, tok.access, fmt("/questions/%lld?api_version=4", ml_q));
	cr_assert_str_eq(str_at(r.json, "answer.text"), "Olá! Temos sim, pronta entrega.");
	h_resp_free(&r);
	r = api(&t, "POST", fmt("/api/questions/%s/answer", qid), "{\"text\":\"again\"}");
	cr_assert_eq(r.status, 409, "%s", r.body);
	h_resp_free(&r);
	r = api(&t, "GET", "/api/questions/stats", NULL);
	cr_assert_eq(int_at(r.json, "data.unanswered"), unanswered - 1, "%s", r.body);
	cr_assert_geq(int_at(r.json, "data.answeredWithin24h"), 0);
	h_resp_free(&r);
	/* Mercado Livre refusing an answer (ours does not know it was answered there) is 409
	 * QUESTION_NOT_ANSWERABLE, not an outage. */
	cr_assert_eq(h_sql_int("WITH u AS (UPDATE ml_questions SET status = 'UNANSWERED',"
			       " answer_text = NULL WHERE id = '%s' RETURNING 1)"
			       " SELECT count(*) FROM u",
			       qid),
		     1);
	r = api(&t, "POST", fmt("/api/questions/%s/answer", qid), "{\"text\":\"once more\"}");
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "QUESTION_NOT_ANSWERABLE", "%s", r.body);
	h_resp_free(&r);
	free(qid);
	mlt_stop(&t);
}

/* Walk a list with ?cursor= and check it yields every row once, in order. */
static void walk_cursor(mlt_t *t, const char *base_in, const char *name, long long total)
{
	char cursor[600] = "", base[256];
	snprintf(base, sizeof(base), "%s", base_in); /* fmt() buffers rotate */
	long long seen = 0;
	json_t *ids = json_object();
	for (int page = 0; page < 1000; page++) {
		h_resp_t r = api(t, "GET",
				 fmt("%s%slimit=7%s%s", base, strchr(base, '?') ? "&" : "?",
				     cursor[0] ? "&cursor=" : "", cursor),
				 NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		json_t *rows = h_json_path(r.json, fmt("data.%s", name));
		for (size_t i = 0; i < json_array_size(rows); i++) {
			const char *id = str_at(json_array_get(rows, i), "id");
			cr_assert_null(json_object_get(ids, id), "row %s twice", id);
			json_object_set_new(ids, id, json_true());
			seen++;
		}
		const char *next = str_at(r.json, "data.nextCursor");
		snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
		h_resp_free(&r);
		if (!next)
			break;
	}
	json_decref(ids);
	cr_assert_eq(seen, total, "%s: %lld rows by cursor, total %lld", base, seen, total);
}

Test(sync, lists_filters_sorting_pagination_and_isolation, .timeout = 120)
{
	mlt_t t;
	start(&t, "716", "70", "90", "45", NULL);
	char acct[40];
	msh_tokens_t tok;
	add_account(&t, acct, &tok);
	cr_assert_eq(sync_start(&t, acct, "all", 365), 202);
	cr_assert_str_eq(wait_run(&t, acct, 60), "success");

	/* Items: every sort is ordered, filters hold, q finds by title word and by SKU. */
	const char *sorts[] = {"price", "sold", "stock", "updated"};
	const char *fields[] = {"price", "soldQuantity", "availableQuantity", NULL};
	for (int s = 0; s < 4; s++) {
		h_resp_t r = api(&t, "GET", fmt("/api/items?sort=%s&limit=100", sorts[s]), NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		json_t *rows = h_json_path(r.json, "data.items");
		cr_assert_eq(json_array_size(rows), 70);
		for (size_t i = 1; fields[s] && i < json_array_size(rows); i++)
			cr_assert_geq(num_at(json_array_get(rows, i - 1), fields[s]),
				      num_at(json_array_get(rows, i), fields[s]), "sort %s",
				      sorts[s]);
		h_resp_free(&r);
		walk_cursor(&t, fmt("/api/items?sort=%s", sorts[s]), "items", 70);
	}
	cr_assert_eq(status_of(&t, &t.owner, "GET", "/api/items?sort=name", NULL), 400);
	cr_assert_eq(status_of(&t, &t.owner, "GET", "/api/items?limit=101", NULL), 400);
	cr_assert_eq(status_of(&t, &t.owner, "GET", "/api/items?accountId=nope", NULL), 400);
	cr_assert_eq(status_of(&t, &t.owner, "GET", "/api/orders?cursor=zz", NULL), 400);
	long long active = h_sql_int("SELECT count(*) FROM ml_items WHERE account_id = '%s' AND "
				     "status = 'active'",
				     acct);
	cr_assert_eq(api_total(&t, "/api/items?status=active"), active);
	char *sku = h_sql_text("SELECT sku FROM ml_item_variations WHERE account_id = '%s' AND sku "
			       "IS NOT NULL LIMIT 1",
			       acct);
	cr_assert_geq(api_total(&t, fmt("/api/items?q=%s", sku)), 1);
	free(sku);
	h_resp_t r = api(&t, "GET", "/api/items?limit=10&page=2", NULL);
	cr_assert_eq(int_at(r.json, "data.pagination.pages"), 7, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.items")), 10);
	h_resp_free(&r);

	/* Orders: newest first, status and date filters, cursor walk, stats consistent. */
	long long orders = api_total(&t, "/api/orders");
	cr_assert_gt(orders, 0);
	walk_cursor(&t, "/api/orders", "orders", orders);
	walk_cursor(&t, fmt("/api/orders?accountId=%s&status=paid", acct), "orders",
		    h_sql_int("SELECT count(*) FROM ml_orders WHERE account_id = '%s' AND status = "
			      "'paid'",
			      acct));
	r = api(&t, "GET", "/api/orders?limit=100", NULL);
	json_t *rows = h_json_path(r.json, "data.orders");
	for (size_t i = 1; i < json_array_size(rows); i++)
		cr_assert_geq(strcmp(str_at(json_array_get(rows, i - 1), "dateCreated"),
				     str_at(json_array_get(rows, i), "dateCreated")),
			      0);
	h_resp_free(&r);
	char *mid =
	    h_sql_text("SELECT to_char(percentile_disc(0.5) WITHIN GROUP (ORDER BY "
		       "date_created) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
		       "FROM ml_orders WHERE account_id = '%s'",
		       acct);
	long long after = h_sql_int("SELECT count(*) FROM ml_orders WHERE account_id = '%s' AND "
				    "date_created >= '%s'",
				    acct, mid);
	cr_assert_eq(api_total(&t, fmt("/api/orders?from=%s", mid)), after);
	cr_assert_eq(api_total(&t, fmt("/api/orders?to=%s", mid)),
		     h_sql_int("SELECT count(*) FROM ml_orders WHERE account_id = '%s' AND "
			       "date_created <= '%s'",
			       acct, mid));
	free(mid);
	cr_assert_eq(status_of(&t, &t.owner, "GET", "/api/orders?from=yesterday", NULL), 400);
	/* The all-time rows (day '-infinity') that answer the unfiltered totals agree with the
	 * orders, status by status, and with the per-day rows. */
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM (SELECT status, count(*) AS n FROM ml_orders"
		      " WHERE account_id = '%s' GROUP BY status) o FULL JOIN"
		      " (SELECT status, sum(orders) AS n FROM ml_order_days"
		      "  WHERE account_id = '%s' AND day = '-infinity' GROUP BY status) d"
		      " USING (status) WHERE o.n IS DISTINCT FROM d.n AND coalesce(d.n, 0) <> 0",
		      acct, acct),
	    0);
	cr_assert_eq(h_sql_int("SELECT sum(orders) FILTER (WHERE day = '-infinity')"
			       " - sum(orders) FILTER (WHERE day <> '-infinity')"
			       " FROM ml_order_days WHERE account_id = '%s'",
			       acct),
		     0);
	r = api(&t, "GET", "/api/orders/stats?from=2000-01-01&to=2100-01-01", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.count"), orders, "%s", r.body);
	double revenue = num_at(r.json, "data.revenue");
	long long days = (long long)json_array_size(h_json_path(r.json, "data.perDay"));
	cr_assert_gt(days, 0);
	cr_assert_str_eq(str_at(r.json, "data.from"), "2000-01-01");
	cr_assert_str_eq(str_at(r.json, "data.to"), "2100-01-01");
	cr_assert_str_eq(str_at(r.json, "data.currency"), "BRL");
	long long per_day = 0;
	double per_day_revenue = 0;
	for (long long i = 0; i < days; i++) {
		json_t *d = json_array_get(h_json_path(r.json, "data.perDay"), (size_t)i);
		per_day += json_integer_value(json_object_get(d, "count"));
		per_day_revenue += json_number_value(json_object_get(d, "revenue"));
		cr_assert(json_is_string(json_object_get(d, "date")), "%s", r.body);
	}
	cr_assert_eq(per_day, orders, "%s", r.body);
	cr_assert_float_eq(per_day_revenue, revenue, 0.01);
	char *ticket =
	    h_sql_text("SELECT round(sum(total_amount) / count(*), 2) FROM ml_orders"
		       " WHERE account_id = '%s' AND status NOT IN ('cancelled', 'invalid')",
		       acct);
	cr_assert_float_eq(num_at(r.json, "data.averageTicket"), atof(ticket), 0.001, "%s vs %s",
			   ticket, r.body);
	free(ticket);
	char *rev =
	    h_sql_text("SELECT sum(total_amount) FROM ml_orders WHERE account_id = '%s' AND "
		       "status NOT IN ('cancelled', 'invalid')",
		       acct);
	cr_assert_float_eq(revenue, atof(rev), 0.01);
	/* Money goes out as PostgreSQL's decimal text, never through a double (12.3 must not
	 * become 12.300000000000001). */
	const char *at = strstr(r.body, "\"revenue\"");
	cr_assert_not_null(at, "%s", r.body);
	at += strlen("\"revenue\"");
	at += strspn(at, " :");
	cr_assert(strncmp(at, rev, strlen(rev)) == 0 && !isdigit((unsigned char)at[strlen(rev)]),
		  "revenue %s: %.80s", rev, at);
	free(rev);
	h_resp_free(&r);

	/* Shipments and questions. */
	long long shipments = api_total(&t, "/api/shipments");
	cr_assert_eq(shipments, h_sql_int("SELECT count(*) FROM ml_shipments WHERE account_id = "
					  "'%s'",
					  acct));
	walk_cursor(&t, "/api/shipments", "shipments", shipments);
	cr_assert_eq(api_total(&t, "/api/shipments?status=delivered"),
		     h_sql_int("SELECT count(*) FROM ml_shipments WHERE account_id = '%s' AND "
			       "status = 'delivered'",
			       acct));
	r = api(&t, "GET", "/api/shipments/stats", NULL);
	cr_assert_eq(int_at(r.json, "data.total"), shipments, "%s", r.body);
	h_resp_free(&r);
	walk_cursor(&t, "/api/questions", "questions", 45);
	long long unanswered = api_total(&t, "/api/questions?status=UNANSWERED");
	r = api(&t, "GET", "/api/questions/stats", NULL);
	cr_assert_eq(int_at(r.json, "data.unanswered"), unanswered, "%s", r.body);
	h_resp_free(&r);
	char *item =
	    h_sql_text("SELECT item_ml_id FROM ml_questions WHERE account_id = '%s' LIMIT 1", acct);
	cr_assert_eq(api_total(&t, fmt("/api/questions?itemId=%s", item)),
		     h_sql_int("SELECT count(*) FROM ml_questions WHERE account_id = '%s' AND "
			       "item_ml_id = '%s'",
			       acct, item));
	free(item);
	char *sid = h_sql_text("SELECT id FROM ml_shipments WHERE account_id = '%s' LIMIT 1", acct);
	r = api(&t, "POST", fmt("/api/shipments/%s/sync", sid), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	/* Tenant isolation: another company sees nothing and gets 404 for every id. */
	session_t other;
	ident_signup(&t.srv, &other);
	char *oid = h_sql_text("SELECT id FROM ml_orders WHERE account_id = '%s' LIMIT 1", acct);
	char *iid = h_sql_text("SELECT id FROM ml_items WHERE account_id = '%s' LIMIT 1", acct);
	char *qid = h_sql_text("SELECT id FROM ml_questions WHERE account_id = '%s' AND status = "
			       "'UNANSWERED' LIMIT 1",
			       acct);
	cr_assert_eq(status_of(&t, &other, "GET", fmt("/api/orders/%s", oid), NULL), 404);
	cr_assert_eq(status_of(&t, &other, "GET", fmt("/api/items/%s", iid), NULL), 404);
	cr_assert_eq(status_of(&t, &other, "GET", fmt("/api/shipments/%s", sid), NULL), 404);
	cr_assert_eq(status_of(&t, &other, "POST", fmt("/api/shipments/%s/sync", sid), NULL), 404);
	cr_assert_eq(status_of(&t, &other, "GET", fmt("/api/questions/%s", qid), NULL), 404);
	cr_assert_eq(
	    status_of(&t, &other, "POST", fmt("/api/questions/%s/answer", qid), "{\"text\":\"x\"}"),
	    404);
	cr_assert_eq(
	    status_of(&t, &other, "POST", "/api/sync/start", fmt("{\"accountId\":\"%s\"}", acct)),
	    404);
	cr_assert_eq(status_of(&t, &other, "GET", fmt("/api/sync/status?accountId=%s", acct), NULL),
		     404);
	const char *lists[] = {"/api/items", "/api/orders", "/api/shipments", "/api/questions"};
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		h_resp_t o = ident_call(&t.srv, "GET", lists[i], other.access, NULL);
		cr_assert_eq(o.status, 200, "%s", o.body);
		cr_assert_eq(int_at(o.json, "data.pagination.total"), 0, "%s: %s", lists[i],
			     o.body);
		h_resp_free(&o);
	}
	h_resp_t o =
	    ident_call(&t.srv, "GET", "/api/orders/stats?from=2000-01-01", other.access, NULL);
	cr_assert_eq(int_at(o.json, "data.count"), 0, "%s", o.body);
	h_resp_free(&o);
	o = ident_call(&t.srv, "GET", "/api/sync/history", other.access, NULL);
	cr_assert_eq(int_at(o.json, "data.pagination.total"), 0, "%s", o.body);
	h_resp_free(&o);
	free(oid);
	free(iid);
	free(qid);
	free(sid);

	/* Deleting the account removes its data and its per-day totals. */
	cr_assert_eq(status_of(&t, &t.owner, "DELETE", fmt("/api/ml-accounts/%s", acct), NULL),
		     200);
	cr_assert_eq(h_sql_int("SELECT (SELECT count(*) FROM ml_items WHERE account_id = '%s') + "
			       "(SELECT count(*) FROM ml_orders WHERE account_id = '%s') + (SELECT "
			       "count(*) FROM ml_order_days WHERE account_id = '%s')",
			       acct, acct, acct),
		     0);
	mlt_stop(&t);
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How many due accounts a sellerhubd claimed: the sum of N over its "janitor: syncing N due
 * accounts" lines. */
static long claims_in_log(const h_proc_t *p)
{
	static const char key[] = "janitor: syncing ";
	char *log = h_proc_log(p);
	long n = 0;
	for (const char *s = strstr(log, key); s; s = strstr(s + 1, key))
		n += strtol(s + strlen(key), NULL, 10);
	free(log);
	return n;
}

#define SCHED_WINDOW_MS 2000 /* 10 sweeps of each process */

/* One due moment of the account: within 10 s the timers have run its scheduled sync number
 * runs, successfully; then for a window of sweeps of both processes nothing more is claimed or
 * run (the interval is a minute: a window of 2 s holds at most window / interval + 1 = 1 run),
 * and the account is next due one interval after this sync. Throughout, while a run is running
 * the account says in_progress: a second claim meanwhile would find the run (busy) and save a
 * success while it still runs, without a sync_runs row of its own. */
static void sched_round(mlt_t *t, const h_proc_t *b, const char *acct, long long runs)
{
	char runs_sql[300], busy_sql[400];
	snprintf(runs_sql, sizeof(runs_sql),
		 "SELECT count(*) FROM sync_runs WHERE account_id = '%s' AND kind = 'scheduled' "
		 "AND status = 'success'",
		 acct);
	snprintf(busy_sql, sizeof(busy_sql),
		 "SELECT count(*) FROM sync_runs r JOIN ml_accounts a ON a.id = r.account_id "
		 "WHERE r.account_id = '%s' AND r.status = 'running' AND a.last_sync_status IS "
		 "DISTINCT FROM 'in_progress'",
		 acct);
	long long start = mono_ms(), synced = -1;
	while (synced < 0 || mono_ms() - synced < SCHED_WINDOW_MS) {
		cr_assert_eq(h_sql_int("%s", busy_sql), 0,
			     "round %lld: the account was not in_progress while its run ran", runs);
		long long done = h_sql_int("%s", runs_sql);
		cr_assert_leq(done, runs, "round %lld: %lld scheduled runs", runs, done);
		if (synced < 0 && done == runs)
			synced = mono_ms();
		cr_assert(synced >= 0 || mono_ms() - start < 10000,
			  "round %lld: the timers ran no scheduled sync within 10 s", runs);
		usleep(50000); /* the sampling rate of the invariants above */
	}
	long a = claims_in_log(&t->srv), bb = claims_in_log(b);
	cr_log_info("round %lld: synced %lld ms after due; claims so far: %ld + %ld", runs,
		    synced - start, a, bb);
	cr_assert_eq(a + bb, runs, "round %lld: the account was claimed %ld times (%ld + %ld)",
		     runs, a + bb, a, bb);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s'", acct),
		     runs);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_accounts WHERE id = '%s' AND "
			       "last_sync_status = 'success' AND next_sync_at = last_sync_at + "
			       "sync_interval_ms * interval '1 ms' AND next_sync_at > now()",
			       acct),
		     1, "round %lld: not next due one interval after the sync", runs);
}

/* SKIP LOCKED: while another transaction holds the account's row (a psql that the test feeds
 * through a fifo, from a second before the account falls due), the sweeps of both processes pass
 * it over without waiting for it, and once it is released exactly one of them claims it. The
 * test releases the row once it has seen it due and locked, unclaimed, for 600 ms of the
 * database's clock (three sweeps of each process), however slowly its samples come. */
static void locked_round(mlt_t *t, const h_proc_t *b, const char *acct, long long runs)
{
	char fifo[600];
	snprintf(fifo, sizeof(fifo), "%s/sched-lock-%d-%lld.sql", h_env("SH_TEST_DIR"),
		 (int)getpid(), runs);
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo %s", fifo);
	cr_assert_eq(h_sh("PGAPPNAME=sched-lock psql -X -q -v ON_ERROR_STOP=1 '%s' <'%s' "
			  ">/dev/null 2>&1 &",
			  h_env("DATABASE_URL"), fifo),
		     0);
	FILE *lock = fopen(fifo, "w"); /* once psql has opened it */
	cr_assert_not_null(lock);
	fprintf(lock,
		"UPDATE ml_accounts SET next_sync_at = now() + interval '1 second' WHERE id = "
		"'%s';\nBEGIN;\nSELECT 1 FROM ml_accounts WHERE id = '%s' FOR UPDATE;\n",
		acct, acct);
	fflush(lock);
	bool held = H_WAIT_UNTIL(
	    ({
		    /* Claims read first: one logged after the sample may follow the release. */
		    long claims = claims_in_log(&t->srv) + claims_in_log(b);
		    char *row = h_sql_text(
			"SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name = "
			"  'sched-lock' AND state = 'idle in transaction' AND query LIKE "
			"  'SELECT 1 FROM ml_accounts%%') "
			"|| '|' || (SELECT (extract(epoch FROM now() - next_sync_at) * "
			"1000)::bigint "
			"  FROM ml_accounts WHERE id = '%s') "
			"|| '|' || (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
			"  'Lock') "
			"|| '|' || (SELECT count(*) FROM sync_runs WHERE account_id = '%s')",
			acct, acct);
		    int holding = 0, waiting = 0;
		    long long due_ms = 0, n = 0;
		    cr_assert_eq(sscanf(row, "%d|%lld|%d|%lld", &holding, &due_ms, &waiting, &n), 4,
				 "%s", row);
		    free(row);
		    cr_assert_eq(waiting, 0, "a sweep waited for the locked account");
		    if (holding && due_ms >= 0) {
			    cr_assert_eq(n, runs - 1, "the locked account was synced");
			    cr_assert_eq(claims, runs - 1, "the locked account was claimed");
		    }
		    holding &&due_ms >= 600;
	    }),
	    20000);
	fputs("COMMIT;\n", lock);
	fclose(lock); /* psql ends at the end of its input */
	unlink(fifo);
	cr_assert(held, "the account was not seen due and locked for 600 ms");
	sched_round(t, b, acct, runs);
}

/* The scheduler as issue 7 describes it, with two processes on one database whose timers race
 * (a sweep every 200 ms each): a new account is synced by the timers, then each time it is due
 * again exactly one of them claims it and runs an incremental sync that brings what changed
 * since the last one (an order created meanwhile, without webhook or manual call). */
Test(sync, timers_of_two_processes_sync_each_due_account_once, .timeout = 90)
{
	/* A database and Redis of its own: with 200 ms sweeps, on the shared database these servers
	 * would claim the due accounts of other tests (a new account is due at once) and sync them
	 * against this test's marketsim, and other tests' servers could claim this one. Criterion
	 * runs each test in its own process, so setenv reaches h_sql_* and the servers started here
	 * only. */
	h_services_t svc;
	h_services_start(&svc);
	setenv("DATABASE_URL", svc.database_url, 1);
	setenv("REDIS_URL", svc.redis_url, 1);
	const char *env[] = {"SYNC_SWEEP_MS=200", NULL};
	mlt_t t;
	start(&t, "717", "30", "40", "10", env);
	h_proc_t b;
	mlt_start_server(&t, &b, with_queue("717", env));
	/* Each run waits 800 ms for its orders page, so it spans sweeps of the other process. */
	h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/faults",
			     "{\"path\":\"/orders/search*\",\"latency_ms\":800}");
	cr_assert_eq(r.status / 100, 2, "%s", r.body);
	h_resp_free(&r);

	/* Not add_account, which pauses the account for the shared database: here the timers must
	 * pick it up, since a new account is due at once (its first sync: no "since"). */
	char acct[40];
	msh_tokens_t tok;
	mlt_add(&t, &t.owner, 0, 3600, acct, &tok);
	sched_round(&t, &b, acct, 1);
	/* Its first sync: every item, the orders of the last 30 days. */
	cr_assert_eq(api_total(&t, fmt("/api/items?accountId=%s", acct)), 30);
	cr_assert_gt(api_total(&t, fmt("/api/orders?accountId=%s", acct)), 0);

	/* The shortest interval the API takes is a minute (so is the table's CHECK), too long to
	 * wait for: each round makes the account due by moving next_sync_at to now, as the
	 * passing of the interval would. */
	r = api(&t, "PUT", fmt("/api/ml-accounts/%s", acct), "{\"syncInterval\":60000}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.syncInterval"), 60000, "%s", r.body);
	h_resp_free(&r);
	long long seller = (long long)t.app.sellers[0], new_order = 0;
	for (long long round = 2; round <= 4; round++) {
		if (round == 3) {
			/* No notification target is set: only a sync can bring this order. */
			r = msh_sim(&t.sim, "POST", "/_sim/orders",
				    fmt("{\"seller_id\":%lld}", seller));
			cr_assert_eq(r.status, 201, "%s", r.body);
			new_order = int_at(r.json, "id");
			h_resp_free(&r);
		}
		cr_assert_eq(h_sql_int("WITH u AS (UPDATE ml_accounts SET next_sync_at = now() "
				       "WHERE id = '%s' RETURNING 1) SELECT count(*) FROM u",
				       acct),
			     1);
		sched_round(&t, &b, acct, round);
	}

	/* The order arrived by the timers' incremental sync: orders changed since the last sync. */
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_orders WHERE account_id = '%s' AND ml_id = "
			       "'%lld'",
			       acct, new_order),
		     1, "order %lld did not arrive", new_order);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s' AND since "
			       "IS NOT NULL",
			       acct),
		     3);
	r = msh_sim(&t.sim, "GET", "/_sim/requests?path=/orders/search*&limit=1", NULL);
	const char *q = str_at(r.json, "requests.0.query");
	cr_assert(q && strstr(q, "order.date_last_updated.from"), "last orders search: %s", r.body);
	h_resp_free(&r);
	locked_round(&t, &b, acct, 5);
	/* No two runs of the account overlapped (sync_runs_one_running forbids two running rows;
	 * this also checks the recorded times). */
	cr_assert_eq(h_sql_int("SELECT count(*) FROM sync_runs x JOIN sync_runs y ON y.account_id "
			       "= x.account_id AND x.id < y.id WHERE x.account_id = '%s' AND "
			       "tstzrange(x.started_at, coalesce(x.finished_at, 'infinity')) && "
			       "tstzrange(y.started_at, coalesce(y.finished_at, 'infinity'))",
			       acct),
		     0);

	h_server_stop_clean(&b);
	mlt_stop(&t);
	h_services(&svc, "stop", "");
}
