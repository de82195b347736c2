/* The HTTP layer and the PostgreSQL pool as a library: a forked child serves test routes on the
 * real http_server, pg pool and workers; the test drives it over real sockets. Covers body
 * limits and parsing, malformed input, pool queueing, transactions, pipelines, a PostgreSQL
 * restart, worker threads and the SIGTERM drain. */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "harness.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* --- the child: a server with test routes -------------------------------------------------- */

static app_t app;
static bool draining;

static void echo(req_t *r)
{
	http_ok(r, 200, r->body ? json_incref(r->body) : NULL, NULL);
}

typedef struct later {
	req_t *r;
	struct event *ev;
} later_t;

static void slow_done(evutil_socket_t fd, short what, void *arg)
{
	later_t *l = arg;
	event_free(l->ev);
	http_ok(l->r, 200, json_pack("{s:b}", "slow", 1), NULL);
}

static void slow(req_t *r)
{
	const char *ms = http_query(r, "ms");
	long n = ms ? atol(ms) : 1000;
	later_t *l = arena_alloc(r->arena, sizeof(*l));
	l->r = r;
	l->ev = evtimer_new(app.base, slow_done, l);
	struct timeval tv = {n / 1000, (n % 1000) * 1000};
	evtimer_add(l->ev, &tv);
}

static void pg_answer(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		http_error(r, 503, "DB_ERROR", err, NULL);
		return;
	}
	http_ok(r, 200, json_pack("{s:s?}", "value", pg_value(res, 0, 0)), NULL);
}

static void pg_sleep_route(req_t *r)
{
	const char *ms = http_query(r, "ms");
	char secs[32];
	snprintf(secs, sizeof(secs), "%f", (ms ? atof(ms) : 0) / 1000.0);
	const char *params[] = {secs, r->id};
	pg_query_prepared(app.pg, "SELECT $2::text FROM pg_sleep($1::float8)", 2, params, pg_answer,
			  r);
}

static void pg_urgent_route(req_t *r)
{
	const char *params[] = {r->id};
	pg_query_urgent(app.pg, "SELECT $1::text", 1, params, pg_answer, r);
}

typedef struct txstate {
	req_t *r;
	pg_tx_t *tx;
	char first[32];
} txstate_t;

static void tx_committed(const PGresult *res, const char *err, void *arg)
{
	txstate_t *t = arg;
	if (err)
		http_error(t->r, 503, "DB_ERROR", err, NULL);
	else
		http_ok(t->r, 200, json_pack("{s:s}", "first", t->first), NULL);
}

static void tx_second(const PGresult *res, const char *err, void *arg)
{
	txstate_t *t = arg;
	if (err || strcmp(pg_value(res, 0, 0), t->first) != 0) {
		pg_tx_rollback(t->tx, NULL, NULL);
		http_error(t->r, 500, "TX_SPLIT", "two transactions", NULL);
		return;
	}
	pg_tx_commit(t->tx, tx_committed, t);
}

static void tx_first(const PGresult *res, const char *err, void *arg)
{
	txstate_t *t = arg;
	snprintf(t->first, sizeof(t->first), "%s", err ? "" : pg_value(res, 0, 0));
	pg_tx_query(t->tx, "SELECT txid_current()::text", 0, NULL, tx_second, t);
}

static void tx_begun(pg_tx_t *tx, const char *err, void *arg)
{
	txstate_t *t = arg;
	if (err) {
		http_error(t->r, 503, "DB_ERROR", err, NULL);
		return;
	}
	t->tx = tx;
	pg_tx_query(tx, "SELECT txid_current()::text", 0, NULL, tx_first, t);
}

static void tx_route(req_t *r)
{
	txstate_t *t = arena_calloc(r->arena, 1, sizeof(*t));
	t->r = r;
	pg_tx_begin(app.pg, tx_begun, t);
}

static void batch_done(PGresult *const *results, int n, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		http_error(r, 409, "BATCH_FAILED", err, NULL);
		return;
	}
	json_t *vals = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(vals, json_string(pg_value(results[i], 0, 0)));
	http_ok(r, 200, vals, NULL);
}

