/* Amazon sync against marketsim: a backfill reads orders and listings from reports (gzip and
 * plain documents) and FBA stock from the inventory summaries into the channel-neutral tables,
 * with counts equal to marketsim's truth and no 429; the orders show in /api/orders beside
 * Mercado Livre's with channel amazon; a refused refresh token marks the account expired.
 * A FATAL report is asked for once more; 5xx and dropped connections are retried; the rates
 * Amazon announces replace the table's. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "amazon_helpers.h"

static amt_t t;

TestSuite(amazon_sync, .timeout = 180);

static void start(const char *const extra_sim[])
{
	const char *args[16] = {"--amazon-orders",	   "300", "--amazon-skus",	     "60",
				"--amazon-report-queue-s", "0.3", "--amazon-report-build-s", "0.7"};
	size_t n = 8;
	for (size_t i = 0; extra_sim && extra_sim[i] && n < 15; i++)
		args[n++] = extra_sim[i];
	args[n] = NULL;
	/* Each test's own queue and database (h_database_private at the top of every test):
	 * another test's server must not run this one's sync jobs or scheduled syncs against its
	 * own marketsim, whose seeded sellers have the same refresh tokens but other orders. */
	static char queue[64];
	snprintf(queue, sizeof(queue), "JOB_QUEUE=amazon-sync-%d", (int)getpid());
	const char *env[] = {queue, NULL};
	amt_start(&t, args, env);
}

static json_int_t truth_count(int i, const char *key)
{
	json_t *s = json_array_get(json_object_get(t.truth, "sellers"), (size_t)i);
	return json_integer_value(json_object_get(json_object_get(s, "counts"), key));
}

static long start_sync(const char *body, char *job, size_t size)
{
	h_resp_t r = ident_call(&t.srv, "POST", "/api/sync/start", t.owner.access, body);
	long status = r.status;
	if (status == 202)
		snprintf(job, size, "%lld",
			 (long long)json_integer_value(h_json_path(r.json, "data.jobId")));
	h_resp_free(&r);
	return status;
}

/* POST /api/sync/start and wait for the run to end; its status and error. The first scheduled
 * sync starts as soon as an account is connected: a start meets 409 until it ends. */
static char *sync_and_wait(const char *account, const char *scope)
{
	char body[256], job[32] = "";
	snprintf(body, sizeof(body), "{\"accountId\":\"%s\",\"scope\":\"%s\",\"days\":120}",
		 account, scope);
	long status = 0;
	H_WAIT_UNTIL((status = start_sync(body, job, sizeof(job))) != 409, 60000);
	cr_assert_eq(status, 202, "sync start answered %ld", status);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM sync_runs WHERE job_id = %s "
					 "AND status <> 'running'",
					 job) > 0,
			       120000),
		  "the sync did not end");
	return h_sql_text("SELECT status || ' ' || coalesce(error, '') FROM sync_runs "
			  "WHERE job_id = %s",
			  job);
}

static long long calls_429(void)
{
	h_resp_t r = msh_sim(&t.sim, "GET", "/_sim/amazon", NULL);
	long long n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(r.json, "operations"), k, v) n +=
	    json_integer_value(json_object_get(v, "throttled"));
	h_resp_free(&r);
	return n;
}

/* Every financial event became a payment of its order, and none is left held. */
static void assert_events_stored(const char *id)
{
	cr_assert_eq(h_sql_int("SELECT count(*) FROM payments WHERE account_id = '%s'", id),
		     truth_count(0, "financial_events"));
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM amazon_finance_pending WHERE account_id = '%s'", id), 0,
	    "events left held after the run");
}

