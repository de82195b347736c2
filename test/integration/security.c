/* Regression tests for the security findings of issue 17 §5: each starts its own sellerhubd
 * with the settings it needs and probes it over real sockets. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "ident.h"

static h_proc_t srv;

static void start(void)
{
	cr_assert(h_server_start(&srv, NULL), "sellerhubd did not start: see %s", srv.log_path);
}

static void stop(void)
{
	h_server_stop_clean(&srv);
}

static void expect_error(h_resp_t *r, long status, const char *code)
{
	cr_expect_eq(r->status, status, "want %ld %s, got %ld %s", status, code, r->status,
		     r->body);
	cr_expect_str_eq(ident_code(r), code, "%s", r->body);
	cr_expect(json_is_false(json_object_get(r->json, "success")));
}

TestSuite(security, .init = start, .fini = stop, .timeout = 60);

/* --- CORS ------------------------------------------------------------------------------------ */

Test(security, cors_wildcard_never_allows_credentials_nor_null, .init = NULL)
{
	const char *env[] = {"CORS_ORIGINS=*,https://app.example.com", NULL};
	cr_assert(h_server_start(&srv, env));
	const char *any[] = {"Origin: https://evil.example.com", NULL};
	h_resp_t r = h_http("GET", h_url(&srv, "/health"), NULL, any);
	cr_assert_eq(r.status, 200);
	cr_expect_str_eq(h_header(&r, "Access-Control-Allow-Origin"), "*");
	cr_expect_null(h_header(&r, "Access-Control-Allow-Credentials"));
	h_resp_free(&r);

	const char *null_origin[] = {"Origin: null", "Access-Control-Request-Method: POST", NULL};
	r = h_http("OPTIONS", h_url(&srv, "/api/auth/login"), NULL, null_origin);
	cr_expect_null(h_header(&r, "Access-Control-Allow-Origin"));
	cr_expect_null(h_header(&r, "Access-Control-Allow-Credentials"));
	h_resp_free(&r);

	/* A listed origin keeps its credentials. */
	const char *listed[] = {"Origin: https://app.example.com", NULL};
	r = h_http("GET", h_url(&srv, "/health"), NULL, listed);
	cr_expect_str_eq(h_header(&r, "Access-Control-Allow-Origin"), "https://app.example.com");
	cr_expect_str_eq(h_header(&r, "Access-Control-Allow-Credentials"), "true");
	h_resp_free(&r);
}