static void batch_route(req_t *r)
{
	const char *key = http_query(r, "key");
	bool fail = http_query(r, "fail") != NULL;
	const char *p1[] = {key};
	pg_stmt_t stmts[] = {
	    {"INSERT INTO layer_test_batch (k) VALUES ($1) RETURNING k", 1, p1},
	    {fail ? "SELECT (1/0)::text" : "SELECT 'two'", 0, NULL},
	    {"SELECT count(*)::text FROM layer_test_batch WHERE k = $1", 1, p1},
	};
	pg_batch(app.pg, stmts, 3, batch_done, r);
}

typedef struct cpu {
	req_t *r;
	unsigned long long result;
	pthread_t thread;
} cpu_t;

static void cpu_work(void *arg)
{
	cpu_t *c = arg;
	unsigned long long x = 1;
	for (int i = 0; i < 1000000; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	c->result = x;
	c->thread = pthread_self();
}

static void cpu_done(void *arg)
{
	cpu_t *c = arg;
	http_ok(c->r, 200,
		json_pack("{s:I, s:b}", "result", (json_int_t)(c->result & 0xffffff), "off_loop",
			  !pthread_equal(c->thread, pthread_self())),
		NULL);
}

static void cpu_route(req_t *r)
{
	cpu_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	workers_submit(app.workers, cpu_work, cpu_done, c);
}

/* What a test waits for: requests in flight (this one included) and busy pool connections. */
static void state_route(req_t *r)
{
	pg_stats_t st;
	pg_pool_stats(app.pg, &st);
	http_ok(r, 200,
		json_pack("{s:I, s:i}", "inFlight", (json_int_t)http_in_flight(app.http), "pgBusy",
			  st.busy),
		NULL);
}

static void drained(void *arg)
{
	event_base_loopexit(app.base, NULL);
}

static void on_term(evutil_socket_t fd, short what, void *arg)
{
	if (!draining) {
		draining = true;
		http_server_drain(app.http, 10, drained, NULL);
	}
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

static void child_main(int port, int pool)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", port);
	setenv("PORT", buf, 1);
	snprintf(buf, sizeof(buf), "%d", pool);
	setenv("PG_POOL_SIZE", buf, 1);
	char err[256];
	if (!config_load(&app.cfg, env_get, err, sizeof(err)))
		_exit(3);
	log_set_level(LOG_WARN);
	evthread_use_pthreads();
	app.base = event_base_new();
	app.pg = pg_pool_new(app.base, app.cfg.database_url, app.cfg.pg_pool_size);
	app.redis = redis_new(app.base, app.cfg.redis_url, "main", 0);
	app.workers = workers_new(app.base, 2, 0);
	app.http = http_server_new(app.base, &app.cfg, &app);
	http_route(app.http, "POST", "/echo", echo, ROUTE_PUBLIC, "echo");
	http_route(app.http, "GET", "/slow", slow, ROUTE_PUBLIC, "slow");
	http_route(app.http, "GET", "/pg/sleep", pg_sleep_route, ROUTE_PUBLIC, "pg");
	http_route(app.http, "GET", "/pg/urgent", pg_urgent_route, ROUTE_PUBLIC, "urgent");
	http_route(app.http, "GET", "/pg/tx", tx_route, ROUTE_PUBLIC, "tx");
	http_route(app.http, "GET", "/pg/batch", batch_route, ROUTE_PUBLIC, "batch");
	http_route(app.http, "GET", "/cpu", cpu_route, ROUTE_PUBLIC, "cpu");
	http_route(app.http, "GET", "/state", state_route, ROUTE_PUBLIC, "state");
	if (!http_server_listen(app.http, "127.0.0.1", port))
		_exit(4);
	struct event *term = evsignal_new(app.base, SIGTERM, on_term, NULL);
	event_add(term, NULL);
	event_base_dispatch(app.base);
	http_server_free(app.http);
	workers_free(app.workers);
	pg_pool_free(app.pg);
	redis_free(app.redis);
	event_free(term);
	event_base_free(app.base);
	libevent_global_shutdown();
	metrics_reset();
	config_free(&app.cfg);
	log_flush();
	exit(0);
}

/* --- the parent ------------------------------------------------------------------------------ */

static h_proc_t srv;

static void start_child(int pool)
{
	srv.port = h_free_port();
	srv.pid = fork();
	cr_assert_neq(srv.pid, -1);
	if (srv.pid == 0)
		child_main(srv.port, pool);
	h_track_pid(srv.pid);
	cr_assert(H_WAIT_UNTIL(h_port_open(srv.port), 5000), "test server did not start");
}

/* A number from the child's GET /state (-1 when it did not answer). */
static long long child_state(const char *key)
{
	h_resp_t r = h_http("GET", h_url(&srv, "/state"), NULL, NULL);
	long long v =
	    r.status == 200
		? json_integer_value(json_object_get(json_object_get(r.json, "data"), key))
		: -1;
	h_resp_free(&r);
	return v;
}

static void start_default(void)
{
	start_child(4);
}

static void stop_child(void)
{
	cr_expect_eq(h_proc_stop(&srv, SIGTERM), 0, "test server did not exit cleanly");
}

static const char *code_of(const h_resp_t *r)
{
	return json_string_value(json_object_get(r->json, "code"));
}

TestSuite(layer, .init = start_default, .fini = stop_child, .timeout = 60);

Test(layer, json_body_is_parsed)
{
	h_resp_t r = h_http("POST", h_url(&srv, "/echo"), "{\"a\": [1, 2], \"b\": \"ção\"}", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.a.1")), 2);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.b")), "ção");
	h_resp_free(&r);
}