/* The account's last run took its job two attempts, the first failing with why. */
static void assert_second_attempt(const char *id, const char *why)
{
	char *job = h_sql_text("SELECT j.attempts || ' ' || coalesce(j.last_error, '') FROM jobs j "
			       "JOIN sync_runs r ON r.job_id = j.id WHERE r.account_id = '%s' "
			       "ORDER BY r.started_at DESC LIMIT 1",
			       id);
	cr_assert(strncmp(job, "2 ", 2) == 0 && strstr(job, why), "job: %s", job);
	free(job);
}

Test(amazon_sync, backfill_reads_reports_and_stock_into_the_neutral_tables)
{
	h_database_private();
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
	/* Pricing and catalog for every SKU: its own offer's price, its ASIN's catalog summary
	 * (brand and browse classification). */
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM listings WHERE account_id = '%s' AND "
		      "raw->'pricing'->'Offers'->0->'BuyingPrice'->'ListingPrice'->>'Amount' "
		      "IS NOT NULL AND price = round((raw->'pricing'->'Offers'->0->'BuyingPrice'"
		      "->'ListingPrice'->>'Amount')::numeric, 2)",
		      id),
	    truth_count(0, "skus"));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE account_id = '%s' AND "
			       "raw->'catalog'->>'asin' = raw->>'ASIN' AND category_id IS NOT NULL "
			       "AND raw->'catalog'->'summaries'->0->>'brand' <> ''",
			       id),
		     truth_count(0, "skus"));
	/* FBA stock came from the summaries: every FBA SKU has its summary. */
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE account_id = '%s' AND "
			       "raw ? 'inventory'",
			       id),
		     truth_count(0, "fba_skus"));
	/* Fees and refunds: every financial event became a payment of its order — read while
	 * the orders report was being built, held, and released once the orders were stored. */
	assert_events_stored(id);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM payments WHERE account_id = '%s' AND "
			       "status = 'refund' AND transaction_amount < 0",
			       id),
		     truth_count(0, "refunds"));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM payments WHERE account_id = '%s' AND "
			       "status = 'shipment' AND marketplace_fee <= 0",
			       id),
		     0, "every sale pays Amazon a commission");
	cr_assert_eq(calls_429(), 0, "the rate table keeps every call inside Amazon's buckets");

	/* Beside the other channels in the data API. */
	h_resp_t r =
	    ident_call(&t.srv, "GET", "/api/orders?channel=amazon&limit=5", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.orders.0.channel")), "amazon",
			 "%s", r.body);
	h_resp_free(&r);
	amt_stop(&t);
}

Test(amazon_sync, plain_documents)
{
	h_database_private();
	const char *plain[] = {"--amazon-report-plain", NULL};
	start(plain);
	char id[40];
	amt_add(&t, &t.owner, 1, id);
	char *status = sync_and_wait(id, "orders");
	cr_assert_str_eq(status, "success ", "run: %s", status);
	free(status);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM orders WHERE account_id = '%s'", id),
		     truth_count(1, "orders"));
	amt_stop(&t);
}

Test(amazon_sync, a_refused_refresh_token_marks_the_account_expired)
{
	h_database_private();
	start(NULL);
	char id[40];
	amt_add(&t, &t.owner, 0, id);
	char path[160];
	/* The first scheduled sync starts at connect: let it end first, so one run meets the
	 * revoked grant. */
	ident_sql("UPDATE accounts SET next_sync_at = now() + interval '1 day' WHERE id = '%s'",
		  id);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s' "
					 "AND status = 'running'",
					 id) == 0,
			       60000));
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

static void notify(const char *json)
{
	h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/amazon/notify", json);
	cr_assert_eq(r.status, 202, "%s", r.body);
	h_resp_free(&r);
}

