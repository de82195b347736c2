/* POST /webhooks/ml and the notification jobs: durable acknowledgement, deduplication, lenient
 * and strict validation, foreign applications and sources, PostgreSQL and Redis outages, a
 * SIGKILL in the middle of a burst, and two processes sharing the work. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Ids unique across parallel tests and runs. */
static char prefix[64];
static long long next_user = 0;

static void ids_init(void)
{
	snprintf(prefix, sizeof(prefix), "t%d-%ld", getpid(), (long)time(NULL));
	next_user = 900000000000LL + (long long)getpid() * 100000 + (time(NULL) % 1000) * 100;
}

static h_resp_t post(const h_proc_t *s, const char *body)
{
	return h_http("POST", h_url(s, "/webhooks/ml"), body, NULL);
}

static char *note_body(const char *nid, long long user, const char *topic, const char *resource)
{
	static __thread char body[512];
	snprintf(body, sizeof(body),
		 "{\"_id\":\"%s\",\"resource\":\"%s\",\"user_id\":%lld,\"topic\":\"%s\","
		 "\"application_id\":5503910054141466,\"attempts\":1,"
		 "\"sent\":\"2026-11-20T16:19:20.129Z\",\"received\":\"2026-11-20T16:19:20.106Z\"}",
		 nid, resource, user, topic);
	return body;
}

static long long stored(const char *nid)
{
	return h_sql_int("SELECT count(*) FROM ml_notifications WHERE notification_id = '%s'", nid);
}

/* Wait until every notification whose id starts with p is no longer pending... */
static bool all_processed(const char *p, long long expect, int seconds)
{
	if (H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM ml_notifications WHERE "
				   "notification_id LIKE '%s%%' AND status = 'pending'",
				   p) == 0 &&
			     h_sql_int("SELECT count(*) FROM ml_notifications WHERE "
				       "notification_id LIKE '%s%%'",
				       p) == expect &&
			     /* ...and their jobs have recorded their end (a job's own row is
			      * updated last). */
			     h_sql_int("SELECT count(*) FROM jobs j JOIN ml_notifications n ON "
				       "j.id = n.job_id WHERE n.notification_id LIKE '%s%%' AND "
				       "j.status IN ('queued', 'running')",
				       p) == 0,
			 seconds * 1000))
		return true;
	char *state = h_sql_text(
	    "SELECT string_agg(s, ', ') FROM (SELECT n.status || '/' || coalesce(j.status, '-') || "
	    "'/' || coalesce(j.attempts, 0) || '/' || coalesce(j.last_error, '') || ': ' || "
	    "count(*) AS s FROM ml_notifications n LEFT JOIN jobs j ON "
	    "j.id = n.job_id WHERE n.notification_id LIKE '%s%%' GROUP "
	    "BY n.status, j.status, j.attempts, j.last_error) x",
	    p);
	cr_log_error("notifications %s*: %s", p, state);
	free(state);
	return false;
}

static h_proc_t srv;

static void start(void)
{
	ids_init();
	const char *env[] = {"JOB_REDISPATCH_SECONDS=1", "JOB_STALE_SECONDS=2", NULL};
	cr_assert(h_server_start(&srv, env));
}

static void stop(void)
{
	h_server_stop_clean(&srv);
}

TestSuite(webhooks, .init = start, .fini = stop, .timeout = 90);

Test(webhooks, a_200_means_the_row_is_committed_and_duplicates_are_stored_once)
{
	char nid[96];
	snprintf(nid, sizeof(nid), "%s-dup", prefix);
	for (int i = 0; i < 3; i++) {
		h_resp_t r = post(&srv, note_body(nid, next_user, "orders_v2", "/orders/1"));
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert(json_is_true(json_object_get(r.json, "success")));
		h_resp_free(&r);
		/* Checked right after the answer: the 200 came after the commit. */
		cr_assert_eq(stored(nid), 1);
	}
	cr_assert_eq(h_sql_int("SELECT count(*) FROM jobs j JOIN ml_notifications n ON "
			       "j.id = n.job_id WHERE "
			       "n.notification_id = '%s'",
			       nid),
		     1, "one job for one notification");
}

