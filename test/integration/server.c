/* sellerhubd itself over HTTP: ops endpoints, error envelopes, headers, configuration errors,
 * clean shutdown, and readiness following Redis down and up. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <dirent.h>
#include <time.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static h_proc_t srv;

static void start(void)
{
	cr_assert(h_server_start(&srv, NULL), "sellerhubd did not start: see %s", srv.log_path);
}

static void stop(void)
{
	h_server_stop_clean(&srv);
}

TestSuite(server, .init = start, .fini = stop, .timeout = 60);

Test(server, health_is_ok_with_request_id_and_security_headers)
{
	h_resp_t r = h_http("GET", h_url(&srv, "/health"), NULL, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "ok");
	const char *id = h_header(&r, "X-Request-Id");
	cr_assert_not_null(id);
	cr_assert_eq(strlen(id), 36);
	cr_assert_str_eq(h_header(&r, "X-Content-Type-Options"), "nosniff");
	cr_assert_str_eq(h_header(&r, "X-Frame-Options"), "DENY");
	cr_assert_not_null(h_header(&r, "Referrer-Policy"));
	cr_assert_null(h_header(&r, "Cache-Control")); /* no-store is for /api */
	h_resp_free(&r);
}

Test(server, request_id_is_echoed_when_sane_and_replaced_when_not)
{
	const char *mine[] = {"X-Request-Id: client-abc.123", NULL};
	h_resp_t r = h_http("GET", h_url(&srv, "/health"), NULL, mine);
	cr_assert_str_eq(h_header(&r, "X-Request-Id"), "client-abc.123");
	h_resp_free(&r);
	const char *bad[] = {"X-Request-Id: <script>", NULL};
	r = h_http("GET", h_url(&srv, "/health"), NULL, bad);
	cr_assert_str_neq(h_header(&r, "X-Request-Id"), "<script>");
	h_resp_free(&r);
}

Test(server, ready_reports_each_check)
{
	h_resp_t r = h_http("GET", h_url(&srv, "/ready"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "checks.postgres.status")), "up");
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "checks.redis.status")), "up");
	h_resp_free(&r);
}

Test(server, unknown_path_is_404_envelope_with_no_store_under_api)
{
	h_resp_t r = h_http("GET", h_url(&srv, "/api/does-not-exist"), NULL, NULL);
	cr_assert_eq(r.status, 404);
	cr_assert(json_is_false(json_object_get(r.json, "success")));
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "NOT_FOUND");
	cr_assert(json_is_array(json_object_get(r.json, "details")));
	cr_assert_str_eq(h_header(&r, "Cache-Control"), "no-store");
	h_resp_free(&r);
}

Test(server, wrong_method_is_405_with_allow)
{
	h_resp_t r = h_http("DELETE", h_url(&srv, "/health"), NULL, NULL);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(h_header(&r, "Allow"), "GET");
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "METHOD_NOT_ALLOWED");
	h_resp_free(&r);
}

Test(server, bad_percent_encoding_is_400)
{
	h_resp_t r = h_http("GET", h_url(&srv, "/api/x%zz"), NULL, NULL);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "BAD_PATH");
	h_resp_free(&r);
}

Test(server, metrics_count_requests_per_route_and_class)
{
	for (int i = 0; i < 3; i++) {
		h_resp_t r = h_http("GET", h_url(&srv, "/health"), NULL, NULL);
		h_resp_free(&r);
	}
	h_resp_t r = h_http("GET", h_url(&srv, "/nope"), NULL, NULL);
	h_resp_free(&r);
	r = h_http("GET", h_url(&srv, "/metrics"), NULL, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(h_header(&r, "Content-Type"), "text/plain"));
	cr_assert(
	    strstr(r.body, "sellerhub_http_requests_total{route=\"/health\",code=\"2xx\"} 3\n"),
	    "%s", r.body);
	cr_assert(
	    strstr(r.body, "sellerhub_http_requests_total{route=\"unmatched\",code=\"4xx\"} 1\n"),
	    "%s", r.body);
	cr_assert(strstr(r.body, "sellerhub_http_request_duration_seconds_bucket{route=\"/health\","
				 "code=\"2xx\",le=\"+Inf\"} 3\n"),
		  "%s", r.body);
	cr_assert(strstr(r.body, "sellerhub_pg_connections "), "%s", r.body);
	cr_assert(strstr(r.body, "sellerhub_redis_up 1\n"), "%s", r.body);
	h_resp_free(&r);
}