Test(amazon_sync, notifications_refresh_the_order_for_every_tenant_and_set_fba_stock)
{
	h_database_private();
	start(NULL);
	char a1[40], a2[40];
	amt_add(&t, &t.owner, 0, a1);
	session_t other; /* a second tenant holding the same seller */
	ident_signup(&t.srv, &other);
	amt_add(&t, &other, 0, a2);
	char *status = sync_and_wait(a1, "all");
	cr_assert_str_eq(status, "success ", "run: %s", status);
	free(status);

	char *order = h_sql_text("SELECT external_id FROM orders WHERE account_id = '%s' AND "
				 "status <> 'Shipped' ORDER BY external_id LIMIT 1",
				 a1);
	char path[160], body[1024];
	snprintf(path, sizeof(path), "/_sim/amazon/orders/%s", order);
	h_resp_t r = msh_sim(&t.sim, "PATCH", path, "{\"status\":\"Shipped\"}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	snprintf(
	    body, sizeof(body),
	    "{\"url\":\"%s\",\"type\":\"ORDER_CHANGE\",\"sellerId\":\"%s\",\"orderId\":\"%s\"}",
	    h_url(&t.srv, "/webhooks/amazon"), amt_seller_id(&t, 0), order);
	notify(body);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM orders WHERE external_id = '%s' AND "
					 "status = 'Shipped' AND account_id IN ('%s', '%s')",
					 order, a1, a2) == 2,
			       30000),
		  "the order was refreshed for both tenants");
	cr_assert_gt(h_sql_int("SELECT count(*) FROM order_items x JOIN orders o ON o.id = "
			       "x.order_id WHERE o.external_id = '%s' AND o.account_id = '%s'",
			       order, a2),
		     0, "with its lines");
	free(order);

	char *sku = h_sql_text("SELECT external_id FROM listings WHERE account_id = '%s' AND "
			       "logistic_type = 'AFN' ORDER BY external_id LIMIT 1",
			       a1);
	snprintf(path, sizeof(path), "/_sim/amazon/skus/%s/%s", amt_seller_id(&t, 0), sku);
	r = msh_sim(&t.sim, "PATCH", path, "{\"quantity\":7}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	snprintf(
	    body, sizeof(body),
	    "{\"url\":\"%s\",\"type\":\"FBA_INVENTORY_AVAILABILITY_CHANGES\",\"sellerId\":\"%s\","
	    "\"sku\":\"%s\"}",
	    h_url(&t.srv, "/webhooks/amazon"), amt_seller_id(&t, 0), sku);
	notify(body);
	cr_assert(
	    H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM listings WHERE external_id = '%s' "
				   "AND available_quantity = 7 AND account_id IN ('%s', '%s')",
				   sku, a1, a2) == 2,
			 30000),
	    "FBA stock set from the notification for both tenants");
	/* Its history: the quantity before and the 7 after, for each tenant's listing. */
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listing_stock_history h JOIN listings l ON "
			       "l.id = h.listing_id WHERE l.external_id = '%s' AND l.account_id IN "
			       "('%s', '%s') AND h.quantity = 7 AND h.previous IS DISTINCT FROM 7",
			       sku, a1, a2),
		     2);
	free(sku);

	/* Not an Amazon notification: 400, nothing stored; a redelivered one is stored once. */
	long long before = h_sql_int("SELECT count(*) FROM amazon_notifications");
	/* A type sellerhub does not take: acknowledged, not stored. */
	r = h_http("POST", h_url(&t.srv, "/webhooks/amazon"),
		   "{\"NotificationType\":\"ANY_OFFER_CHANGED\",\"NotificationMetadata\":"
		   "{\"NotificationId\":\"x1\"},\"Payload\":{}}",
		   (const char *[]){"Content-Type: application/json", NULL});
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	static const char *const bad[] = {
	    "{\"NotificationMetadata\":{\"NotificationId\":\"x2\"},\"Payload\":{}}",
	    "{\"NotificationType\":\"ORDER_CHANGE\",\"Payload\":{\"OrderChangeNotification\":"
	    "{\"SellerId\":\"A1\",\"AmazonOrderId\":\"1\"}}}",
	    "[1,2]"};
	for (size_t i = 0; i < 3; i++) {
		r = h_http("POST", h_url(&t.srv, "/webhooks/amazon"), bad[i],
			   (const char *[]){"Content-Type: application/json", NULL});
		cr_assert_eq(r.status, 400, "%s -> %s", bad[i], r.body);
		h_resp_free(&r);
	}
	const char *dup = "{\"NotificationType\":\"FBA_INVENTORY_AVAILABILITY_CHANGES\","
			  "\"NotificationMetadata\":{\"NotificationId\":\"dup-1\"},"
			  "\"Payload\":{\"SellerId\":\"NOBODY\",\"SKU\":\"S\"}}";
	for (int i = 0; i < 2; i++) {
		r = h_http("POST", h_url(&t.srv, "/webhooks/amazon"), dup,
			   (const char *[]){"Content-Type: application/json", NULL});
		cr_assert_eq(r.status, 200, "%s", r.body);
		h_resp_free(&r);
	}
	cr_assert_eq(h_sql_int("SELECT count(*) FROM amazon_notifications"), before + 1);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM amazon_notifications WHERE "
					 "notification_id = 'dup-1' AND status = 'ignored'") == 1,
			       20000),
		  "a seller nobody holds is set aside");
	amt_stop(&t);
}