Test(webhooks, lenient_about_the_documented_variants)
{
	char body[512];
	snprintf(
	    body, sizeof(body),
	    "{\"id\":\"%s-v\",\"resource\":\"post-purchase/v1/claims/77\",\"user_id\":\"%lld\","
	    "\"topic\":\"post_purchase\",\"application_id\":\"5503910054141466\","
	    "\"recieved\":\"2026-11-20T16:19:20.106Z\",\"actions\":[\"claims\"]}",
	    prefix, next_user);
	h_resp_t r = post(&srv, body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	char *res =
	    h_sql_text("SELECT resource || '|' || ml_user_id || '|' || (received_at IS NOT "
		       "NULL) || '|' || (body::jsonb->'actions'->>0) FROM ml_notifications WHERE "
		       "notification_id = '%s-v'",
		       prefix);
	char want[128];
	snprintf(want, sizeof(want), "/post-purchase/v1/claims/77|%lld|true|claims", next_user);
	cr_assert_str_eq(res, want);
	free(res);
}

/* A group is one statement: a value PostgreSQL refuses would fail every notification of the
 * group. Present but unusable values are stored as NULL, the body keeps them, and the
 * notification committed with them is stored too. */
Test(webhooks, values_postgres_would_refuse_do_not_fail_the_group)
{
	char odd[512], plain[80];
	snprintf(odd, sizeof(odd),
		 "{\"_id\":\"%s-odd\",\"resource\":\"/orders/5\",\"user_id\":%lld,"
		 "\"topic\":\"orders_v2\",\"attempts\":99999999999,"
		 "\"sent\":\"2026-02-30T10:00:00.000Z\",\"received\":\"2026-11-20T25:00:00Z\","
		 "\"note\":\"quote \\\" and backslash \\\\ kept\"}",
		 prefix, next_user);
	snprintf(plain, sizeof(plain), "%s-plain", prefix);
	h_resp_t r = post(&srv, odd);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	r = post(&srv, note_body(plain, next_user, "orders_v2", "/orders/6"));
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	char *row = h_sql_text("SELECT coalesce(attempts::text, 'null') || '|' || (sent_at IS NULL)"
			       " || '|' || (received_at IS NULL) || '|' || (body::jsonb->>'note')"
			       " || '|' || (body::jsonb->>'sent')"
			       " FROM ml_notifications WHERE notification_id = '%s-odd'",
			       prefix);
	cr_assert_str_eq(row,
			 "null|true|true|quote \" and backslash \\ kept|2026-02-30T10:00:00.000Z");
	free(row);
	cr_assert_eq(stored(plain), 1);
}

Test(webhooks, garbage_is_refused_and_nothing_is_stored)
{
	static const char *const bad[] = {
	    "{}",
	    "{\"_id\":\"x\",\"topic\":\"orders_v2\",\"resource\":\"/orders/1\"}",
	    "{\"_id\":\"x\",\"topic\":\"orders_v2\",\"resource\":\"/orders/1\",\"user_id\":-4}",
	    "{\"_id\":\"\",\"topic\":\"orders_v2\",\"resource\":\"/orders/1\",\"user_id\":1}",
	    "{\"_id\":\"x\",\"topic\":5,\"resource\":\"/orders/1\",\"user_id\":1}",
	    "{\"_id\":\"x\",\"topic\":\"t\",\"resource\":\"/o\",\"user_id\":\"12ab\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h_resp_t r = post(&srv, bad[i]);
		cr_assert_eq(r.status, 400, "body %zu: %ld %s", i, r.status, r.body);
		cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")),
				 "INVALID_NOTIFICATION");
		cr_assert_gt(json_array_size(json_object_get(r.json, "details")), 0);
		h_resp_free(&r);
	}
	h_resp_t r = post(&srv, "[1]");
	cr_assert_eq(r.status, 400);
	h_resp_free(&r);
	r = post(&srv, "{\"_id\": ");
	cr_assert_eq(r.status, 400);
	h_resp_free(&r);
	r = post(&srv, "");
	cr_assert_eq(r.status, 400);
	h_resp_free(&r);

	size_t n = 70 * 1024;
	char *big = malloc(n + 1);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = 0;
	r = post(&srv, big);
	cr_assert_eq(r.status, 413);
	h_resp_free(&r);
	free(big);
	cr_assert_eq(stored("x"), 0);
}

Test(webhooks, unknown_user_is_processed_once_as_orphan)
{
	char nid[96];
	snprintf(nid, sizeof(nid), "%s-orphan", prefix);
	h_resp_t r = post(&srv, note_body(nid, next_user + 1, "orders_v2", "/orders/9"));
	cr_assert_eq(r.status, 200);
	h_resp_free(&r);
	cr_assert(all_processed(nid, 1, 15));
	char *st = h_sql_text(
	    "SELECT n.status || '|' || j.status || '|' || j.attempts FROM "
	    "ml_notifications n JOIN jobs j ON j.id = n.job_id WHERE n.notification_id = '%s'",
	    nid);
	cr_assert_str_eq(st, "orphan|done|1");
	free(st);
}

Test(webhooks_config, foreign_application_is_403_and_not_stored, .timeout = 60)
{
	ids_init();
	h_proc_t s;
	const char *env[] = {"ML_CLIENT_ID=5503910054141466", "ML_CLIENT_SECRET=test-secret", NULL};
	cr_assert(h_server_start(&s, env));
	char nid[96], body[512];
	snprintf(nid, sizeof(nid), "%s-foreign", prefix);
	snprintf(body, sizeof(body),
		 "{\"_id\":\"%s\",\"resource\":\"/items/MLB1\",\"user_id\":1,\"topic\":\"items\","
		 "\"application_id\":42}",
		 nid);
	h_resp_t r = post(&s, body);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "FOREIGN_APPLICATION");
	h_resp_free(&r);
	cr_assert_eq(stored(nid), 0);
	r = post(&s, note_body(nid, next_user, "items", "/items/MLB1"));
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	h_server_stop_clean(&s);
}

Test(webhooks_config, source_allowlist, .timeout = 60)
{
	ids_init();
	h_proc_t s;
	const char *env[] = {"WEBHOOK_ALLOW_IPS=10.9.9.9/32", NULL};
	cr_assert(h_server_start(&s, env));
	char nid[96];
	snprintf(nid, sizeof(nid), "%s-src", prefix);
	h_resp_t r = post(&s, note_body(nid, next_user, "items", "/items/MLB1"));
	cr_assert_eq(r.status, 403);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "FORBIDDEN_SOURCE");
	h_resp_free(&r);
	cr_assert_eq(stored(nid), 0);
	h_server_stop_clean(&s);
}

/* sellerhubd on its own PostgreSQL and Redis (which the test may stop or lock), with one extra
 * VAR=value setting or none. */
/* sellerhubd on a private instance's PostgreSQL and Redis, with one extra setting (or NULL). */
static void start_on(const h_services_t *svc, h_proc_t *s, const char *extra)
{
	static char db[300], redis[200];
	snprintf(db, sizeof(db), "DATABASE_URL=%s", svc->database_url);
	snprintf(redis, sizeof(redis), "REDIS_URL=%s", svc->redis_url);
	/* A burst test opens 1,500 connections from this one address at once. */
	const char *env[] = {db, redis, "HTTP_MAX_CONNECTIONS_PER_ADDR=100000", extra, NULL};
	cr_assert(h_server_start(s, env));
}

