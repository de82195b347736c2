/* The tenant's notification views (/api/webhooks/stats, /pending), the job board
 * (/api/admin/jobs, retry), and notifications recovered from Mercado Livre's missed_feeds. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ml_helpers.h"

static mlt_t t;
static char account[40];

static void start_with(const char *const env[])
{
	char seed[16];
	snprintf(seed, sizeof(seed), "%d", getpid()); /* unique among running tests */
	mlt_start(&t, seed, 1, env);
	/* Deliveries give up after two attempts within a few milliseconds (an hour, squeezed). */
	h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/reset",
			     "{\"notify_retry_scale\":0.00001,\"notify_attempts\":2}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	mlt_add(&t, &t.owner, 0, 6 * 3600, account, NULL);
}

static void start(void)
{
	const char *env[] = {"JOB_REDISPATCH_SECONDS=1", NULL};
	start_with(env);
}

/* Only this suite polls missed_feeds every second: a poller asks with any active account, and
 * the tests' shared database holds accounts of other tests' simulators. */
static void start_polling(void)
{
	const char *env[] = {"JOB_REDISPATCH_SECONDS=1", "MISSED_FEEDS_INTERVAL=1", NULL};
	start_with(env);
}

static void stop(void)
{
	mlt_stop(&t);
}

TestSuite(webhook_api, .init = start, .fini = stop, .timeout = 90);

static const char *code(const h_resp_t *r)
{
	return json_string_value(json_object_get(r->json, "code"));
}

Test(webhook_api, stats_and_pending_are_the_tenants_own)
{
	long long seller = (long long)t.app.sellers[0];
	char tag[64];
	snprintf(tag, sizeof(tag), "api-%d-%ld", getpid(), (long)time(NULL));
	/* Three waiting notifications, stored as intake would but with no job yet. */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(
		    h_sql_int("INSERT INTO ml_notifications (notification_id, topic, resource,"
			      " ml_user_id, body) VALUES ('%s-p%d', 'orders_v2', '/orders/%d',"
			      " %lld, '{}') RETURNING 1",
			      tag, i, i, seller),
		    1);
	/* One that is processed: an item notification that names no item is done at once. */
	char body[512];
	snprintf(body, sizeof(body),
		 "{\"_id\":\"%s-m\",\"resource\":\"abc123\",\"user_id\":%lld,\"topic\":\"items\","
		 "\"application_id\":%s}",
		 tag, seller, t.app.client_id);
	h_resp_t r = h_http("POST", h_url(&t.srv, "/webhooks/ml"), body, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM ml_notifications WHERE "
					 "notification_id = '%s-m' AND status = 'done'",
					 tag) == 1,
			       10000),
		  "the items notification was not done");

	r = ident_call(&t.srv, "GET", "/api/webhooks/pending?limit=2", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_geq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 3);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.notifications")), 2);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.notifications.0.topic")),
			 "orders_v2");
	cr_assert(
	    strstr(json_string_value(h_json_path(r.json, "data.notifications.0.arrivedAt")), "Z"));
	h_resp_free(&r);

	r = ident_call(&t.srv, "GET", "/api/webhooks/stats", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	/* At least this test's rows (the simulator may notify the seller of its own changes). */
	json_int_t total = json_integer_value(h_json_path(r.json, "data.total"));
	json_int_t pending = json_integer_value(h_json_path(r.json, "data.byStatus.pending"));
	json_int_t done = json_integer_value(h_json_path(r.json, "data.byStatus.done"));
	cr_assert_geq(pending, 3, "%s", r.body);
	cr_assert_geq(done, 1, "%s", r.body);
	cr_assert_eq(total, pending + done, "%s", r.body);
	cr_assert_geq(json_integer_value(h_json_path(r.json, "data.byTopic.orders_v2")), 3);
	cr_assert_geq(json_integer_value(h_json_path(r.json, "data.byTopic.items")), 1);
	cr_assert(json_is_number(h_json_path(r.json, "data.lagMs.p95")), "%s", r.body);
	cr_assert_not_null(json_string_value(h_json_path(r.json, "data.oldestPending")));
	h_resp_free(&r);

	/* Another tenant sees none of it. */
	session_t other;
	ident_signup(&t.srv, &other);
	r = ident_call(&t.srv, "GET", "/api/webhooks/stats", other.access, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.total")), 0);
	h_resp_free(&r);
	r = ident_call(&t.srv, "GET", "/api/webhooks/pending", other.access, NULL);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 0);
	h_resp_free(&r);
	r = ident_call(&t.srv, "GET", "/api/webhooks/stats?hours=0", t.owner.access, NULL);
	cr_assert_eq(r.status, 400);
	h_resp_free(&r);
	r = ident_call(&t.srv, "GET", "/api/webhooks/stats", NULL, NULL);
	cr_assert_eq(r.status, 401);
	h_resp_free(&r);
}