/* No scheduled sync of the account from here on (a run already started ends first). */
static void timers_away(const char *id)
{
	ident_sql("UPDATE accounts SET next_sync_at = now() + interval '1 day' WHERE id = '%s'",
		  id);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s' "
					 "AND status = 'running'",
					 id) == 0,
			       60000));
}
static void fail_reports(const char *type, int count)
{
	char body[160];
	snprintf(body, sizeof(body), "{\"reportType\":\"%s\",\"count\":%d}", type, count);
	h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/amazon/reports/fail", body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

#define ORDERS_REPORT "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"

Test(amazon_sync, a_fatal_report_is_asked_for_once_more_then_reported_and_retried_later)
{
	h_database_private();
	start(NULL);
	char id[40];
	amt_add(&t, &t.owner, 0, id);
	timers_away(id);
	ident_sql("DELETE FROM orders WHERE account_id = '%s'", id);

	/* FATAL once: a second report brings every order. */
	fail_reports(ORDERS_REPORT, 1);
	long created = amt_calls(&t, "/reports/2021-06-30/reports");
	char *status = sync_and_wait(id, "orders");
	cr_assert_str_eq(status, "success ", "run: %s", status);
	free(status);
	cr_assert_eq(amt_calls(&t, "/reports/2021-06-30/reports"), created + 2);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM orders WHERE account_id = '%s'", id),
		     truth_count(0, "orders"));

	/* FATAL twice: the run's attempt fails with the reason (its job's last error), no third
	 * report in it; the job's next attempt starts over and succeeds. */
	fail_reports(ORDERS_REPORT, 2);
	created = amt_calls(&t, "/reports/2021-06-30/reports");
	status = sync_and_wait(id, "orders");
	cr_assert_str_eq(status, "success ", "run: %s", status);
	free(status);
	assert_second_attempt(id, "FATAL twice");
	cr_assert_eq(amt_calls(&t, "/reports/2021-06-30/reports"), created + 3);
	amt_stop(&t);
}

/* 5xx answers and dropped connections on every kind of call the backfill makes: retried with
 * backoff, the run resumes where it was and ends with marketsim's counts. */