static void start_private(h_services_t *svc, h_proc_t *s, const char *extra)
{
	h_services_start(svc);
	start_on(svc, s, extra);
}

/* --- outages -------------------------------------------------------------------------------- */

Test(webhooks_outage, postgres_down_is_503_never_200_then_recovers, .timeout = 120)
{
	ids_init();
	h_services_t svc;
	h_proc_t s;
	start_private(&svc, &s, NULL);

	cr_assert_eq(h_services(&svc, "stop", "postgres"), 0);
	char nid[96];
	for (int i = 0; i < 5; i++) {
		snprintf(nid, sizeof(nid), "%s-down-%d", prefix, i);
		h_resp_t r = post(&s, note_body(nid, next_user, "orders_v2", "/orders/5"));
		cr_assert_eq(r.status, 503, "%s", r.body);
		cr_assert_lt(r.ms, 2000);
		h_resp_free(&r);
	}
	cr_assert_eq(h_services(&svc, "start", "postgres"), 0);
	snprintf(nid, sizeof(nid), "%s-up", prefix);
	cr_assert(H_WAIT_UNTIL(({
				       h_resp_t r = post(
					   &s, note_body(nid, next_user, "orders_v2", "/orders/5"));
				       long status = r.status;
				       h_resp_free(&r);
				       status == 200;
			       }),
			       10000),
		  "no 200 within 10 s of PostgreSQL's return");
	h_server_stop_clean(&s);
	h_services(&svc, "stop", "");
}

Test(webhooks_outage, redis_down_still_acknowledges_and_everything_is_processed_later,
     .timeout = 120)
{
	ids_init();
	h_redis_t redis = {0};
	h_redis_start(&redis);
	h_proc_t s;
	const char *env[] = {redis.url_env, "JOB_REDISPATCH_SECONDS=1", NULL};
	cr_assert(h_server_start(&s, env));
	h_proc_stop(&redis.proc, SIGKILL);

	char p[96], nid[128];
	snprintf(p, sizeof(p), "%s-nored-", prefix);
	for (int i = 0; i < 10; i++) {
		snprintf(nid, sizeof(nid), "%s%d", p, i);
		h_resp_t r = post(&s, note_body(nid, next_user + 2, "orders_v2", "/orders/6"));
		cr_assert_eq(r.status, 200, "%s", r.body);
		h_resp_free(&r);
	}
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_notifications WHERE notification_id LIKE "
			       "'%s%%' AND status = 'pending'",
			       p),
		     10);
	/* Redis comes back empty: the stream and its group are gone too. */
	h_redis_start(&redis);
	cr_assert(all_processed(p, 10, 30), "notifications stayed pending after Redis returned");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM jobs j JOIN ml_notifications n ON "
			       "j.id = n.job_id WHERE "
			       "n.notification_id LIKE '%s%%' AND (j.status <> 'done' OR "
			       "j.attempts > 1)",
			       p),
		     0, "a job ran twice or did not finish");
	h_server_stop_clean(&s);
	h_proc_stop(&redis.proc, SIGTERM);
}

/* --- a SIGKILL in the middle of a burst ------------------------------------------------------ */

typedef struct burst {
	h_proc_t *s;
	const char *prefix;
	long long user;
	int sent, acked;
	char (*acked_ids)[96];
} burst_t;

static void *send_burst(void *arg)
{
	burst_t *b = arg;
	for (int i = 0; i < 2000; i++) {
		char nid[96];
		snprintf(nid, sizeof(nid), "%s%d", b->prefix, i);
		h_resp_t r = post(b->s, note_body(nid, b->user, "orders_v2", "/orders/7"));
		b->sent++;
		if (r.status == 200) {
			snprintf(b->acked_ids[b->acked], 96, "%s", nid);
			__atomic_store_n(&b->acked, b->acked + 1, __ATOMIC_RELEASE);
		}
		long status = r.status;
		h_resp_free(&r);
		if (status == 0)
			break; /* the server is gone */
	}
	return NULL;
}

Test(webhooks_crash, sigkill_mid_burst_loses_nothing_acknowledged, .timeout = 120)
{
	ids_init();
	const char *env[] = {"JOB_REDISPATCH_SECONDS=1", "JOB_STALE_SECONDS=2", NULL};
	h_proc_t s;
	cr_assert(h_server_start(&s, env));
	char p[96];
	snprintf(p, sizeof(p), "%s-kill-", prefix);
	burst_t b = {&s, p, next_user + 3, 0, 0, calloc(2000, 96)};
	pthread_t t;
	pthread_create(&t, NULL, send_burst, &b);
	cr_assert(H_WAIT_UNTIL(__atomic_load_n(&b.acked, __ATOMIC_ACQUIRE) >= 200, 30000),
		  "200 notifications were not acknowledged");
	kill(s.pid, SIGKILL);
	pthread_join(t, NULL);
	h_proc_stop(&s, SIGKILL);
	cr_assert_gt(b.acked, 0);

	/* Every acknowledged notification is stored (one query: a psql per id is slow)... */
	size_t cap = (size_t)b.acked * 8 + 16, len = 0;
	char *nums = malloc(cap);
	for (int i = 0; i < b.acked; i++) /* an id is the prefix and its number */
		len += (size_t)snprintf(nums + len, cap - len, "%s%s", i ? "," : "",
					b.acked_ids[i] + strlen(p));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_notifications WHERE notification_id IN"
			       " (SELECT '%s' || n FROM unnest('{%s}'::int[]) n)",
			       p, nums),
		     b.acked, "an acknowledged notification was lost");
	free(nums);
	/* ...and, after a restart, every stored one is processed exactly once. */
	long long total =
	    h_sql_int("SELECT count(*) FROM ml_notifications WHERE notification_id LIKE '%s%%'", p);
	cr_assert_geq(total, b.acked);
	cr_assert(h_server_start(&s, env));
	cr_assert(all_processed(p, total, 60), "stored notifications were not all processed");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM jobs j JOIN ml_notifications n ON "
			       "j.id = n.job_id WHERE "
			       "n.notification_id LIKE '%s%%' AND j.status <> 'done'",
			       p),
		     0);
	h_server_stop_clean(&s);
	free(b.acked_ids);
}