/* The value of a metric line of /metrics ("name{labels} value"), -1 when absent. */
static double metric(const char *name_and_labels)
{
	h_resp_t r = h_http("GET", h_url(&t.srv, "/metrics"), NULL, NULL);
	const char *at = r.body ? strstr(r.body, name_and_labels) : NULL;
	double v = at ? strtod(at + strlen(name_and_labels), NULL) : -1;
	h_resp_free(&r);
	return v;
}

/* Mercado Livre has topics sellerhub keeps nothing of (messages) and anyone can post made-up
 * ones: acknowledged with a 200 (anything else is retried for an hour), counted, not stored, so
 * never in a tenant's stats. */
Test(webhook_api, unknown_topics_are_acknowledged_counted_and_not_stored)
{
	long long seller = (long long)t.app.sellers[0];
	char tag[64];
	snprintf(tag, sizeof(tag), "topic-%d-%ld", getpid(), (long)time(NULL));
	const char *topics[] = {"messages", "t", "orders_v3", "ORDERS_V2"};
	for (size_t i = 0; i < sizeof(topics) / sizeof(*topics); i++) {
		char body[512];
		snprintf(body, sizeof(body),
			 "{\"_id\":\"%s-%zu\",\"resource\":\"/x/1\",\"user_id\":%lld,"
			 "\"topic\":\"%s\",\"application_id\":%s}",
			 tag, i, seller, topics[i], t.app.client_id);
		h_resp_t r = h_http("POST", h_url(&t.srv, "/webhooks/ml"), body, NULL);
		cr_assert_eq(r.status, 200, "%s: %s", topics[i], r.body);
		cr_expect(json_is_true(json_object_get(r.json, "success")), "%s", r.body);
		cr_expect(json_is_false(h_json_path(r.json, "data.stored")), "%s", r.body);
		h_resp_free(&r);
	}
	/* A kept topic beside them is stored as ever. */
	char body[512];
	snprintf(body, sizeof(body),
		 "{\"_id\":\"%s-kept\",\"resource\":\"abc\",\"user_id\":%lld,"
		 "\"topic\":\"items\",\"application_id\":%s}",
		 tag, seller, t.app.client_id);
	h_resp_t r = h_http("POST", h_url(&t.srv, "/webhooks/ml"), body, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	cr_expect_eq(h_sql_int("SELECT count(*) FROM ml_notifications WHERE notification_id"
			       " LIKE '%s-%%'",
			       tag),
		     1, "an unknown topic was stored");
	cr_expect_eq(metric("sellerhub_webhooks_unknown_topic_total{source=\"ml\"} "), 4);
	cr_expect_eq(metric("sellerhub_webhooks_rejected_total{source=\"ml\"} "), 0);
	r = ident_call(&t.srv, "GET", "/api/webhooks/stats", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *by_topic = h_json_path(r.json, "data.byTopic");
	for (size_t i = 0; i < sizeof(topics) / sizeof(*topics); i++)
		cr_expect_null(json_object_get(by_topic, topics[i]), "%s in the stats: %s",
			       topics[i], r.body);
	h_resp_free(&r);
}

Test(webhook_api, a_dead_job_is_shown_and_retried_by_an_admin)
{
	/* A job no process can run: it dies at its first attempt. */
	long long id = h_sql_int("INSERT INTO jobs (kind, tenant_id, max_attempts, dispatched_at,"
				 " queue) SELECT 'export_unknown', tenant_id, 1, now() - interval"
				 " '1 hour', '%s' FROM users WHERE id = '%s' RETURNING id",
				 h_job_queue(), t.owner.user_id);
	cr_assert_gt(id, 0);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM jobs WHERE id = %lld AND status "
					 "= 'dead'",
					 id) == 1,
			       10000),
		  "the job did not die");
	char *first = h_sql_text("SELECT finished_at FROM jobs WHERE id = %lld", id);

	h_resp_t r = ident_call(&t.srv, "GET", "/api/admin/jobs?status=dead", t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_geq(json_integer_value(h_json_path(r.json, "data.queue.dead")), 1);
	json_t *jobs = h_json_path(r.json, "data.jobs");
	bool seen = false;
	char idstr[24];
	snprintf(idstr, sizeof(idstr), "%lld", id);
	for (size_t i = 0; i < json_array_size(jobs); i++) {
		json_t *j = json_array_get(jobs, i);
		if (strcmp(json_string_value(json_object_get(j, "id")), idstr) == 0) {
			seen = true;
			cr_assert_str_eq(json_string_value(json_object_get(j, "lastError")),
					 "no handler for this kind of job");
		}
	}
	cr_assert(seen, "%s", r.body);
	h_resp_free(&r);

	/* A viewer may not; another tenant cannot even find it. */
	session_t viewer, other;
	ident_add_user(&t.srv, &t.owner, "viewer", &viewer);
	char path[96];
	snprintf(path, sizeof(path), "/api/admin/jobs/%lld/retry", id);
	r = ident_call(&t.srv, "POST", path, viewer.access, NULL);
	cr_assert_eq(r.status, 403);
	h_resp_free(&r);
	ident_signup(&t.srv, &other);
	r = ident_call(&t.srv, "POST", path, other.access, NULL);
	cr_assert_eq(r.status, 404);
	h_resp_free(&r);

	/* Retried: queued with fresh attempts, then it runs again (and dies again). */
	r = ident_call(&t.srv, "POST", path, t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.status")), "queued");
	h_resp_free(&r);
	bool reran = H_WAIT_UNTIL(({
					  char *now = h_sql_text(
					      "SELECT finished_at FROM jobs WHERE id = %lld AND "
					      "status = 'dead' AND attempts = 1 AND note LIKE "
					      "'retried by %%'",
					      id);
					  bool again = *now && strcmp(now, first) != 0;
					  free(now);
					  again;
				  }),
				  10000);
	cr_assert(reran, "the retried job did not run again");
	free(first);
	/* Retrying a job that is not dead or failed is a conflict. */
	long long done = h_sql_int("INSERT INTO jobs (kind, tenant_id, status) SELECT 'x', "
				   "tenant_id, 'done' FROM users WHERE id = '%s' RETURNING id",
				   t.owner.user_id);
	snprintf(path, sizeof(path), "/api/admin/jobs/%lld/retry", done);
	r = ident_call(&t.srv, "POST", path, t.owner.access, NULL);
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(code(&r), "NOT_RETRYABLE");
	h_resp_free(&r);
}

/* Notification jobs of the tenant's seller on the board: unfinished or dead whatever their age,
 * done only for a day of arrivals (they are a group every few milliseconds under load). */
Test(webhook_api, the_board_keeps_a_day_of_done_notification_jobs)
{
	long long seller = (long long)t.app.sellers[0];
	const char *cases[][2] = {
	    {"done", "2 days"}, {"done", "1 hour"}, {"dead", "2 days"}, {"failed", "3 days"}};
	/* Back-dated groups of an account connected before them (a tenant sees nothing of what
	 * its seller received before it connected it). */
	cr_assert_eq(h_sql_int("UPDATE accounts SET created_at = now() - interval '4 days'"
			       " WHERE id = '%s' RETURNING 1",
			       account),
		     1);
	long long ids[4];
	for (int i = 0; i < 4; i++) {
		ids[i] = h_sql_int("INSERT INTO jobs (kind, status, queue, updated_at) VALUES"
				   " ('ml_notifications', '%s', 'board-%d', now() - interval '%s')"
				   " RETURNING id",
				   cases[i][0], getpid(), cases[i][1]);
		cr_assert_gt(ids[i], 0);
		cr_assert_eq(
		    h_sql_int(
			"INSERT INTO ml_notifications (notification_id, topic, resource,"
			" ml_user_id, body, status, job_id, arrived_at) VALUES ('board-%d-%d',"
			" 'orders_v2', '/orders/%d', %lld, '{}', '%s', %lld,"
			" now() - interval '%s') RETURNING 1",
			getpid(), i, i, seller,
			strcmp(cases[i][0], "failed") == 0 ? "pending" : cases[i][0], ids[i],
			cases[i][1]),
		    1);
	}
	h_resp_t r = ident_call(&t.srv, "GET", "/api/admin/jobs?kind=ml_notifications&limit=100",
				t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *jobs = h_json_path(r.json, "data.jobs");
	bool listed[4] = {false};
	for (size_t j = 0; j < json_array_size(jobs); j++) {
		const char *id = json_string_value(json_object_get(json_array_get(jobs, j), "id"));
		for (int i = 0; i < 4; i++)
			listed[i] |= strtoll(id, NULL, 10) == ids[i];
	}
	cr_assert(!listed[0], "a group done 2 days ago is listed: %s", r.body);
	cr_assert(listed[1] && listed[2] && listed[3], "%s", r.body);
	h_resp_free(&r);
	free(h_sql_text("DELETE FROM ml_notifications WHERE notification_id LIKE 'board-%d-%%'",
			getpid()));
	free(h_sql_text("DELETE FROM jobs WHERE queue = 'board-%d'", getpid()));
}

Test(missed_feeds, notifications_mercado_livre_gave_up_on_are_recovered, .init = start_polling,
     .fini = stop, .timeout = 90)
{
	/* Every delivery fails (nothing listens there) and the hour of retries is squeezed. */
	h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/notifications/target",
			     "{\"url\":\"http://127.0.0.1:9/webhooks/ml\"}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	char order[128];
	snprintf(order, sizeof(order), "{\"seller_id\":%lld}", (long long)t.app.sellers[0]);
	r = msh_sim(&t.sim, "POST", "/_sim/orders", order);
	cr_assert(r.status == 200 || r.status == 201, "%ld %s", r.status, r.body);
	h_resp_free(&r);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM ml_notifications WHERE source ="
					 " 'missed_feeds' AND ml_user_id = %lld",
					 (long long)t.app.sellers[0]) > 0,
			       30000),
		  "nothing was recovered from missed_feeds");
	/* Stored once, with its job, like any notification. */
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_notifications n WHERE source = "
			       "'missed_feeds' AND ml_user_id = %lld AND NOT EXISTS (SELECT 1 FROM "
			       "jobs j WHERE j.id = n.job_id)",
			       (long long)t.app.sellers[0]),
		     0);
}