Test(amazon_sync, errors_and_dropped_connections_are_retried_and_the_run_resumes)
{
	h_database_private();
	start(NULL);
	char id[40];
	amt_add(&t, &t.owner, 0, id);
	timers_away(id);
	ident_sql("DELETE FROM orders WHERE account_id = '%s'", id);
	ident_sql("DELETE FROM listings WHERE account_id = '%s'", id);
	static const char *const faults[] = {
	    "{\"path\":\"/reports/*\",\"status\":503,\"rate\":0.3,\"count\":4}",
	    "{\"path\":\"/reports/*\",\"drop\":true,\"rate\":0.3,\"count\":2}",
	    "{\"path\":\"/amazon-reports/*\",\"status\":500,\"count\":1}",
	    "{\"path\":\"/finances/*\",\"status\":503,\"rate\":0.5,\"count\":3}",
	    "{\"path\":\"/fba/*\",\"drop\":true,\"count\":1}"};
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/faults", faults[i]);
		cr_assert_eq(r.status / 100, 2, "%s", r.body);
		h_resp_free(&r);
	}
	char *status = sync_and_wait(id, "all");
	cr_assert_str_eq(status, "success ", "run: %s", status);
	free(status);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM orders WHERE account_id = '%s'", id),
		     truth_count(0, "orders"));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE account_id = '%s'", id),
		     truth_count(0, "skus"));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM payments WHERE account_id = '%s'", id),
		     truth_count(0, "financial_events"));
	cr_assert_eq(calls_429(), 0);
	amt_stop(&t);
}

/* A store that fails fails its attempt (here triggers the test adds refuse the first catalog
 * written and the first payment: as a deadlock would); the job's next attempt resumes the run
 * and does what is left. The catalog and the events follow the listings and the orders, which
 * the first attempt stored: the resumed attempt starts them itself, releases the events the
 * first one held, and the run ends with marketsim's counts. (Before, each resumed attempt
 * ended at once with nothing done, until the job's last attempt.) */
Test(amazon_sync, a_failed_store_is_redone_by_the_next_attempt)
{
	h_database_private();
	start(NULL);
	char id[40];
	amt_add(&t, &t.owner, 0, id);
	timers_away(id);
	ident_sql("DELETE FROM payments WHERE account_id = '%s'", id);
	ident_sql("UPDATE listings SET raw = raw - 'catalog' WHERE account_id = '%s'", id);
	/* ident_sql goes through a shell: the function's body is single-quoted, not $$. */
	cr_assert_eq(ident_sql("CREATE SEQUENCE refuse_catalog; CREATE SEQUENCE refuse_payment"),
		     0);
	cr_assert_eq(ident_sql("CREATE FUNCTION refuse_once() RETURNS trigger LANGUAGE plpgsql AS "
			       "'BEGIN IF nextval(TG_ARGV[0]) = 1 THEN RAISE EXCEPTION ''refused "
			       "by the test''; END IF; RETURN NEW; END'"),
		     0);
	cr_assert_eq(ident_sql("CREATE TRIGGER refuse_catalog BEFORE UPDATE ON listings FOR EACH "
			       "ROW WHEN (NEW.raw ? 'catalog' AND NOT OLD.raw ? 'catalog') EXECUTE "
			       "FUNCTION refuse_once('refuse_catalog')"),
		     0);
	cr_assert_eq(ident_sql("CREATE TRIGGER refuse_payment BEFORE INSERT ON payments FOR EACH "
			       "ROW EXECUTE FUNCTION refuse_once('refuse_payment')"),
		     0);
	char *status = sync_and_wait(id, "all");
	cr_assert_str_eq(status, "success ", "run: %s", status);
	free(status);
	cr_assert_gt(h_sql_int("SELECT last_value FROM refuse_catalog"), 1, "the catalog refused");
	cr_assert_gt(h_sql_int("SELECT last_value FROM refuse_payment"), 1, "a payment refused");
	assert_second_attempt(id, "refused by the test");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE account_id = '%s' AND "
			       "raw ? 'catalog'",
			       id),
		     truth_count(0, "skus"));
	assert_events_stored(id);
	amt_stop(&t);
}

/* sellerhub believes its application's plan is four times Amazon's default
 * (AMAZON_RATE_SCALE=4); marketsim grants the default and says so in x-amzn-RateLimit-Limit.
 * 40 order notifications make 40 getOrder and 40 getOrderItems calls, past the 30-call burst:
 * following the announced rate, none meets a 429 (at the table's rate several would). */