/* --- two processes ------------------------------------------------------------------------- */

Test(webhooks_scale, two_processes_process_each_job_once, .timeout = 120)
{
	ids_init();
	h_proc_t a, b;
	cr_assert(h_server_start(&a, NULL));
	cr_assert(h_server_start(&b, NULL));
	char p[96], nid[128];
	snprintf(p, sizeof(p), "%s-two-", prefix);
	for (int i = 0; i < 300; i++) {
		snprintf(nid, sizeof(nid), "%s%d", p, i);
		h_resp_t r = post(i % 2 ? &a : &b, note_body(nid, next_user + 4, "orders_v2",
							     i % 3 ? "/orders/8" : "/orders/80"));
		cr_assert_eq(r.status, 200);
		h_resp_free(&r);
	}
	cr_assert(all_processed(p, 300, 60));
	cr_assert_eq(h_sql_int("SELECT count(*) FROM jobs j JOIN ml_notifications n ON "
			       "j.id = n.job_id WHERE "
			       "n.notification_id LIKE '%s%%' AND (j.status <> 'done' OR "
			       "j.attempts > 1)",
			       p),
		     0, "a job ran twice or did not finish");
	h_server_stop_clean(&a);
	h_server_stop_clean(&b);
}

/* JOB_CONCURRENCY=0: a process that takes notifications and runs no jobs (an intake tier
 * behind nginx); a process with jobs on the same queue processes what it stored. */
Test(webhooks_scale, an_intake_only_process_leaves_the_jobs_to_workers, .timeout = 120)
{
	ids_init();
	char queue[64];
	snprintf(queue, sizeof(queue), "JOB_QUEUE=intake-%d", getpid());
	const char *const intake_env[] = {queue, "JOB_CONCURRENCY=0", NULL};
	const char *const worker_env[] = {queue, NULL};
	h_proc_t intake, worker;
	cr_assert(h_server_start(&intake, intake_env));
	char p[96], nid[128];
	snprintf(p, sizeof(p), "%s-tier-", prefix);
	for (int i = 0; i < 40; i++) {
		snprintf(nid, sizeof(nid), "%s%d", p, i);
		h_resp_t r = post(&intake, note_body(nid, next_user + 5, "orders_v2", "/orders/9"));
		cr_assert_eq(r.status, 200);
		h_resp_free(&r);
	}
	/* Every job is on the queue's stream, and nothing here reads it: no consumer group was
	 * ever created on it, and every notification is still pending. */
	long long jobs = h_sql_int("SELECT count(DISTINCT job_id) FROM ml_notifications WHERE "
				   "notification_id LIKE '%s%%'",
				   p);
	cr_assert_gt(jobs, 0);
	char stream[96];
	snprintf(stream, sizeof(stream), "sh:jobs:intake-%d", getpid());
	cr_assert(H_WAIT_UNTIL(h_redis_int("XLEN %s", stream) == jobs, 10000),
		  "the %lld jobs did not reach %s", jobs, stream);
	cr_assert_eq(
	    h_redis_int("EVAL \"return #redis.call('XINFO', 'GROUPS', KEYS[1])\" 1 %s", stream), 0,
	    "something reads the intake's stream");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM ml_notifications WHERE notification_id LIKE "
			       "'%s%%' AND status = 'pending'",
			       p),
		     40);
	cr_assert(h_server_start(&worker, worker_env));
	cr_assert(all_processed(p, 40, 60));
	h_server_stop_clean(&worker);
	h_server_stop_clean(&intake);
}

/* Wait until no job of this kind is in one of the given states; false after 30 s. */
static bool jobs_settled(const h_services_t *svc, const char *kind, const char *states)
{
	return H_WAIT_UNTIL(h_sql_int_at(svc->database_url,
					 "SELECT count(*) FROM jobs WHERE kind = '%s' AND status "
					 "IN (%s)",
					 kind, states) == 0,
			    30000);
}

/* WAL writes since `before`, once the worker's sessions have ended and reported them. */
static long long wal_writes_since(const h_services_t *svc, h_proc_t *worker, long long before)
{
	h_server_stop_clean(worker);
	return h_sql_int_at(svc->database_url, "SELECT wal_write FROM pg_stat_wal") - before;
}

/* A notification job commits nothing that waits for the WAL flush (claim, marks, end: it can run
 * again after a crash), and a durable job still does. One job at a time, a commit that waits
 * writes the WAL out itself: pg_stat_wal.wal_write counts those writes (fsync off too). */
