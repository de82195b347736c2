/* The real nginx (Debian's) on loopback in front of sellerhubd, with the committed site file
 * etc/nginx/sellerhub.conf rendered onto free ports. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ident.h"
#include "sse_client.h"

static h_proc_t app_srv, nginx;
static char dir[512];

static void start(void)
{
	const char *env[] = {"TRUSTED_PROXIES=127.0.0.1", NULL};
	cr_assert(h_server_start(&app_srv, env), "sellerhubd did not start");
	snprintf(dir, sizeof(dir), "%s/nginx-%d", h_env("SH_TEST_DIR"), getpid());
	int port = h_free_port();
	cr_assert_eq(
	    h_sh("mkdir -p '%s' && chmod 777 '%s' && sed -e 's/127.0.0.1:8080/127.0.0.1:%d/' "
		 "-e 's/listen 80;/listen 127.0.0.1:%d;/' '%s/etc/nginx/sellerhub.conf' "
		 ">'%s/site.conf'",
		 dir, dir, app_srv.port, port, h_env("SH_ROOT"), dir),
	    0);
	char conf[1024];
	snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
	FILE *f = fopen(conf, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"%s daemon off; worker_processes 1; pid %s/nginx.pid; error_log %s/error.log;\n"
		"events { worker_connections 256; }\n"
		"http { access_log off; client_body_temp_path %s/body; proxy_temp_path %s/proxy;\n"
		"  fastcgi_temp_path %s/fcgi; uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n"
		"  include %s/site.conf; }\n",
		getuid() == 0 ? "user root;" : "", dir, dir, dir, dir, dir, dir, dir, dir);
	fclose(f);
	const char *argv[] = {"/usr/sbin/nginx", "-c", conf, "-p", dir, "-e", "stderr", NULL};
	cr_assert(h_proc_start(&nginx, argv, NULL, port), "nginx did not start: see %s",
		  nginx.log_path);
}

static void stop(void)
{
	h_proc_stop(&nginx, SIGQUIT);
	cr_expect_eq(h_proc_stop(&app_srv, SIGTERM), 0);
}

TestSuite(nginx, .init = start, .fini = stop, .timeout = 60);

Test(nginx, requests_pass_through_with_headers)
{
	h_resp_t r = h_http("GET", h_url(&nginx, "/health"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "ok");
	/* nginx's $request_id (32 hex digits) reached sellerhubd and came back. */
	const char *id = h_header(&r, "X-Request-Id");
	cr_assert_not_null(id);
	cr_assert_eq(strlen(id), 32, "%s", id);
	cr_assert_str_eq(h_header(&r, "X-Content-Type-Options"), "nosniff");
	h_resp_free(&r);

	r = h_http("DELETE", h_url(&nginx, "/ready"), NULL, NULL);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(h_header(&r, "Allow"), "GET");
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "METHOD_NOT_ALLOWED");
	h_resp_free(&r);

	r = h_http("GET", h_url(&nginx, "/ready"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

Test(nginx, client_address_comes_from_x_forwarded_for)
{
	const char *h[] = {"X-Forwarded-For: 203.0.113.7", "X-Request-Id: via-nginx-xff", NULL};
	h_resp_t r = h_http("GET", h_url(&nginx, "/health"), NULL, h);
	cr_assert_eq(r.status, 200);
	char id[96];
	snprintf(id, sizeof(id), "\"req_id\":\"%s\"", h_header(&r, "X-Request-Id"));
	h_resp_free(&r);
	/* This request's access line, once written, has the forwarded address. */
	char *log = h_proc_log_wait(&app_srv, id, 5000);
	char *line = strstr(log, id);
	while (line > log && line[-1] != '\n')
		line--;
	line[strcspn(line, "\n")] = '\0';
	cr_assert(strstr(line, "\"ip\":\"203.0.113.7\""), "%s", line);
	free(log);
}

Test(nginx, bodies_over_the_site_limit_are_stopped_by_nginx)
{
	size_t n = 2 * 1024 * 1024;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = 0;
	h_resp_t r = h_http("POST", h_url(&nginx, "/api/anything"), big, NULL);
	cr_assert_eq(r.status, 413);
	h_resp_free(&r);
	free(big);
}

/* The event stream passes through unbuffered: its first event arrives while it is still open,
 * with the token in the query (the browser's way). */
Test(nginx, event_stream_passes_unbuffered)
{
	session_t a;
	ident_signup(&app_srv, &a);
	sse_t s;
	sse_open(&s, nginx.port, h_fmt("/api/metrics/stream?access_token=%s", a.access), NULL);
	cr_assert_eq(sse_wait_status(&s, 5000), 200, "%s", s.raw ? s.raw : "");
	cr_assert(sse_wait(&s, "event: realtime\ndata: {", 5000), "%s", sse_text(&s));
	sse_close(&s);
}