Test(amazon_sync, announced_rates_replace_the_table)
{
	h_database_private();
	const char *args[] = {"--amazon-orders", "300", "--amazon-skus", "20", NULL};
	const char *env[] = {"AMAZON_RATE_SCALE=4", NULL};
	amt_start(&t, args, env);
	char id[40];
	amt_add(&t, &t.owner, 0, id);
	timers_away(id);
	char *status = sync_and_wait(id, "orders");
	cr_assert_str_eq(status, "success ", "run: %s", status);
	free(status);
	long long throttled = calls_429();
	char *orders = h_sql_text("SELECT string_agg(external_id, ' ') FROM (SELECT external_id "
				  "FROM orders WHERE account_id = '%s' ORDER BY external_id "
				  "LIMIT 40) o",
				  id);
	cr_assert(orders && strlen(orders) > 0, "the first sync stored no order");
	int n = 0;
	char body[1024], ids[40 * 48] = "";
	for (char *save = NULL, *o = strtok_r(orders, " ", &save); o;
	     o = strtok_r(NULL, " ", &save), n++) {
		snprintf(body, sizeof(body),
			 "{\"url\":\"%s\",\"type\":\"ORDER_CHANGE\",\"sellerId\":\"%s\","
			 "\"orderId\":\"%s\"}",
			 h_url(&t.srv, "/webhooks/amazon"), amt_seller_id(&t, 0), o);
		h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/amazon/notify", body);
		cr_assert_eq(r.status, 202, "%s: %s", o, r.body);
		const char *nid =
		    json_string_value(h_json_path(r.json, "NotificationMetadata.NotificationId"));
		cr_assert(nid, "%s", r.body);
		snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s'%s'", n ? "," : "", nid);
		h_resp_free(&r);
	}
	free(orders);
	cr_assert_eq(n, 40);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM amazon_notifications WHERE "
					 "notification_id IN (%s) AND status = 'processed'",
					 ids) == 40,
			       90000),
		  "the notifications were not applied");
	cr_assert_eq(calls_429() - throttled, 0, "calls beyond the announced rates");
	amt_stop(&t);
}

/* The janitor's schedule: once the backfill is done, a due account is synced by increments —
 * getOrders with LastUpdatedAfter — and an order changed at Amazon since
 * (shipped here) shows its new status without any notification. */
Test(amazon_sync, a_scheduled_sync_takes_the_increment_by_getorders)
{
	h_database_private();
	const char *args[] = {"--amazon-orders", "300", "--amazon-skus", "20", NULL};
	const char *env[] = {"SYNC_SWEEP_MS=200", NULL};
	amt_start(&t, args, env);
	char id[40];
	amt_add(&t, &t.owner, 0, id);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s' "
					 "AND status = 'success'",
					 id) > 0,
			       120000),
		  "the first scheduled sync did not succeed");
	/* A scheduled backfill reaches back 30 days: about a third of the 90 days seeded. */
	long long stored = h_sql_int("SELECT count(*) FROM orders WHERE account_id = '%s'", id);
	cr_assert(stored > 0 && stored < truth_count(0, "orders"), "%lld orders stored", stored);
	char *order = h_sql_text("SELECT external_id FROM orders WHERE account_id = '%s' AND "
				 "status <> 'Shipped' ORDER BY external_id LIMIT 1",
				 id);
	cr_assert(order && *order, "no open order to ship");
	char path[160];
	snprintf(path, sizeof(path), "/_sim/amazon/orders/%s", order);
	h_resp_t r = msh_sim(&t.sim, "PATCH", path, "{\"status\":\"Shipped\"}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	/* getOrders shows nothing updated in the last 2 minutes (LastUpdatedBefore's default). */
	r = msh_sim(&t.sim, "POST", "/_sim/clock", "{\"advanceMs\":180000}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	long get_orders = amt_calls(&t, "/orders/v0/orders");
	long long runs = h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s'", id);
	ident_sql("UPDATE accounts SET next_sync_at = now() WHERE id = '%s'", id);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM orders WHERE account_id = '%s' AND "
					 "external_id = '%s' AND status = 'Shipped'",
					 id, order) == 1,
			       60000),
		  "the scheduled increment did not bring the shipped order");
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s' "
					 "AND status = 'success'",
					 id) > 1,
			       60000),
		  "the scheduled increment did not end in success");
	cr_assert_gt(h_sql_int("SELECT count(*) FROM sync_runs WHERE account_id = '%s'", id), runs);
	cr_assert_gt(amt_calls(&t, "/orders/v0/orders"), get_orders, "no getOrders increment");
	cr_assert_geq(h_sql_int("SELECT count(*) FROM orders WHERE account_id = '%s'", id), stored);
	free(order);
	amt_stop(&t);
}

