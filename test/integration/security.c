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

/* --- JWT claims ------------------------------------------------------------------------------ */

#define TEST_JWT_SECRET "test-jwt-secret-0123456789abcdef0123456789abcdef" /* harness.c's */

/* An access token for s's user signed with the server's secret; iat and exp as JSON text. */
static char *forge(const session_t *s, const char *iat, const char *exp)
{
	char grants[512];
	snprintf(grants, sizeof(grants),
		 "{\"sub\":\"%s\",\"tid\":\"%s\",\"role\":\"owner\",\"jti\":\"forged%ld\","
		 "\"iat\":%s,\"exp\":%s}",
		 s->user_id, s->tenant_id, (long)random(), iat, exp);
	jwt_t *jwt = NULL;
	cr_assert_eq(jwt_new(&jwt), 0);
	cr_assert_eq(jwt_add_grants_json(jwt, grants), 0, "%s", grants);
	cr_assert_eq(jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)TEST_JWT_SECRET,
				 (int)strlen(TEST_JWT_SECRET)),
		     0);
	char *t = jwt_encode_str(jwt);
	jwt_free(jwt);
	return t;
}

Test(security, jwt_iat_in_the_future_and_malformed_exp_are_token_invalid)
{
	session_t s;
	ident_signup(&srv, &s);
	long now = (long)time(NULL);
	char iat[32], exp[32], soon[32];
	snprintf(iat, sizeof(iat), "%ld", now);
	snprintf(exp, sizeof(exp), "%ld", now + 600);
	/* The forger works: a well-formed token is accepted... */
	char *t = forge(&s, iat, exp);
	h_resp_t r = ident_call(&srv, "GET", "/api/auth/me", t, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	free(t);
	/* ...one issued an hour from now is not (a small skew is). */
	char future[32], future_exp[32];
	snprintf(future, sizeof(future), "%ld", now + 3600);
	snprintf(future_exp, sizeof(future_exp), "%ld", now + 4500);
	t = forge(&s, future, future_exp);
	r = ident_call(&srv, "GET", "/api/auth/me", t, NULL);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);
	free(t);
	snprintf(soon, sizeof(soon), "%ld", now + 20);
	t = forge(&s, soon, exp);
	r = ident_call(&srv, "GET", "/api/auth/me", t, NULL);
	cr_expect_eq(r.status, 200, "a 20 s skew must pass: %s", r.body);
	h_resp_free(&r);
	free(t);
	/* A malformed exp is not "expired". */
	const char *bad_exp[] = {"\"abc\"", "1.5", "null", "true", "0", "-5"};
	for (size_t i = 0; i < sizeof(bad_exp) / sizeof(*bad_exp); i++) {
		t = forge(&s, iat, bad_exp[i]);
		r = ident_call(&srv, "GET", "/api/auth/me", t, NULL);
		cr_expect_eq(r.status, 401, "exp %s: %s", bad_exp[i], r.body);
		cr_expect_str_eq(ident_code(&r), "TOKEN_INVALID", "exp %s: %s", bad_exp[i], r.body);
		h_resp_free(&r);
		free(t);
	}
	/* A genuinely expired one still says so. */
	char old_iat[32], old_exp[32];
	snprintf(old_iat, sizeof(old_iat), "%ld", now - 2000);
	snprintf(old_exp, sizeof(old_exp), "%ld", now - 1000);
	t = forge(&s, old_iat, old_exp);
	r = ident_call(&srv, "GET", "/api/auth/me", t, NULL);
	expect_error(&r, 401, "TOKEN_EXPIRED");
	h_resp_free(&r);
	free(t);
}

/* --- authorization before validation -------------------------------------------------------- */