Test(webhooks_scale, notification_jobs_never_wait_for_the_wal_flush_durable_jobs_do, .timeout = 120)
{
	enum { N = 30 };
	ids_init();
	h_services_t svc;
	h_proc_t intake, worker;
	start_private(&svc, &intake, "JOB_CONCURRENCY=0");
	char nid[128];
	for (int i = 0; i < N; i++) { /* one at a time: a group, and a job, each */
		snprintf(nid, sizeof(nid), "%s-nowait-%d", prefix, i);
		h_resp_t r =
		    post(&intake, note_body(nid, next_user + 6, "orders_v2", "/orders/11"));
		cr_assert_eq(r.status, 200);
		h_resp_free(&r);
	}
	/* Stopped, a process's database sessions end and report their WAL statistics. */
	h_server_stop_clean(&intake);
	cr_assert_eq(h_sql_int_at(svc.database_url,
				  "SELECT count(*) FROM jobs WHERE kind = 'ml_notifications'"),
		     N);
	long long before = h_sql_int_at(svc.database_url, "SELECT wal_write FROM pg_stat_wal");
	start_on(&svc, &worker, "JOB_CONCURRENCY=1");
	cr_assert(jobs_settled(&svc, "ml_notifications", "'queued', 'running', 'failed'"),
		  "the worker did not end every notification job");
	cr_assert_eq(h_sql_int_at(svc.database_url,
				  "SELECT count(*) FROM ml_notifications WHERE status = "
				  "'orphan'"),
		     N);
	long long writes = wal_writes_since(&svc, &worker, before);
	cr_assert_lt(writes, N / 2,
		     "%lld WAL writes for %d notification jobs: the claims, the marks or the "
		     "jobs' ends waited for the flush",
		     writes, N);

	/* Sync jobs with no run in their payload: claimed, then failed for good (dead). */
	h_sh("psql -X -q '%s' -c \"INSERT INTO jobs (kind, payload, dispatched_at, queue) SELECT "
	     "'ml_sync', '{}', now() - interval '1 hour', '%s' FROM generate_series(1, %d)\"",
	     svc.database_url, h_job_queue(), N);
	before = h_sql_int_at(svc.database_url, "SELECT wal_write FROM pg_stat_wal");
	start_on(&svc, &worker, "JOB_CONCURRENCY=1");
	cr_assert(jobs_settled(&svc, "ml_sync", "'queued', 'running', 'failed'"),
		  "the worker did not end every sync job");
	writes = wal_writes_since(&svc, &worker, before);
	cr_assert_geq(writes, 3 * N / 2,
		      "%lld WAL writes for %d sync jobs: their claims and ends (2 x %d) should "
		      "each wait for the flush",
		      writes, N, N);
	h_services(&svc, "stop", "");
}

static double metric_value(const char *metrics, const char *series)
{
	const char *at = strstr(metrics, series);
	return at ? atof(at + strlen(series)) : -1;
}

/* Requests the server is handling, this GET /metrics included. */
static double in_flight(const h_proc_t *s)
{
	h_resp_t r = h_http("GET", h_url(s, "/metrics"), NULL, NULL);
	double n = metric_value(r.body, "\nsellerhub_http_requests_in_flight ");
	h_resp_free(&r);
	return n;
}

/* Lock ml_notifications for the next few seconds: no notification commits until then. */
static void lock_notifications(const h_services_t *svc, int seconds)
{
	/* SHARE mode lets nothing insert until the sleep ends. */
	h_sh("psql -X -q '%s' -c 'BEGIN; LOCK TABLE ml_notifications IN SHARE MODE; SELECT "
	     "pg_sleep(%d); COMMIT' >/dev/null 2>&1 &",
	     svc->database_url, seconds);
	cr_assert(H_WAIT_UNTIL(h_sql_int_at(svc->database_url,
					    "SELECT count(*) FROM pg_locks WHERE relation = "
					    "'ml_notifications'::regclass AND mode = 'ShareLock' "
					    "AND granted") > 0,
			       5000),
		  "the table lock was not taken");
}

typedef struct posting {
	const h_proc_t *s;
	char **bodies;
	int n;
	long *status;
} posting_t;

static void *post_all(void *arg)
{
	posting_t *p = arg;
	h_http_many_bodies("POST", h_url(p->s, "/webhooks/ml"), p->bodies, p->n, p->status);
	return NULL;
}

/* Post n bodies at once while ml_notifications is locked, so that they gather behind the first
 * group's INSERT; the lock (a psql fed through a fifo) ends once the server has read them all,
 * however long sending them took. Every one must be acknowledged. */
static void post_behind_a_lock(const h_services_t *svc, const h_proc_t *s, char **bodies, int n)
{
	static int seq;
	char fifo[600];
	snprintf(fifo, sizeof(fifo), "%s/lock-%d-%d.sql", h_env("SH_TEST_DIR"), (int)getpid(),
		 ++seq);
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo %s", fifo);
	cr_assert_eq(h_sh("psql -X -q '%s' <'%s' >/dev/null 2>&1 &", svc->database_url, fifo), 0);
	FILE *lock = fopen(fifo, "w"); /* once psql has opened it */
	cr_assert_not_null(lock);
	fputs("BEGIN;\nLOCK TABLE ml_notifications IN SHARE MODE;\n", lock);
	fflush(lock);
	cr_assert(H_WAIT_UNTIL(h_sql_int_at(svc->database_url,
					    "SELECT count(*) FROM pg_locks WHERE relation = "
					    "'ml_notifications'::regclass AND mode = 'ShareLock' "
					    "AND granted") > 0,
			       5000),
		  "the table lock was not taken");
	long *status = calloc((size_t)n, sizeof(long));
	posting_t p = {s, bodies, n, status};
	pthread_t t;
	pthread_create(&t, NULL, post_all, &p);
	bool all_read = H_WAIT_UNTIL(in_flight(s) == n + 1, 60000);
	fputs("COMMIT;\n", lock);
	fclose(lock);
	unlink(fifo);
	pthread_join(t, NULL);
	cr_assert(all_read, "the server did not read the %d webhooks", n);
	int ok = 0;
	for (int i = 0; i < n; i++) {
		ok += status[i] == 200;
		free(bodies[i]);
	}
	free(status);
	cr_assert_eq(ok, n);
}

/* Group sizes so far: how many groups had at most each bound, and the notifications in all. */
typedef struct group_sizes {
	double le100, le500, le1000, all, sum;
} group_sizes_t;