/* Two processes with fast token timers share the database: an access token falling due is
 * refreshed once at Login with Amazon, not once per process. A witness account falls due
 * after: its refresh is a sweep that began after the first, which a late second refresh of
 * the account would have come with. */
Test(amazon_sync, two_processes_refresh_a_due_token_once)
{
	h_database_private();
	const char *args[] = {"--amazon-orders", "50", "--amazon-skus", "10", NULL};
	const char *fast = "TOKEN_SWEEP_MS=100";
	const char *env[] = {fast, NULL};
	amt_start(&t, args, env);
	const char *env2[9];
	for (int i = 0; i < 7; i++)
		env2[i] = t.env[i];
	env2[7] = fast;
	env2[8] = NULL;
	h_proc_t second;
	cr_assert(h_server_start(&second, env2), "the second sellerhubd did not start");
	char a[40], witness[40];
	amt_add(&t, &t.owner, 0, a);
	amt_add(&t, &t.owner, 1, witness);
	long before = amt_calls(&t, "/auth/o2/token");
	const char *due = "UPDATE accounts SET refreshed_at = now() - interval '5 hours', "
			  "token_expires_at = now() + interval '10 minutes' WHERE id = '%s'";
	const char *renewed = "SELECT count(*) FROM accounts WHERE id = '%s' AND "
			      "token_expires_at > now() + interval '50 minutes'";
	ident_sql(due, a);
	cr_assert(H_WAIT_UNTIL(h_sql_int(renewed, a) == 1, 10000), "the token was not refreshed");
	ident_sql(due, witness);
	cr_assert(H_WAIT_UNTIL(h_sql_int(renewed, witness) == 1, 10000),
		  "no timer swept after the refresh");
	cr_assert_eq(amt_calls(&t, "/auth/o2/token"), before + 2,
		     "one refresh of the account (and the witness's) reached Login with Amazon");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM accounts WHERE id IN ('%s', '%s') AND "
			       "status = 'active'",
			       a, witness),
		     2);
	cr_assert_eq(h_proc_stop(&second, 15), 0);
	amt_stop(&t);
}

/* A figure (in cents) of a finance answer (api: summary|pnl) at key for the UTC days from
 * `from` to `to` days ago (negative: ahead). */