Test(security, member_changing_another_user_is_403_before_any_validation)
{
	session_t owner, member;
	ident_signup(&srv, &owner);
	ident_add_user(&srv, &owner, "member", &member);
	char path[128];
	snprintf(path, sizeof(path), "/api/users/%s", owner.user_id);
	h_resp_t r = ident_call(&srv, "PUT", path, member.access, "{\"email\":\"not-an-email\"}");
	expect_error(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", path, member.access, "{}");
	expect_error(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
	/* Promoting oneself is management too, whatever the value. */
	snprintf(path, sizeof(path), "/api/users/%s", member.user_id);
	r = ident_call(&srv, "PUT", path, member.access, "{\"role\":\"emperor\"}");
	expect_error(&r, 403, "FORBIDDEN");
	h_resp_free(&r);
	/* One's own profile is still validated for oneself. */
	r = ident_call(&srv, "PUT", path, member.access, "{\"email\":\"not-an-email\"}");
	expect_error(&r, 400, "VALIDATION_FAILED");
	h_resp_free(&r);
}

/* --- /metrics behind METRICS_TOKEN ------------------------------------------------------------ */

Test(security, metrics_token_protects_metrics, .init = NULL)
{
	const char *env[] = {"METRICS_TOKEN=metrics-secret-0123456789", NULL};
	cr_assert(h_server_start(&srv, env));
	h_resp_t r = h_http("GET", h_url(&srv, "/metrics"), NULL, NULL);
	expect_error(&r, 401, "NO_TOKEN");
	cr_expect_not_null(h_header(&r, "WWW-Authenticate"));
	cr_expect_null(strstr(r.body, "sellerhub_"), "metrics leaked: %.200s", r.body);
	h_resp_free(&r);
	const char *wrong[] = {"Authorization: Bearer metrics-secret-0123456780", NULL};
	r = h_http("GET", h_url(&srv, "/metrics"), NULL, wrong);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);
	const char *right[] = {"Authorization: Bearer metrics-secret-0123456789", NULL};
	r = h_http("GET", h_url(&srv, "/metrics"), NULL, right);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_not_null(strstr(r.body, "sellerhub_http_requests_total"));
	h_resp_free(&r);
	/* /health stays open. */
	r = h_http("GET", h_url(&srv, "/health"), NULL, NULL);
	cr_expect_eq(r.status, 200);
	h_resp_free(&r);
	/* The token never reaches the log. */
	char *log = h_proc_log(&srv);
	cr_expect_null(strstr(log, "metrics-secret"), "the token is in the log");
	free(log);
}

/* --- query parameters are validated before SQL ----------------------------------------------- */

Test(security, bad_dates_and_bytes_in_list_queries_are_400_not_500)
{
	session_t s;
	ident_signup(&srv, &s);
	const char *bad[] = {
	    "/api/orders?from=2026-13-45",
	    "/api/orders?to=2026-02-30",
	    "/api/orders?from=9999-99-99T99:99:99Z",
	    "/api/orders?from=2026-02-29",
	    "/api/orders?to=2026-01-01T24:00:00Z",
	    "/api/orders?status=%ff%fe",
	    "/api/orders?status=a%01b",
	    "/api/orders/stats?from=2026-13-45",
	    "/api/orders/stats?to=2026-02-30",
	    "/api/items?q=%ff%fe",
	    "/api/items?status=%c3%28",
	    "/api/questions?status=%ff%fe",
	    "/api/questions?itemId=%ed%a0%80",
	    "/api/shipments?status=%ff%fe",
	    "/api/orders?page=1e3",
	    "/api/orders?limit=-1",
	    "/api/admin/jobs?kind=%ff",
	    "/api/webhooks/stats?hours=1x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		h_resp_t r = ident_call(&srv, "GET", bad[i], s.access, NULL);
		cr_expect_eq(r.status, 400, "%s: %ld %s", bad[i], r.status, r.body);
		cr_expect_str_eq(ident_code(&r), "VALIDATION_FAILED", "%s: %s", bad[i], r.body);
		json_t *d = json_object_get(r.json, "details");
		cr_expect(json_array_size(d) >= 1 && json_object_get(json_array_get(d, 0), "field"),
			  "%s: no details: %s", bad[i], r.body);
		h_resp_free(&r);
	}
	const char *good[] = {
	    "/api/orders?from=2024-02-29&to=2026-12-31",
	    "/api/orders?from=2026-01-01T10:00:00Z&to=2026-01-02T10:00:00.123Z",
	    "/api/orders?from=2026-01-01T10:00:00%2B03:00",
	    "/api/orders?from=2026-01-01T10:00:00-03:00&status=paid",
	    "/api/orders/stats?from=2026-01-01&to=2026-01-31",
	    "/api/items?q=caf%c3%a9&status=active",
	    "/api/questions?status=UNANSWERED",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		h_resp_t r = ident_call(&srv, "GET", good[i], s.access, NULL);
		cr_expect_eq(r.status, 200, "%s: %ld %s", good[i], r.status, r.body);
		h_resp_free(&r);
	}
	char *log = h_proc_log(&srv);
	cr_expect_null(strstr(log, "\"level\":\"error\""), "an error was logged:\n%s", log);
	free(log);
}

/* --- access tokens die with their session ----------------------------------------------------- */

static h_resp_t refresh_with(const char *refresh)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"refreshToken\":\"%s\"}", refresh);
	return ident_call(&srv, "POST", "/api/auth/refresh", NULL, body);
}