Test(server, openapi_lists_every_route)
{
	h_resp_t r = h_http("GET", h_url(&srv, "/openapi.json"), NULL, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "openapi")), "3.0.3");
	json_t *paths = json_object_get(r.json, "paths");
	const char *expected[] = {"/health", "/ready", "/metrics", "/openapi.json"};
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		cr_assert_not_null(json_object_get(paths, expected[i]), "missing %s", expected[i]);
	/* Path parameters are rendered the OpenAPI way: no ":name" may remain. */
	cr_assert_null(strstr(r.body, "/:"), "%s", r.body);
	h_resp_free(&r);
}

Test(server, access_log_has_one_json_line_per_request_without_query)
{
	h_resp_t r = h_http("GET", h_url(&srv, "/health?code=SECRETCODE"), NULL, NULL);
	char id[80];
	snprintf(id, sizeof(id), "\"req_id\":\"%s\"", h_header(&r, "X-Request-Id"));
	h_resp_free(&r);
	char *log = h_proc_log_wait(&srv, id, 5000);
	char *line = strstr(log, id);
	cr_assert_not_null(line, "%s", log);
	cr_assert(strstr(line, "\"path\":\"/health\""), "%s", log);
	cr_assert(strstr(line, "\"status\":200"), "%s", log);
	cr_assert(strstr(line, "\"ms\":"), "%s", log);
	cr_assert(strstr(line, "\"bytes\":15"), "%s", log);
	cr_assert_null(strstr(log, "SECRETCODE"));
	/* The whole line is one JSON object with typed fields (it is rendered by hand). */
	char *start = line;
	while (start > log && start[-1] != '\n')
		start--;
	json_error_t e;
	json_t *j = json_loadb(start, strcspn(start, "\n"), 0, &e);
	cr_assert_not_null(j, "%s: %.300s", e.text, start);
	const char *ts = json_string_value(json_object_get(j, "ts"));
	cr_assert(ts && strlen(ts) == 24 && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z',
		  "ts %s", ts ? ts : "(none)");
	cr_assert(json_is_number(json_object_get(j, "ms")) &&
		      json_number_value(json_object_get(j, "ms")) >= 0,
		  "%.300s", start);
	cr_assert_eq(json_integer_value(json_object_get(j, "status")), 200);
	cr_assert_eq(json_integer_value(json_object_get(j, "bytes")), 15);
	cr_assert_str_eq(json_string_value(json_object_get(j, "method")), "GET");
	cr_assert_str_eq(json_string_value(json_object_get(j, "msg")), "request");
	json_decref(j);
	free(log);
}

Test(server, cors_preflight_for_allowed_origin_only, .init = NULL)
{
	const char *env[] = {"CORS_ORIGINS=https://app.example.com", NULL};
	cr_assert(h_server_start(&srv, env));
	const char *ok[] = {"Origin: https://app.example.com",
			    "Access-Control-Request-Method: POST", NULL};
	h_resp_t r = h_http("OPTIONS", h_url(&srv, "/api/anything"), NULL, ok);
	cr_assert_eq(r.status, 204);
	cr_assert_str_eq(h_header(&r, "Access-Control-Allow-Origin"), "https://app.example.com");
	cr_assert_not_null(h_header(&r, "Access-Control-Allow-Methods"));
	h_resp_free(&r);
	const char *other[] = {"Origin: https://evil.example.com", NULL};
	r = h_http("GET", h_url(&srv, "/health"), NULL, other);
	cr_assert_eq(r.status, 200);
	cr_assert_null(h_header(&r, "Access-Control-Allow-Origin"));
	h_resp_free(&r);
	const char *same[] = {"Origin: https://app.example.com", NULL};
	r = h_http("GET", h_url(&srv, "/health"), NULL, same);
	cr_assert_str_eq(h_header(&r, "Access-Control-Allow-Origin"), "https://app.example.com");
	h_resp_free(&r);
}