static long long figure_cents(const session_t *s, const char *api, const char *key, int from,
			      int to)
{
	char a[16], b[16], path[160];
	time_t now = time(NULL), t0 = now - (time_t)from * 86400, t1 = now - (time_t)to * 86400;
	strftime(a, sizeof(a), "%Y-%m-%d", gmtime(&t0));
	strftime(b, sizeof(b), "%Y-%m-%d", gmtime(&t1));
	snprintf(path, sizeof(path), "/api/finance/%s%speriod=custom&startDate=%s&endDate=%s", api,
		 strchr(api, '?') ? "&" : "?", a, b);
	h_resp_t r = ident_call(&t.srv, "GET", path, s->access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *v = h_json_path(r.json, key);
	cr_assert(json_is_number(v), "%s: %s", key, r.body);
	long long cents = llround(json_number_value(v) * 100);
	h_resp_free(&r);
	return cents;
}

static long long cost_cents(const session_t *s, const char *kind, int from, int to)
{
	char key[32];
	snprintf(key, sizeof(key), "data.costs.%s", kind);
	return figure_cents(s, "summary", key, from, to);
}

/* Marketsim's cost events of seller 0 of a kind posted between `from` and `to` days ago. */
static long long truth_cents(const char *kind, double from, double to)
{
	json_t *s = json_array_get(json_object_get(t.truth, "sellers"), 0);
	long long now = (long long)time(NULL) * 1000, sum = 0;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(s, "costs"), i, c)
	{
		double ago =
		    (double)(now - json_integer_value(json_object_get(c, "posted"))) / 864e5;
		if (strcmp(json_string_value(json_object_get(c, "kind")), kind) == 0 &&
		    ago < from && ago > to)
			sum += json_integer_value(json_object_get(c, "cents"));
	}
	return sum;
}

/* Ad spend (ProductAdsPaymentEventList) and service fees (ServiceFeeEventList) belong to no
 * order: they are the summary's advertising and other costs, by posting date (a service fee
 * has none: the day it is first read), for their tenant only, once however often read. */
Test(amazon_sync, ad_spend_and_service_fees_are_the_summary_s_advertising_and_other)
{
	h_database_private();
	start(NULL);
	char id[40];
	amt_add(&t, &t.owner, 0, id);
	session_t other;
	ident_signup(&t.srv, &other);
	long long ads = truth_cents("ads", 120, 0), fees = truth_cents("service_fee", 120, 0);
	/* Events 3.5, 10.5 (an ad credit), 17.5... days ago: 7 to 28 days ago, whatever the
	 * tenant's time zone, is the custom period from 29 to 7 days ago. */
	long long weeks = truth_cents("ads", 28, 7);
	cr_assert(ads > 0 && fees > 0 && weeks > 0 && weeks < ads, "the seeded costs");
	for (int run = 0; run < 2; run++) {
		char *status = sync_and_wait(id, "all");
		cr_assert_str_eq(status, "success ", "run %d: %s", run, status);
		free(status);
		cr_assert_eq(cost_cents(&t.owner, "advertising", 100, -1), ads, "run %d", run);
		cr_assert_eq(cost_cents(&t.owner, "other", 100, -1), fees, "run %d", run);
		cr_assert_eq(cost_cents(&t.owner, "advertising", 29, 7), weeks, "run %d", run);
		cr_assert_eq(cost_cents(&other, "advertising", 100, -1), 0);
		cr_assert_eq(cost_cents(&other, "other", 100, -1), 0);
	}
	cr_assert_eq(h_sql_int("SELECT count(*) FROM account_costs WHERE account_id = '%s'", id),
		     truth_count(0, "ad_payments") + truth_count(0, "service_fees"));
	/* The P&L's operating expenses carry them too. */
	cr_assert_eq(figure_cents(&t.owner, "pnl",
				  "data.current.operatingExpenses.lines.advertising", 29, 7),
		     weeks);
	cr_assert_eq(
	    figure_cents(&t.owner, "pnl", "data.current.operatingExpenses.lines.other", 100, -1),
	    fees);
	/* And the transactions, as movements of their own (a cost is a debit). */
	cr_assert_eq(
	    -figure_cents(&t.owner, "transactions?type=advertising", "data.totals.net", 29, 7),
	    weeks);
	cr_assert_eq(-figure_cents(&t.owner, "transactions?type=other", "data.totals.net", 100, -1),
		     fees);
	cr_assert_eq(
	    figure_cents(&other, "transactions?type=advertising", "data.totals.net", 100, -1), 0);
	amt_stop(&t);
}