Test(security, logout_and_a_reused_refresh_token_revoke_access_tokens)
{
	session_t s, other;
	ident_signup(&srv, &s);
	/* Logout: the access token that signed out stops working at once. */
	h_resp_t r = ident_login(&srv, s.email, GOOD_PW);
	cr_assert_eq(r.status, 200, "%s", r.body);
	ident_take_tokens(&s, r.json);
	h_resp_free(&r);
	char body[256];
	snprintf(body, sizeof(body), "{\"refreshToken\":\"%s\"}", s.refresh);
	r = ident_call(&srv, "POST", "/api/auth/logout", s.access, body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);

	/* Reuse: a thief refreshed first; the victim's replay revokes the family and every access
	 * token of the user signed until then, the thief's included. */
	r = ident_login(&srv, s.email, GOOD_PW);
	ident_take_tokens(&s, r.json);
	h_resp_free(&r);
	char stolen[64];
	snprintf(stolen, sizeof(stolen), "%s", s.refresh);
	r = refresh_with(stolen);
	cr_assert_eq(r.status, 200, "%s", r.body);
	memcpy(&other, &s, sizeof(other));
	ident_take_tokens(&other, r.json);
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/auth/me", other.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	r = refresh_with(stolen);
	expect_error(&r, 401, "TOKEN_REUSED");
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/auth/me", other.access, NULL);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
	expect_error(&r, 401, "TOKEN_INVALID");
	h_resp_free(&r);
	/* Signing in again right away works (same second included). */
	r = ident_login(&srv, s.email, GOOD_PW);
	ident_take_tokens(&s, r.json);
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/auth/me", s.access, NULL);
	cr_expect_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

/* Waits until the server's log has `needle` (lines are written once per loop turn). */
static bool wait_log(const char *needle, double seconds)
{
	for (double t0 = h_now();; usleep(20000)) {
		char *log = h_proc_log(&srv);
		bool found = strstr(log, needle) != NULL;
		free(log);
		if (found || h_now() - t0 > seconds)
			return found;
	}
}

/* --- raw HTTP over a socket ------------------------------------------------------------------ */

/* Everything the server sends until it closes or `seconds` pass (then *closed is false). */
static char *read_until_closed(int fd, double seconds, bool *closed)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	struct timeval tv = {0, 100000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*closed = false;
	for (double t0 = h_now(); h_now() - t0 < seconds;) {
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			*closed = true;
			break;
		}
		if (n > 0 && (len += (size_t)n) == cap - 1)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	return buf;
}

/* Sends raw bytes on a fresh connection and returns all the server answers until it closes. */
static char *raw(const char *bytes, size_t n, bool *closed)
{
	int fd = h_connect(srv.port);
	cr_assert_eq(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
	char *out = read_until_closed(fd, 5, closed);
	close(fd);
	return out;
}

/* The answer is our envelope with the given status and code, a request id and the security
 * headers, and the connection was closed. */
static void expect_refusal(const char *resp, bool closed, int status, const char *code)
{
	char want[32];
	snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
	cr_expect(strncmp(resp, want, strlen(want)) == 0, "want %d, got (closed %d):\n%.600s",
		  status, closed, resp);
	cr_expect(closed, "the connection was left open after:\n%.300s", resp);
	cr_expect(strcasestr(resp, "\r\nX-Request-Id: "), "no request id:\n%.600s", resp);
	cr_expect(strcasestr(resp, "\r\nX-Content-Type-Options: nosniff"), "%.600s", resp);
	cr_expect(strcasestr(resp, "\r\nContent-Type: application/json"), "%.600s", resp);
	cr_expect_null(strcasestr(resp, "<html"), "an HTML page:\n%.600s", resp);
	const char *body = strstr(resp, "\r\n\r\n");
	json_t *j = body ? json_loads(body + 4, 0, NULL) : NULL;
	cr_expect(j && json_is_false(json_object_get(j, "success")), "not the envelope:\n%s", resp);
	cr_expect_str_eq(json_string_value(json_object_get(j, "code")), code, "%s", resp);
	json_decref(j);
}

/* --- slow request heads and bodies ------------------------------------------------------------ */

/* Sends start, then `piece` every 200 ms until the server answers or closes; the answer. */
static char *trickle(const char *start, const char *piece, double *took, bool *closed)
{
	int fd = h_connect(srv.port);
	cr_assert_eq(send(fd, start, strlen(start), MSG_NOSIGNAL), (ssize_t)strlen(start));
	double t0 = h_now();
	char *resp = calloc(1, 1);
	*closed = false;
	while (!*closed && !*resp && h_now() - t0 < 6) {
		if (send(fd, piece, strlen(piece), MSG_NOSIGNAL) != (ssize_t)strlen(piece))
			break;
		free(resp);
		resp = read_until_closed(fd, 0.2, closed);
	}
	*took = h_now() - t0;
	if (!*closed) {
		char *rest = read_until_closed(fd, 2, closed);
		size_t n = strlen(resp);
		resp = realloc(resp, n + strlen(rest) + 1);
		strcpy(resp + n, rest);
		free(rest);
	}
	close(fd);
	return resp;
}

Test(security, a_trickled_request_head_or_body_is_cut_at_its_deadline, .init = NULL)
{
	const char *env[] = {"HTTP_HEADER_TIMEOUT=1", "HTTP_BODY_TIMEOUT=1", NULL};
	cr_assert(h_server_start(&srv, env));
	/* One header line every 200 ms keeps evhttp's idle timer fresh forever. */
	double took;
	bool closed;
	char *resp =
	    trickle("GET /health HTTP/1.1\r\nHost: t\r\n", "X-Slow: 1\r\n", &took, &closed);
	cr_expect(took < 3, "the trickled head lasted %.1f s", took);
	expect_refusal(resp, closed, 408, "REQUEST_TIMEOUT");
	free(resp);
	/* A body that trickles is cut at its own deadline. */
	resp = trickle("POST /api/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: "
		       "application/json\r\nContent-Length: 100\r\n\r\n{",
		       " ", &took, &closed);
	cr_expect(took < 3, "the trickled body lasted %.1f s", took);
	expect_refusal(resp, closed, 408, "REQUEST_TIMEOUT");
	free(resp);

	int fd;
	/* An idle keep-alive connection is not a slow head: it stays, and serves. */
	fd = h_connect(srv.port);
	const char *get = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
	cr_assert_eq(send(fd, get, strlen(get), MSG_NOSIGNAL), (ssize_t)strlen(get));
	resp = read_until_closed(fd, 0.5, &closed);
	cr_expect(strncmp(resp, "HTTP/1.1 200", 12) == 0, "%s", resp);
	free(resp);
	usleep(1600 * 1000); /* idle past the head deadline on purpose */
	cr_assert_eq(send(fd, get, strlen(get), MSG_NOSIGNAL), (ssize_t)strlen(get));
	resp = read_until_closed(fd, 0.5, &closed);
	cr_expect(strncmp(resp, "HTTP/1.1 200", 12) == 0, "idle connection lost: %s", resp);
	cr_expect(!closed);
	free(resp);
	close(fd);

	/* The refusals are in the access log. */
	cr_expect(wait_log("\"status\":408", 5), "no access line for the 408s");
}

/* --- request smuggling: conflicting lengths ----------------------------------------------------
 */

Test(security, conflicting_content_length_or_transfer_encoding_is_400_and_closed)
{
	bool closed;
	/* Two lengths: were the first believed, "GET /health" would be a second request. */
	static const char two[] =
	    "POST /api/auth/login HTTP/1.1\r\nHost: t\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n"
	    "Content-Length: 40\r\n\r\n{}GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
	char *resp = raw(two, sizeof(two) - 1, &closed);
	expect_refusal(resp, closed, 400, "BAD_REQUEST");
	cr_expect_null(strstr(resp + 12, "HTTP/1.1"), "a second answer:\n%s", resp);
	free(resp);
	static const char both[] =
	    "POST /api/auth/login HTTP/1.1\r\nHost: t\r\n"
	    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
	resp = raw(both, sizeof(both) - 1, &closed);
	expect_refusal(resp, closed, 400, "BAD_REQUEST");
	free(resp);
	static const char te_twice[] =
	    "POST /api/auth/login HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\n";
	resp = raw(te_twice, sizeof(te_twice) - 1, &closed);
	expect_refusal(resp, closed, 400, "BAD_REQUEST");
	free(resp);
	/* The same length twice is harmless and served. */
	static const char same[] = "GET /health HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
				   "Content-Length: 0\r\nConnection: close\r\n\r\n";
	resp = raw(same, sizeof(same) - 1, &closed);
	cr_expect(strncmp(resp, "HTTP/1.1 200", 12) == 0, "%s", resp);
	free(resp);
}

/* --- every answer in the envelope ----------------------------------------------------------------
 */

Test(security, what_evhttp_refused_with_html_is_answered_in_the_envelope)
{
	bool closed;
	static const char big[] = "POST /webhooks/ml HTTP/1.1\r\nHost: t\r\nContent-Type: "
				  "application/json\r\nContent-Length: 2000000\r\n\r\n";
	char *resp = raw(big, sizeof(big) - 1, &closed);
	expect_refusal(resp, closed, 413, "PAYLOAD_TOO_LARGE");
	free(resp);

	size_t n = 48 * 1024;
	char *huge = malloc(n + 128);
	int at = snprintf(huge, 128, "GET /health HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(huge + at, 'a', n);
	strcpy(huge + at + n, "\r\n\r\n");
	resp = raw(huge, strlen(huge), &closed);
	expect_refusal(resp, closed, 431, "HEADERS_TOO_LARGE");
	free(resp);

	at = snprintf(huge, 128, "GET /health?x=");
	memset(huge + at, 'b', 20000);
	strcpy(huge + at + 20000, " HTTP/1.1\r\nHost: t\r\n\r\n");
	resp = raw(huge, strlen(huge), &closed);
	expect_refusal(resp, closed, 414, "URI_TOO_LONG");
	free(resp);
	free(huge);

	const char *refused[][3] = {
	    {"TRACE / HTTP/1.1\r\nHost: t\r\n\r\n", "405", "METHOD_NOT_ALLOWED"},
	    {"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", "405",
	     "METHOD_NOT_ALLOWED"},
	    {"BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n", "405", "METHOD_NOT_ALLOWED"},
	    {"hello\r\n\r\n", "400", "BAD_REQUEST"},
	    {"GET /health HTTP/9.9\r\nHost: t\r\n\r\n", "400", "BAD_REQUEST"},
	    {"GET /health HTTP/1.1\r\nNo colon here\r\n\r\n", "400", "BAD_REQUEST"},
	    {"GET /he\x01lth HTTP/1.1\r\nHost: t\r\n\r\n", "400", "BAD_REQUEST"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		resp = raw(refused[i][0], strlen(refused[i][0]), &closed);
		expect_refusal(resp, closed, atoi(refused[i][1]), refused[i][2]);
		free(resp);
	}
	/* Each has its access-log line. */
	const char *statuses[] = {"\"status\":413", "\"status\":431", "\"status\":414",
				  "\"status\":405", "\"status\":400"};
	for (size_t i = 0; i < sizeof(statuses) / sizeof(*statuses); i++)
		cr_expect(wait_log(statuses[i], 5), "no access line with %s", statuses[i]);
	/* And the server still serves. */
	h_resp_t r = h_http("GET", h_url(&srv, "/health"), NULL, NULL);
	cr_expect_eq(r.status, 200);
	h_resp_free(&r);
}