/* --- a notification whose fetch fails twice, then succeeds ---------------------------------- */

static char own_queue[48];
static const char *own_queue_env[] = {"JOB_REDISPATCH_SECONDS=1", own_queue, NULL};

static void start_own_queue(void)
{
	/* Its jobs run here only: this server talks to this test's marketsim. */
	snprintf(own_queue, sizeof(own_queue), "JOB_QUEUE=wh-%d", getpid());
	start_with(own_queue_env);
	/* Other tests' schedulers share the database: keep their hands off this account. */
	char path[96];
	snprintf(path, sizeof(path), "/api/ml-accounts/%s/pause", account);
	h_resp_t r = ident_call(&t.srv, "PUT", path, t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

Test(notification_fetch, a_fetch_failing_twice_then_succeeding_stores_the_order,
     .init = start_own_queue, .fini = stop, .timeout = 90)
{
	char target[160];
	snprintf(target, sizeof(target), "{\"url\":\"%s\"}", h_url(&t.srv, "/webhooks/ml"));
	h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/notifications/target", target);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	/* The next two reads of any order fail with 503; the third succeeds. */
	r = msh_sim(&t.sim, "POST", "/_sim/faults",
		    "{\"path\":\"/orders/2*\",\"method\":\"GET\",\"status\":503,\"count\":2}");
	cr_assert(r.status == 200 || r.status == 201, "%s", r.body);
	h_resp_free(&r);
	char body[96];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld}", (long long)t.app.sellers[0]);
	r = msh_sim(&t.sim, "POST", "/_sim/orders", body);
	cr_assert(r.status == 200 || r.status == 201, "%s", r.body);
	long long order = (long long)json_integer_value(json_object_get(r.json, "id"));
	h_resp_free(&r);
	cr_assert_gt(order, 0);

	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM ml_orders WHERE ml_id = '%lld' AND"
					 " account_id = '%s'",
					 order, account) == 1,
			       20000),
		  "the order never reached ml_orders");
	char path[96];
	snprintf(path, sizeof(path), "/_sim/requests?path=/orders/%lld", order);
	r = msh_sim(&t.sim, "GET", path, NULL);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "count")), 3,
		     "expected 503, 503, 200: %s", r.body);
	h_resp_free(&r);
	/* Every notification of that order (there may be more than one) ends done. Only this
	 * seller's: other suites post notifications naming the same resource path. */
	long long seller = (long long)t.app.sellers[0];
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM ml_notifications WHERE "
					 "resource = '/orders/%lld' AND ml_user_id = %lld"
					 " AND status <> 'done'",
					 order, seller) == 0,
			       5000),
		  "a notification of the order is not done");
	cr_assert_geq(h_sql_int("SELECT count(*) FROM ml_notifications WHERE resource = "
				"'/orders/%lld' AND ml_user_id = %lld AND status = 'done'",
				order, seller),
		      1);
}