static group_sizes_t group_sizes(const h_proc_t *s)
{
	h_resp_t r = h_http("GET", h_url(s, "/metrics"), NULL, NULL);
	group_sizes_t g = {
	    metric_value(r.body, "sellerhub_webhooks_group_size_bucket{le=\"100\"} "),
	    metric_value(r.body, "sellerhub_webhooks_group_size_bucket{le=\"500\"} "),
	    metric_value(r.body, "sellerhub_webhooks_group_size_bucket{le=\"1000\"} "),
	    metric_value(r.body, "sellerhub_webhooks_group_size_bucket{le=\"+Inf\"} "),
	    metric_value(r.body, "sellerhub_webhooks_group_size_sum "),
	};
	h_resp_free(&r);
	return g;
}

/* A group holds at most 1,000 notifications and 4 MiB of bodies. With the table locked, the
 * first group's INSERT waits and the rest gather behind it: 1,500 small notifications commit in
 * groups of at most 1,000, then 150 of 60 KB in groups of at most 4 MiB (69 of them). */
Test(webhooks_scale, a_burst_behind_a_slow_commit_goes_in_bounded_groups, .timeout = 120)
{
	enum { N = 1500, BIG = 150 };
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 2 * N + 200)
		cr_skip_test("needs %d file descriptors, the limit is %llu", 2 * N + 200,
			     (unsigned long long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 2 * N + 200 : rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ids_init();
	h_services_t svc;
	h_proc_t s;
	start_private(&svc, &s, "JOB_CONCURRENCY=0");

	char **bodies = calloc(N, sizeof(char *));
	for (int i = 0; i < N; i++) {
		char nid[96];
		snprintf(nid, sizeof(nid), "%s-group-%d", prefix, i);
		bodies[i] = strdup(note_body(nid, next_user + 6, "orders_v2", "/orders/10"));
	}
	post_behind_a_lock(&svc, &s, bodies, N);
	group_sizes_t g = group_sizes(&s);
	cr_assert_eq(g.sum, N, "notifications in groups: %.0f", g.sum);
	cr_assert_eq(g.all, g.le1000, "a group held more than 1,000 notifications");
	cr_assert_geq(g.le1000 - g.le500, 1, "no group gathered more than 500 behind the lock");

	static char pad[60001];
	memset(pad, 'x', sizeof(pad) - 1);
	for (int i = 0; i < BIG; i++) {
		if (asprintf(&bodies[i],
			     "{\"_id\":\"%s-big-%d\",\"resource\":\"/orders/11\",\"user_id\":%lld,"
			     "\"topic\":\"orders_v2\",\"pad\":\"%s\"}",
			     prefix, i, next_user + 6, pad) < 0)
			cr_assert_fail("asprintf");
	}
	post_behind_a_lock(&svc, &s, bodies, BIG);
	free(bodies);
	group_sizes_t h = group_sizes(&s);
	cr_assert_eq(h.sum - g.sum, BIG);
	cr_assert_eq(h.all - g.all, h.le100 - g.le100, "a group of large bodies held over 100");
	cr_assert_geq(h.all - g.all, 3, "%.0f groups for 9 MB of bodies", h.all - g.all);
	cr_assert_eq(h_sql_int_at(svc.database_url, "SELECT count(*) FROM ml_notifications"),
		     N + BIG, "not every acknowledged notification is stored");
	h_server_stop_clean(&s);
	h_services(&svc, "stop", "");
}

static double jobs_running(const h_proc_t *s)
{
	h_resp_t r = h_http("GET", h_url(s, "/metrics"), NULL, NULL);
	double n = metric_value(r.body, "\nsellerhub_jobs_running ");
	h_resp_free(&r);
	return n;
}

/* Statement triggers that make a statement on ml_notifications take SECONDS (slow(SECONDS)). */
static void slow_statements(const h_services_t *svc, const char *name, const char *event,
			    const char *seconds)
{
	if (h_sql_int_at(svc->database_url,
			 "SELECT count(*) FROM pg_proc WHERE proname = 'slow'") == 0)
		cr_assert_eq(h_sh("psql -X -q '%s' -v ON_ERROR_STOP=1 -c \"CREATE FUNCTION slow() "
				  "RETURNS trigger LANGUAGE plpgsql AS 'BEGIN PERFORM "
				  "pg_sleep(TG_ARGV[0]::float8); RETURN NULL; END'\" >/dev/null",
				  svc->database_url),
			     0);
	cr_assert_eq(h_sh("psql -X -q '%s' -v ON_ERROR_STOP=1 -c \"CREATE TRIGGER %s BEFORE %s ON "
			  "ml_notifications FOR EACH STATEMENT EXECUTE FUNCTION slow('%s')\" "
			  ">/dev/null",
			  svc->database_url, name, event, seconds),
		     0);
}

static double jobs_claimed(const h_proc_t *s)
{
	h_resp_t r = h_http("GET", h_url(s, "/metrics"), NULL, NULL);
	double n = metric_value(r.body, "\nsellerhub_jobs_total{event=\"claimed\"} ");
	h_resp_free(&r);
	return n;
}

/* A flooded intake: while more notifications wait for their commit than a seller's pace brings
 * (100 posted at once, behind commits the test makes slow), at most one job starts every 50 ms
 * (jobs.c, YIELD_MS), where JOB_CONCURRENCY=16 slots would take 32 a second from the backlog:
 * the database is left to the acknowledgements' commits. The backlog's jobs are slowed too
 * (0.5 s each), so that it lasts. Once the flood has passed, the backlog is processed and every
 * notification acknowledged is stored. */
Test(webhooks_scale, jobs_yield_to_a_flooded_intake, .timeout = 120)
{
	enum { BACKLOG = 200, FLOOD = 100 };
	ids_init();
	h_services_t svc;
	h_proc_t s;
	start_private(&svc, &s, "JOB_CONCURRENCY=16");
	slow_statements(&svc, "slow_marks", "UPDATE", "0.5");
	char p[96], nid[128];
	snprintf(p, sizeof(p), "%s-yield-", prefix);
	for (int i = 0; i < BACKLOG; i++) { /* a group, and a job, each */
		snprintf(nid, sizeof(nid), "%s%d", p, i);
		h_resp_t r = post(&s, note_body(nid, next_user + 7, "orders_v2", "/orders/12"));
		cr_assert_eq(r.status, 200);
		h_resp_free(&r);
	}
	cr_assert(H_WAIT_UNTIL(jobs_running(&s) >= 8, 20000), "the backlog's jobs did not run");

	slow_statements(&svc, "slow_groups", "INSERT", "1.5");
	char **bodies = calloc(FLOOD, sizeof(char *));
	for (int i = 0; i < FLOOD; i++) {
		snprintf(nid, sizeof(nid), "%sflood-%d", p, i);
		bodies[i] = strdup(note_body(nid, next_user + 7, "orders_v2", "/orders/13"));
	}
	long *status = calloc(FLOOD, sizeof(long));
	posting_t post_flood = {&s, bodies, FLOOD, status};
	pthread_t t;
	pthread_create(&t, NULL, post_all, &post_flood);
	cr_assert(H_WAIT_UNTIL(in_flight(&s) > FLOOD / 2, 20000), "the flood did not arrive");
	double t0 = h_now(), claimed0 = jobs_claimed(&s);
	long long left0 = h_sql_int_at(svc.database_url, "SELECT count(*) FROM jobs WHERE status "
							 "= 'queued'");
	while (in_flight(&s) > FLOOD / 2)
		usleep(20000);
	double took = h_now() - t0, claimed = jobs_claimed(&s) - claimed0;
	pthread_join(t, NULL);
	cr_assert_geq(took, 1, "the flood passed in %.2f s", took);
	cr_assert_geq(left0, 40, "only %lld jobs were left queued when the flood came", left0);
	cr_assert_leq(claimed, took / 0.05 + 2, "%.0f jobs started in %.2f s of flood", claimed,
		      took);
	h_resp_t m = h_http("GET", h_url(&s, "/metrics"), NULL, NULL);
	cr_assert_geq(metric_value(m.body, "\nsellerhub_jobs_yields_total "), 1, "%s", "no yield");
	h_resp_free(&m);
	int ok = 0;
	for (int i = 0; i < FLOOD; i++) {
		ok += status[i] == 200;
		free(bodies[i]);
	}
	free(bodies);
	free(status);
	cr_assert_eq(ok, FLOOD);
	/* The pressure gone, the backlog is processed; nothing acknowledged was lost. */
	cr_assert(H_WAIT_UNTIL(h_sql_int_at(svc.database_url,
					    "SELECT count(*) FROM ml_notifications WHERE status "
					    "= 'pending'") == 0,
			       60000),
		  "the backlog was not processed");
	cr_assert_eq(h_sql_int_at(svc.database_url, "SELECT count(*) FROM ml_notifications"),
		     BACKLOG + FLOOD);
	h_server_stop_clean(&s);
	h_services(&svc, "stop", "");
}

/* Senders in a closed loop: each posts its next notification once the last is answered. */
typedef struct sender {
	const h_proc_t *s;
	int id, rounds, ok;
} sender_t;

static void *send_rounds(void *arg)
{
	sender_t *x = arg;
	for (int r = 0; r < x->rounds; r++) {
		char nid[128];
		snprintf(nid, sizeof(nid), "%s-loop-%d-%d", prefix, x->id, r);
		h_resp_t resp =
		    post(x->s, note_body(nid, next_user + 8, "orders_v2", "/orders/14"));
		x->ok += resp.status == 200;
		h_resp_free(&resp);
	}
	return NULL;
}

/* A flood of senders that post again as soon as they are answered: without gathering, one group
 * commits while the answered senders post into the next, so groups alternate (here 1 and 39:
 * the first sender's group commits alone) and every notification waits two commits. Gathered,
 * the group after a commit waits (a bounded time) for that commit's senders: one group of
 * everyone per commit. Commits are slowed (0.2 s) so that the senders always come back in time. */
Test(webhooks_scale, a_flood_commits_everyone_in_one_group, .timeout = 120)
{
	enum { SENDERS = 40, ROUNDS = 10 };
	ids_init();
	h_services_t svc;
	h_proc_t s;
	start_private(&svc, &s, "JOB_CONCURRENCY=0");
	slow_statements(&svc, "slow_groups", "INSERT", "0.2");
	group_sizes_t before = group_sizes(&s);
	sender_t senders[SENDERS];
	pthread_t t[SENDERS];
	for (int i = 0; i < SENDERS; i++) {
		senders[i] = (sender_t){&s, i, ROUNDS, 0};
		pthread_create(&t[i], NULL, send_rounds, &senders[i]);
	}
	int ok = 0;
	for (int i = 0; i < SENDERS; i++) {
		pthread_join(t[i], NULL);
		ok += senders[i].ok;
	}
	cr_assert_eq(ok, SENDERS * ROUNDS);
	group_sizes_t after = group_sizes(&s);
	double groups = after.all - before.all;
	cr_assert_eq(after.sum - before.sum, SENDERS * ROUNDS);
	/* Alternating, it takes 2 x ROUNDS groups; gathered, ROUNDS and the first sender's. */
	cr_assert_leq(groups, ROUNDS + ROUNDS / 2, "%d notifications took %.0f groups",
		      SENDERS * ROUNDS, groups);
	cr_assert_eq(h_sql_int_at(svc.database_url, "SELECT count(*) FROM ml_notifications"),
		     SENDERS * ROUNDS, "not every acknowledged notification is stored");
	h_server_stop_clean(&s);
	h_services(&svc, "stop", "");
}

/* Read into buf (NUL-terminated) until marker has arrived, or the end, a timeout or a full buf. */
static void read_until(int fd, char *buf, size_t size, const char *marker)
{
	size_t len = 0;
	ssize_t r;
	buf[0] = '\0';
	while (len < size - 1 && (r = read(fd, buf + len, size - 1 - len)) > 0) {
		len += (size_t)r;
		buf[len] = '\0';
		if (marker && strstr(buf, marker))
			break;
	}
}

static void write_webhook(int fd, const char *nid, long long user)
{
	const char *body = note_body(nid, user, "orders_v2", "/orders/12");
	char req[1024];
	int n =
	    snprintf(req, sizeof(req),
		     "POST /webhooks/ml HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n%s",
		     strlen(body), body);
	cr_assert_eq(write(fd, req, (size_t)n), n);
}

/* While a webhook waits for its commit its connection stays readable (http.c: hold), so what
 * a client does meanwhile reaches the server at once: a client that hangs up leaves a
 * notification that is still stored, one that half-closes still gets its answer, and one that
 * keeps sending is read only up to a bound. */
Test(webhooks_scale, a_connection_waiting_for_its_commit_is_read_with_a_bound, .timeout = 120)
{
	ids_init();
	h_services_t svc;
	h_proc_t s;
	start_private(&svc, &s, "JOB_CONCURRENCY=0");
	char kept[96], left[96], half[96];
	snprintf(kept, sizeof(kept), "%s-kept", prefix);
	snprintf(left, sizeof(left), "%s-left", prefix);
	snprintf(half, sizeof(half), "%s-half", prefix);
	lock_notifications(&svc, 3);

	int fd = h_connect(s.port);
	write_webhook(fd, kept, next_user + 7);
	int gone = h_connect(s.port);
	write_webhook(gone, left, next_user + 7);
	int halfway = h_connect(s.port);
	write_webhook(halfway, half, next_user + 7);
	/* The three requests read and waiting for their commit (and this one to /metrics). */
	cr_assert(H_WAIT_UNTIL(in_flight(&s) == 4, 5000), "the three webhooks were not all read");
	close(gone);
	shutdown(halfway, SHUT_WR);

	/* Pipelined requests, as fast as the server takes them, until it stops taking them. */
	static const char health[] = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
	static char chunk[64 * 1024];
	size_t per = sizeof(chunk) / (sizeof(health) - 1), clen = per * (sizeof(health) - 1);
	for (size_t i = 0; i < per; i++)
		memcpy(chunk + i * (sizeof(health) - 1), health, sizeof(health) - 1);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	size_t sent = 0, limit = 64u << 20;
	while (sent < limit) {
		ssize_t w = write(fd, chunk + sent % clen, clen - sent % clen);
		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		cr_assert(w < 0 && errno == EAGAIN, "write: %s", strerror(errno));
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, 500) == 0)
			break; /* half a second without taking a byte: the server stopped reading */
	}
	cr_assert_lt(sent, 32u << 20, "the server read %zu bytes for a waiting request", sent);

	/* Once the lock ends the waiting webhook is answered first, then the pipelined requests. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	char got[4096];
	read_until(fd, got, sizeof(got), "{\"status\":\"ok\"}");
	close(fd);
	cr_assert(strncmp(got, "HTTP/1.1 200", 12) == 0 && strstr(got, "{\"success\":true}") &&
		      strstr(got, "{\"success\":true}") < strstr(got, "{\"status\":\"ok\"}"),
		  "the waiting webhook was not answered first:\n%.600s", got);
	read_until(halfway, got, sizeof(got), NULL);
	close(halfway);
	cr_assert(strncmp(got, "HTTP/1.1 200", 12) == 0 && strstr(got, "{\"success\":true}"),
		  "a client that half-closed after its request got no answer:\n%.600s", got);
	cr_assert_eq(h_sql_int_at(svc.database_url,
				  "SELECT count(*) FROM ml_notifications WHERE notification_id "
				  "IN ('%s', '%s', '%s')",
				  kept, left, half),
		     3, "a notification whose client hung up was not stored");
	h_resp_t h = h_http("GET", h_url(&s, "/health"), NULL, NULL);
	cr_assert_eq(h.status, 200);
	h_resp_free(&h);
	h_server_stop_clean(&s);
	h_services(&svc, "stop", "");
}

/* The idle timeout (HTTP_IDLE_TIMEOUT) is for a silent client, not for a request waiting for its
 * answer: a webhook held behind a 3 s lock is answered on a server whose idle timeout is 1 s,
 * and once answered its connection is closed after 1 idle second again. */