Test(layer, empty_body_is_null)
{
	h_resp_t r = h_http("POST", h_url(&srv, "/echo"), "", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_null(json_object_get(r.json, "data")));
	h_resp_free(&r);
}

Test(layer, not_json_content_type_is_415)
{
	const char *h[] = {"Content-Type: text/plain", NULL};
	h_resp_t r = h_http("POST", h_url(&srv, "/echo"), "{}", h);
	cr_assert_eq(r.status, 415);
	cr_assert_str_eq(code_of(&r), "UNSUPPORTED_MEDIA_TYPE");
	h_resp_free(&r);
	const char *ok[] = {"Content-Type: application/json; charset=utf-8", NULL};
	r = h_http("POST", h_url(&srv, "/echo"), "{}", ok);
	cr_assert_eq(r.status, 200);
	h_resp_free(&r);
}

Test(layer, malformed_json_is_400_with_position)
{
	h_resp_t r = h_http("POST", h_url(&srv, "/echo"), "{\"a\": 1,,}", NULL);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(code_of(&r), "INVALID_JSON");
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "details.0.field")), "body");
	cr_assert(strstr(json_string_value(h_json_path(r.json, "details.0.problem")), "column"));
	h_resp_free(&r);
}

Test(layer, non_object_and_duplicate_keys_are_refused)
{
	h_resp_t r = h_http("POST", h_url(&srv, "/echo"), "[1,2,3]", NULL);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(code_of(&r), "VALIDATION_FAILED");
	h_resp_free(&r);
	r = h_http("POST", h_url(&srv, "/echo"), "{\"a\":1,\"a\":2}", NULL);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(code_of(&r), "INVALID_JSON");
	h_resp_free(&r);
}