/* pg_stat_user_indexes counts the reads of every session of a database: this test has one of
 * its own, so they are all this test's. */
static void start_own_database(void)
{
	h_database_private();
	start_own_queue();
}

/* The server is stopped between measures: its sessions publish their statistics as they end. */
static void stop_own_database(void)
{
	if (t.srv.pid)
		h_server_stop_clean(&t.srv);
	msh_stop(&t.sim);
}

/* Entries read from the indexes that find a seller's notifications (all but the primary key,
 * the _id and the job) by every session so far, once the server's sessions have ended: a
 * session's statistics are published before it leaves pg_stat_activity. */
static long long seller_index_reads_once_stopped(void)
{
	h_server_stop_clean(&t.srv);
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM pg_stat_activity WHERE datname ="
					 " current_database() AND backend_type = 'client backend'"
					 " AND pid <> pg_backend_pid()") == 0,
			       10000),
		  "the sessions of the test's database did not end");
	return h_sql_int("SELECT sum(idx_tup_read) FROM pg_stat_user_indexes"
			 " WHERE relname = 'ml_notifications' AND indexrelname NOT IN"
			 " ('ml_notifications_pkey', 'ml_notifications_notification_id_key',"
			 " 'ml_notifications_job_pending')");
}

Test(notification_fetch, one_fetch_covers_its_resource_without_reading_the_sellers_backlog,
     .init = start_own_database, .fini = stop_own_database, .timeout = 90)
{
	enum { BACKLOG = 40000 };
	long long seller = (long long)t.app.sellers[0];
	char body[512];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld}", seller);
	h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/orders", body);
	cr_assert(r.status == 200 || r.status == 201, "%s", r.body);
	long long order = (long long)json_integer_value(json_object_get(r.json, "id"));
	h_resp_free(&r);
	cr_assert_gt(order, 0);

	/* The seller's backlog, parked under a job that never runs: other resources, and two
	 * earlier notifications of this order, which the order's next fetch covers. */
	long long parked = h_sql_int("INSERT INTO jobs (kind, status, queue) VALUES"
				     " ('ml_notifications', 'dead', 'parked-%d') RETURNING id",
				     getpid());
	cr_assert_gt(parked, 0);
	char tag[64];
	snprintf(tag, sizeof(tag), "cover-%d-%ld", getpid(), (long)time(NULL));
	cr_assert_eq(
	    h_sql_int("WITH ins AS (INSERT INTO ml_notifications (notification_id, topic,"
		      " resource, ml_user_id, body, job_id) SELECT '%s-' || g, 'items',"
		      " '/items/MLB' || g, %lld, '{}', %lld"
		      " FROM generate_series(1, %d) g RETURNING 1) SELECT count(*) FROM ins",
		      tag, seller, parked, BACKLOG),
	    BACKLOG);
	cr_assert_eq(
	    h_sql_int("WITH ins AS (INSERT INTO ml_notifications (notification_id, topic,"
		      " resource, ml_user_id, body, job_id) SELECT '%s-o' || g, 'orders_v2',"
		      " '/orders/%lld', %lld, '{}', %lld FROM generate_series(1, 2) g"
		      " RETURNING 1) SELECT count(*) FROM ins",
		      tag, order, seller, parked),
	    2);
	long long reads = seller_index_reads_once_stopped();
	mlt_start_server(&t, &t.srv, own_queue_env);

	snprintf(body, sizeof(body),
		 "{\"_id\":\"%s-new\",\"resource\":\"/orders/%lld\",\"user_id\":%lld,"
		 "\"topic\":\"orders_v2\",\"application_id\":%s,\"attempts\":1}",
		 tag, order, seller, t.app.client_id);
	r = h_http("POST", h_url(&t.srv, "/webhooks/ml"), body, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	long long done = 0;
	H_WAIT_UNTIL((done = h_sql_int("SELECT count(*) FROM ml_notifications WHERE"
				       " notification_id IN ('%s-new', '%s-o1', '%s-o2')"
				       " AND status = 'done'",
				       tag, tag, tag)) == 3,
		     20000);
	cr_assert_eq(done, 3, "the fetch covered %lld of the order's 3 notifications", done);

	long long read = seller_index_reads_once_stopped() - reads;
	cr_assert_lt(read, BACKLOG / 4, "the cover read %lld index entries", read);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_notifications WHERE notification_id LIKE"
			       " '%s-%%' AND status = 'pending'",
			       tag),
		     BACKLOG, "the cover reached other resources");

	free(h_sql_text("DELETE FROM ml_notifications WHERE notification_id LIKE '%s-%%'", tag));
	free(h_sql_text("DELETE FROM jobs WHERE id = %lld", parked));
}