/* Requests pipelined on one connection, answered in their own turn (/health, 404) or after a
 * commit (the webhook): every answer comes back, in order, and "Connection: close" closes. */
Test(server, pipelined_requests_are_answered_in_order_then_closed)
{
	char nid[64], body[256], req[2048];
	snprintf(nid, sizeof(nid), "pipelined-%d-%ld", getpid(), (long)time(NULL));
	int blen = snprintf(body, sizeof(body),
			    "{\"_id\":\"%s\",\"resource\":\"/orders/7\",\"user_id\":991,"
			    "\"topic\":\"orders_v2\"}",
			    nid);
	int n =
	    snprintf(req, sizeof(req),
		     "GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
		     "POST /webhooks/ml HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
		     "Content-Length: %d\r\n\r\n%s"
		     "GET /no/such/path HTTP/1.1\r\nHost: t\r\n\r\n"
		     "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		     blen, body);
	int fd = h_connect(srv.port);
	cr_assert_eq(write(fd, req, (size_t)n), n);
	static char got[65536];
	size_t len = 0;
	ssize_t r;
	while (len < sizeof(got) - 1 && (r = read(fd, got + len, sizeof(got) - 1 - len)) > 0)
		len += (size_t)r;
	cr_assert_eq(r, 0, "the connection was not closed after the last answer");
	got[len] = '\0';
	close(fd);
	const char *want[] = {"HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 404", "HTTP/1.1 200"};
	const char *p = got;
	for (size_t i = 0; i < 4; i++) {
		p = strstr(p, want[i]);
		cr_assert_not_null(p, "answer %zu (%s) missing in:\n%s", i + 1, want[i], got);
		p += 12;
	}
	cr_assert_null(strstr(p, "HTTP/1.1"), "more than four answers:\n%s", got);
	cr_assert(strstr(got, "{\"success\":true}"), "the webhook was not acknowledged:\n%s", got);
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM ml_notifications WHERE notification_id = '%s'", nid),
	    1);
}

/* --- configuration and lifecycle, without the shared server ---------------------------------- */

static int run_with_env(const char *env, char *out, size_t size)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "env -i PATH=/usr/bin:/bin %s %s serve 2>&1", env,
		 h_env("SELLERHUBD"));
	FILE *f = popen(cmd, "r");
	size_t n = fread(out, 1, size - 1, f);
	out[n] = 0;
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(config_errors, missing_required_setting_exits_2_naming_it)
{
	char out[1024];
	int rc = run_with_env("JWT_SECRET=0123456789abcdef0123456789abcdef01 ENCRYPTION_KEY="
			      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			      out, sizeof(out));
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "DATABASE_URL"), "%s", out);
	cr_assert_eq(strchr(out, '\n') - out + 1, (long)strlen(out), "one line: %s", out);
}

Test(config_errors, bad_value_exits_2_without_echoing_secrets)
{
	char out[1024];
	int rc = run_with_env("DATABASE_URL=postgresql://x/y JWT_SECRET=tooshort-hunter2 "
			      "ENCRYPTION_KEY=abc",
			      out, sizeof(out));
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "JWT_SECRET"), "%s", out);
	cr_assert_null(strstr(out, "hunter2"), "%s", out);
}

Test(lifecycle, sigint_and_sigterm_exit_cleanly, .timeout = 30)
{
	h_proc_t p;
	cr_assert(h_server_start(&p, NULL));
	cr_assert_eq(h_proc_stop(&p, SIGINT), 0);
	cr_assert(h_server_start(&p, NULL));
	cr_assert_eq(h_proc_stop(&p, SIGTERM), 0);
	char *log = h_proc_log(&p);
	cr_assert(strstr(log, "shutdown: done"), "%s", log);
	free(log);
}