Test(webhooks_scale, the_idle_timeout_spares_a_waiting_request_then_applies_again, .timeout = 60)
{
	ids_init();
	h_services_t svc;
	h_proc_t s;
	start_private(&svc, &s, "HTTP_IDLE_TIMEOUT=1");
	char nid[96];
	snprintf(nid, sizeof(nid), "%s-idle", prefix);
	lock_notifications(&svc, 3);
	int fd = h_connect(s.port);
	double t0 = h_now();
	write_webhook(fd, nid, next_user + 8);
	char got[2048];
	read_until(fd, got, sizeof(got), "{\"success\":true}");
	double waited = h_now() - t0;
	cr_assert(strncmp(got, "HTTP/1.1 200", 12) == 0 && strstr(got, "{\"success\":true}"),
		  "the webhook was not answered after %.1f s:\n%.600s", waited, got);
	cr_assert_geq(waited, 1.5, "answered in %.1f s: the lock did not hold it", waited);

	double t1 = h_now();
	struct pollfd p = {.fd = fd, .events = POLLIN};
	cr_assert_eq(poll(&p, 1, 5000), 1, "the idle connection was still open after 5 s");
	cr_assert_eq(read(fd, got, sizeof(got)), 0, "data instead of the connection's end");
	cr_assert_lt(h_now() - t1, 4, "closed after %.1f idle seconds", h_now() - t1);
	close(fd);
	h_server_stop_clean(&s);
	h_services(&svc, "stop", "");
}
