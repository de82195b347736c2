/* Amazon sync against marketsim: a backfill reads orders and listings from reports (gzip and
 * plain documents) and FBA stock from the inventory summaries into the channel-neutral tables,
 * with counts equal to marketsim's truth and no 429; the orders show in /api/orders beside
 * Mercado Livre's with channel amazon; a refused refresh token marks the account expired; a
 * scheduled sync reads what changed through getOrders and getOrderItems. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "amazon_helpers.h"

static amt_t t;

TestSuite(amazon_sync, .timeout = 180);

static void start(const char *const extra_sim[])
{
	const char *args[16] = {"--amazon-orders", "300", "--amazon-skus", "60",
				"--amazon-report-queue-s", "0.3", "--amazon-report-build-s", "0.7"};
	size_t n = 8;
	for (size_t i = 0; extra_sim && extra_sim[i] && n < 15; i++)
		args[n++] = extra_sim[i];
	args[n] = NULL;
	/* Each test's own queue: another test's server must not run its sync jobs against its own
	 * marketsim (tests of a suite run at once). */
	static char queue[64];
	snprintf(queue, sizeof(queue), "JOB_QUEUE=amazon-sync-%d", (int)getpid());
	const char *env[] = {queue, "SYNC_SWEEP_MS=200", NULL};
	amt_start(&t, args, env);
}

static json_int_t truth_count(int i, const char *key)
{
	json_t *s = json_array_get(json_object_get(t.truth, "sellers"), (size_t)i);
	return json_integer_value(json_object_get(json_object_get(s, "counts"), key));
}

/* POST /api/sync/start and wait for the run to end; its status. */
static char *sync_and_wait(const char *account, const char *scope)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"accountId\":\"%s\",\"scope\":\"%s\",\"days\":120}",
		 account, scope);
	h_resp_t r = ident_call(&t.srv, "POST", "/api/sync/start", t.owner.access, body);
	cr_assert_eq(r.status, 202, "%s", r.body);
	h_resp_free(&r);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s' "
					 "AND status <> 'running'",
					 account) > 0,
			       120000),
		  "the sync did not end");
	return h_sql_text("SELECT status || ' ' || coalesce(error, '') FROM sync_runs "
			  "WHERE account_id = '%s' ORDER BY started_at DESC LIMIT 1",
			  account);
}

static long long calls_429(void)
{
	h_resp_t r = msh_sim(&t.sim, "GET", "/_sim/amazon", NULL);
	long long n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(r.json, "operations"), k, v)
	    n += json_integer_value(json_object_get(v, "throttled"));
	h_resp_free(&r);
	return n;
}

Test(amazon_sync, backfill_reads_reports_and_stock_into_the_neutral_tables)
{
	start(NULL);
	char id[40];
	amt_add(&t, &t.owner, 0, id);
	char *status = sync_and_wait(id, "all");
	cr_assert_str_eq(status, "success ", "run: %s", status);
	free(status);

	cr_assert_eq(h_sql_int("SELECT count(*) FROM orders WHERE account_id = '%s' AND channel = "
			       "'amazon'",
			       id),
		     truth_count(0, "orders"));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM order_items WHERE account_id = '%s'", id),
		     truth_count(0, "order_items"));
	cr_assert_eq(h_sql_int("SELECT coalesce(sum(quantity), 0) FROM order_items WHERE "
			       "account_id = '%s'",
			       id),
		     truth_count(0, "units"));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE account_id = '%s'", id),
		     truth_count(0, "skus"));
	/* FBA stock came from the summaries: every FBA SKU has its summary. */
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE account_id = '%s' AND "
			       "raw ? 'inventory'",
			       id),
		     truth_count(0, "fba_skus"));
	cr_assert_eq(calls_429(), 0, "the rate table keeps every call inside Amazon's buckets");

	/* Beside the other channels in the data API. */
	h_resp_t r = ident_call(&t.srv, "GET", "/api/orders?channel=amazon&limit=5",
				t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.orders.0.channel")), "amazon",
			 "%s", r.body);
	h_resp_free(&r);
	amt_stop(&t);
}

Test(amazon_sync, plain_documents_and_a_scheduled_increment)
{
	const char *plain[] = {"--amazon-report-plain", NULL};
	start(plain);
	char id[40];
	amt_add(&t, &t.owner, 1, id);
	char *status = sync_and_wait(id, "orders");
	cr_assert_str_eq(status, "success ", "run: %s", status);
	free(status);
	long long before = h_sql_int("SELECT count(*) FROM orders WHERE account_id = '%s'", id);
	cr_assert_eq(before, truth_count(1, "orders"));

	/* A scheduled sync reads what changed through getOrders and getOrderItems. */
	long long items_calls = amt_calls(&t, "/orders/v0/orders");
	ident_sql("UPDATE accounts SET next_sync_at = now() - interval '1 second' WHERE id = '%s'",
		  id);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s' "
					 "AND kind = 'scheduled' AND status <> 'running'",
					 id) > 0,
			       60000),
		  "no scheduled run");
	char *st = h_sql_text("SELECT status FROM sync_runs WHERE account_id = '%s' AND kind = "
			      "'scheduled' ORDER BY started_at DESC LIMIT 1",
			      id);
	cr_assert_str_eq(st, "success");
	free(st);
	cr_assert_gt(amt_calls(&t, "/orders/v0/orders"), items_calls, "getOrders was called");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM orders WHERE account_id = '%s'", id), before);
	amt_stop(&t);
}

Test(amazon_sync, a_refused_refresh_token_marks_the_account_expired)
{
	start(NULL);
	char id[40];
	amt_add(&t, &t.owner, 0, id);
	char path[160];
	snprintf(path, sizeof(path), "/_sim/amazon/sellers/%s/revoke", amt_seller_id(&t, 0));
	h_resp_t r = msh_sim(&t.sim, "POST", path, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	/* Its access token is still good for an hour: make it due. */
	ident_sql("UPDATE accounts SET token_expires_at = now() WHERE id = '%s'", id);
	long lwa = amt_calls(&t, "/auth/o2/token");
	char *status = sync_and_wait(id, "orders");
	cr_assert(strncmp(status, "failed", 6) == 0, "run: %s", status);
	free(status);
	char *acct = h_sql_text("SELECT status FROM accounts WHERE id = '%s'", id);
	cr_assert_str_eq(acct, "expired");
	free(acct);
	cr_assert_leq(amt_calls(&t, "/auth/o2/token"), lwa + 1, "one refresh, no retry storm");
	amt_stop(&t);
}