Test(lifecycle, migrate_command_applies_and_exits, .timeout = 30)
{
	h_proc_t p;
	const char *argv[] = {h_env("SELLERHUBD"), "migrate", NULL};
	const char *env[] = {
	    "JWT_SECRET=0123456789abcdef0123456789abcdef01",
	    "ENCRYPTION_KEY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    NULL};
	/* It never listens: wait for the exit instead of a port. */
	cr_assert_not(h_proc_start(&p, argv, env, h_free_port()));
	char *log = h_proc_log(&p);
	cr_assert(strstr(log, "schema up to date"), "%s", log);
	free(log);
}

/* --- Redis down and back: /ready follows, the server keeps serving --------------------------- */

Test(redis_outage, ready_turns_503_and_back, .timeout = 60)
{
	h_redis_t redis = {0};
	h_redis_start(&redis);
	h_proc_t s;
	const char *env[] = {redis.url_env, NULL};
	cr_assert(h_server_start(&s, env));

	h_resp_t r = h_http("GET", h_url(&s, "/ready"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	h_proc_stop(&redis.proc, SIGKILL);
	cr_assert(H_WAIT_UNTIL(h_get_status(&s, "/ready") == 503, 5000),
		  "/ready did not turn 503 once Redis was gone");
	r = h_http("GET", h_url(&s, "/ready"), NULL, NULL);
	cr_assert_eq(r.status, 503, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "checks.redis.status")), "down");
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "checks.postgres.status")), "up");
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "down.0")), "redis");
	h_resp_free(&r);
	r = h_http("GET", h_url(&s, "/health"), NULL, NULL);
	cr_assert_eq(r.status, 200); /* still serving */
	h_resp_free(&r);

	h_redis_start(&redis);
	cr_assert(H_WAIT_UNTIL(h_get_status(&s, "/ready") == 200, 10000),
		  "ready did not return after Redis came back");
	cr_assert_eq(h_proc_stop(&s, SIGTERM), 0);
	h_proc_stop(&redis.proc, SIGTERM);
}

static int count_migrations(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/sql", h_env("SH_ROOT"));
	DIR *d = opendir(path);
	cr_assert_not_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n +=
		    strlen(e->d_name) > 9 && strcmp(e->d_name + strlen(e->d_name) - 4, ".sql") == 0;
	closedir(d);
	return n;
}

Test(lifecycle, concurrent_migrations_apply_each_once, .timeout = 60)
{
	/* A fresh database on the test cluster, so the migrations really run. */
	char db[64], url[512];
	snprintf(db, sizeof(db), "mig_%d_%ld", getpid(), (long)time(NULL));
	const char *base = h_env("DATABASE_URL");
	cr_assert_eq(h_sh("psql -q '%s' -c 'CREATE DATABASE %s' >/dev/null", base, db), 0);
	const char *slash = strrchr(base, '/');
	snprintf(url, sizeof(url), "%.*s/%s", (int)(slash - base), base, db);

	/* Three at once; each writes its exit status to a file. */
	cr_assert_eq(h_sh("cd '%s' && for i in 1 2 3; do (DATABASE_URL='%s' '%s' migrate "
			  ">/dev/null 2>&1; echo $? >%s.rc$i) & done; wait; "
			  "test \"$(cat %s.rc1 %s.rc2 %s.rc3)\" = \"$(printf '0\\n0\\n0')\"",
			  h_env("SH_TEST_DIR"), url, h_env("SELLERHUBD"), db, db, db, db),
		     0, "a migrate process failed");
	/* Every migration file is recorded exactly once. */
	cr_assert_eq(
	    h_sh("test \"$(psql -tA '%s' -c 'SELECT count(*) = count(DISTINCT version) AND "
		 "count(*) = %d FROM schema_migrations')\" = t",
		 url, count_migrations()),
	    0);
	h_sh("psql -q '%s' -c 'DROP DATABASE %s' >/dev/null 2>&1", base, db);
}