Test(layer, body_over_64k_is_413_envelope_and_at_limit_is_accepted)
{
	size_t n = 64 * 1024;
	char *big = malloc(n + 2);
	memset(big, ' ', n + 1);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0'; /* exactly 64 KiB */
	h_resp_t r = h_http("POST", h_url(&srv, "/echo"), big, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	big[n] = ' ';
	big[n + 1] = '\0'; /* one byte more */
	r = h_http("POST", h_url(&srv, "/echo"), big, NULL);
	cr_assert_eq(r.status, 413);
	cr_assert_str_eq(code_of(&r), "PAYLOAD_TOO_LARGE");
	h_resp_free(&r);
	free(big);
}

Test(layer, garbage_and_truncated_bodies_never_crash)
{
	static const char *const bodies[] = {
	    "{",    "{\"a\":",	       "{\"a\":\"unterminated", "\xff\xfe\x00", "nul\0byte",
	    "}}}}", "{\"a\":tru}",     "{\"a\":1e999999}",	"\"str\"",	"123",
	    "null", "{\"\\ud800\":1}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		h_resp_t r = h_http("POST", h_url(&srv, "/echo"), bodies[i], NULL);
		cr_assert(r.status == 400 || r.status == 200, "body %zu: %ld", i, r.status);
		cr_assert(json_is_boolean(json_object_get(r.json, "success")), "body %zu", i);
		h_resp_free(&r);
	}
	/* Random bytes, seeded for reproducibility. */
	unsigned seed = 12345;
	char body[256];
	for (int i = 0; i < 200; i++) {
		size_t len = 1 + (size_t)(rand_r(&seed) % 200);
		for (size_t j = 0; j < len; j++)
			body[j] = (char)(1 + rand_r(&seed) % 255);
		body[len] = 0;
		h_resp_t r = h_http("POST", h_url(&srv, "/echo"), body, NULL);
		cr_assert(r.status == 400 || r.status == 200, "iteration %d: %ld", i, r.status);
		h_resp_free(&r);
	}
	/* A request cut off mid-body: the client promises more than it sends and hangs up. */
	int fd = h_connect(srv.port);
	const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			   "Content-Length: 100\r\n\r\n{\"a\":";
	cr_assert_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	close(fd);
	h_resp_t r = h_http("POST", h_url(&srv, "/echo"), "{}", NULL);
	cr_assert_eq(r.status, 200);
	h_resp_free(&r);
}

Test(layer, transaction_pins_one_connection)
{
	h_resp_t r = h_http("GET", h_url(&srv, "/pg/tx"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

Test(layer, pipeline_batch_is_all_or_nothing)
{
	cr_assert_eq(h_sh("psql -q '%s' -c 'CREATE TABLE IF NOT EXISTS layer_test_batch (k text "
			  "PRIMARY KEY)' >/dev/null 2>&1",
			  h_env("DATABASE_URL")),
		     0);
	char path[128];
	snprintf(path, sizeof(path), "/pg/batch?key=ok-%d-%ld", getpid(), (long)time(NULL));
	h_resp_t r = h_http("GET", h_url(&srv, path), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.1")), "two");
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.2")), "1");
	h_resp_free(&r);

	char key[64];
	snprintf(key, sizeof(key), "fail-%d-%ld", getpid(), (long)time(NULL));
	snprintf(path, sizeof(path), "/pg/batch?key=%s&fail=1", key);
	r = h_http("GET", h_url(&srv, path), NULL, NULL);
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert(strstr(json_string_value(json_object_get(r.json, "message")), "division by zero"),
		  "%s", r.body);
	h_resp_free(&r);
	/* The insert before the failing statement was rolled back. */
	cr_assert_eq(h_sh("test \"$(psql -tA '%s' -c \"SELECT count(*) FROM layer_test_batch WHERE "
			  "k = '%s'\")\" = 0",
			  h_env("DATABASE_URL"), key),
		     0);
}

Test(layer, cpu_work_runs_off_the_loop)
{
	h_resp_t r = h_http("GET", h_url(&srv, "/cpu"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_true(h_json_path(r.json, "data.off_loop")));
	json_int_t expect = 0;
	unsigned long long x = 1;
	for (int i = 0; i < 1000000; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	expect = (json_int_t)(x & 0xffffff);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.result")), expect);
	h_resp_free(&r);
}

Test(pool, two_hundred_concurrent_queries_through_four_connections, .init = start_default,
     .fini = stop_child, .timeout = 60)
{
	long status[200];
	double t0 = h_now();
	h_http_many("GET", h_url(&srv, "/pg/sleep?ms=20"), 200, status);
	double elapsed = h_now() - t0;
	for (int i = 0; i < 200; i++)
		cr_assert_eq(status[i], 200, "request %d: %ld", i, status[i]);
	/* 200 x 20 ms over 4 connections cannot take less than 1 s: the pool really queued. */
	cr_assert_geq(elapsed, 0.95, "took %.2f s", elapsed);
	cr_assert_lt(elapsed, 20, "took %.2f s", elapsed);
}

typedef struct sleepers {
	long status[6];
} sleepers_t;

static void *sleep_many(void *arg)
{
	sleepers_t *s = arg;
	h_http_many("GET", h_url(&srv, "/pg/sleep?ms=1500"), 6, s->status);
	return NULL;
}

/* Background queries fill every connection but one; that one is kept for urgent work (webhook
 * acknowledgements), which starts at once while regular work queues. */
Test(pool, the_last_connection_is_kept_for_urgent_work, .init = start_default, .fini = stop_child,
     .timeout = 60)
{
	sleepers_t s;
	pthread_t t;
	pthread_create(&t, NULL, sleep_many, &s);
	/* Three sleepers hold three of the four connections, the other three wait. */
	cr_assert(H_WAIT_UNTIL(child_state("pgBusy") == 3 && child_state("inFlight") == 7, 5000),
		  "the sleepers did not take three connections");
	h_resp_t r = h_http("GET", h_url(&srv, "/pg/urgent"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_lt(r.ms, 500, "urgent work waited %.0f ms", r.ms);
	h_resp_free(&r);
	r = h_http("GET", h_url(&srv, "/pg/sleep?ms=0"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_gt(r.ms, 500, "regular work took the reserved connection (%.0f ms)", r.ms);
	h_resp_free(&r);
	pthread_join(t, NULL);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(s.status[i], 200);
}

/* --- a private PostgreSQL that the test restarts ------------------------------------------ */

Test(pool, queries_survive_a_postgres_restart, .timeout = 120)
{
	h_services_t pg;
	h_services_start(&pg);
	setenv("DATABASE_URL", pg.database_url, 1);
	start_child(2);

	h_resp_t r = h_http("GET", h_url(&srv, "/pg/sleep?ms=0"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	cr_assert_eq(h_services(&pg, "stop", "postgres"), 0);
	/* Down: every query fails quickly and cleanly, none hangs. */
	for (int i = 0; i < 5; i++) {
		r = h_http("GET", h_url(&srv, "/pg/sleep?ms=0"), NULL, NULL);
		cr_assert_eq(r.status, 503, "%s", r.body);
		cr_assert(strstr(json_string_value(json_object_get(r.json, "message")), "database"),
			  "%s", r.body);
		cr_assert_lt(r.ms, 2000);
		h_resp_free(&r);
	}
	cr_assert_eq(h_services(&pg, "start", "postgres"), 0);
	cr_assert(H_WAIT_UNTIL(h_get_status(&srv, "/pg/sleep?ms=0") == 200, 10000),
		  "the pool did not reconnect");
	/* Every connection came back: a burst larger than the pool succeeds entirely. */
	long many[20];
	h_http_many("GET", h_url(&srv, "/pg/sleep?ms=10"), 20, many);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(many[i], 200);
	stop_child();
	h_services(&pg, "stop", "");
}

/* --- SIGTERM drains what is in flight -------------------------------------------------------- */

typedef struct slow_call {
	h_proc_t *srv;
	h_resp_t resp;
	bool done;
} slow_call_t;

static void *slow_call(void *arg)
{
	slow_call_t *c = arg;
	c->resp = h_http("GET", h_url(c->srv, "/slow?ms=1500"), NULL, NULL);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

Test(drain, sigterm_finishes_in_flight_requests_then_exits_0, .init = start_default, .timeout = 60)
{
	slow_call_t call = {&srv, {0}, false};
	pthread_t t;
	pthread_create(&t, NULL, slow_call, &call);
	cr_assert(H_WAIT_UNTIL(child_state("inFlight") == 2, 5000),
		  "the slow request did not start");
	kill(srv.pid, SIGTERM);
	/* No longer accepting while the slow request is still in flight... */
	cr_assert(H_WAIT_UNTIL(!h_port_open(srv.port), 1000), "still accepting after SIGTERM");
	cr_assert_not(__atomic_load_n(&call.done, __ATOMIC_ACQUIRE),
		      "the slow request ended before the listener closed");
	/* ...but the slow request completes. */
	pthread_join(t, NULL);
	cr_assert_eq(call.resp.status, 200, "%s", call.resp.body);
	cr_assert(json_is_true(h_json_path(call.resp.json, "data.slow")));
	h_resp_free(&call.resp);
	int st;
	cr_assert_eq(waitpid(srv.pid, &st, 0), srv.pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
}
