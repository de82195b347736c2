/* httpc against a small local HTTP server: an evhttp server (plus a raw socket listener for
 * connections closed without an answer) on its own event_base in a thread, while the test
 * drives httpc on the test thread's event_base. */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpc.h"
#include "ratelimit.h"
#include "util.h"

/* ---- the server (runs on its own thread; shared counters under srv_lock) ---- */

#define MAX_PATHS 16
#define MAX_HITS  256
#define BIG_LEN	  (1024 * 1024)

struct path_hits {
	char path[32];
	int hits;
	int64_t at_us[MAX_HITS];
};

static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct path_hits paths[MAX_PATHS];
static int slow_now, slow_max;
static int raw_conns;
static char seen_user_agent[128], seen_accept_encoding[64];

static struct event_base *sbase;
static struct evhttp *shttp;
static struct evconnlistener *raw_listener;
static pthread_t sthread;
static int http_port, raw_port;

/* Timers of /slow replies, freed at teardown if a test ends before they fire. */
struct slow_reply {
	struct event *ev;
	struct evhttp_request *req;
	bool done;
};
static struct slow_reply slow_replies[512];
static int nslow;

static int hit(const char *path)
{
	pthread_mutex_lock(&srv_lock);
	int i = 0;
	while (i < MAX_PATHS && paths[i].path[0] && strcmp(paths[i].path, path) != 0)
		i++;
	cr_assert(i < MAX_PATHS);
	if (!paths[i].path[0])
		snprintf(paths[i].path, sizeof(paths[i].path), "%s", path);
	int n = ++paths[i].hits;
	if (n <= MAX_HITS)
		paths[i].at_us[n - 1] = now_us();
	pthread_mutex_unlock(&srv_lock);
	return n;
}

static int hits(const char *path)
{
	int n = 0;
	pthread_mutex_lock(&srv_lock);
	for (int i = 0; i < MAX_PATHS; i++) {
		if (strcmp(paths[i].path, path) == 0)
			n = paths[i].hits;
	}
	pthread_mutex_unlock(&srv_lock);
	return n;
}

static int64_t hit_at(const char *path, int k)
{
	int64_t t = -1;
	pthread_mutex_lock(&srv_lock);
	for (int i = 0; i < MAX_PATHS; i++) {
		if (strcmp(paths[i].path, path) == 0 && k < paths[i].hits)
			t = paths[i].at_us[k];
	}
	pthread_mutex_unlock(&srv_lock);
	return t;
}

static void reply(struct evhttp_request *req, int code, const char *body)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Status", b);
	evbuffer_free(b);
}

static void slow_fire(evutil_socket_t fd, short what, void *arg)
{
	struct slow_reply *s = arg;
	pthread_mutex_lock(&srv_lock);
	slow_now--;
	pthread_mutex_unlock(&srv_lock);
	s->done = true;
	reply(s->req, 200, "slow");
}

static void handle(struct evhttp_request *req, void *arg)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	int n = hit(path);

	if (strcmp(path, "/ok") == 0) {
		const char *ua = evhttp_find_header(in, "User-Agent");
		const char *ae = evhttp_find_header(in, "Accept-Encoding");
		pthread_mutex_lock(&srv_lock);
		snprintf(seen_user_agent, sizeof(seen_user_agent), "%s", ua ? ua : "");
		snprintf(seen_accept_encoding, sizeof(seen_accept_encoding), "%s", ae ? ae : "");
		pthread_mutex_unlock(&srv_lock);
		reply(req, 200, "ok");
	} else if (strcmp(path, "/echo") == 0) {
		const char *x = evhttp_find_header(in, "X-Test");
		evhttp_add_header(out, "X-Echo", x ? x : "(none)");
		evhttp_add_header(out, "X-Method",
				  evhttp_request_get_command(req) == EVHTTP_REQ_PUT ? "PUT"
										    : "other");
		evhttp_send_reply(req, 200, "OK", evhttp_request_get_input_buffer(req));
	} else if (strcmp(path, "/flaky503") == 0) {
		reply(req, n == 1 ? 503 : 200, n == 1 ? "busy" : "recovered");
	} else if (strcmp(path, "/always503") == 0) {
		reply(req, 503, "busy");
	} else if (strcmp(path, "/always500") == 0) {
		reply(req, 500, "broken");
	} else if (strcmp(path, "/404") == 0) {
		reply(req, 404, "nope");
	} else if (strcmp(path, "/429") == 0) {
		if (n == 1)
			evhttp_add_header(out, "Retry-After", "1");
		reply(req, n == 1 ? 429 : 200, n == 1 ? "slow down" : "fine");
	} else if (strcmp(path, "/429long") == 0) {
		evhttp_add_header(out, "Retry-After", "120");
		reply(req, 429, "come back later");
	} else if (strcmp(path, "/stall") == 0) {
		/* never answered: evhttp frees the request when the connection goes */
	} else if (strcmp(path, "/big") == 0 || strcmp(path, "/bigchunked") == 0) {
		char *big = xmalloc(BIG_LEN);
		for (int i = 0; i < BIG_LEN; i++)
			big[i] = (char)('a' + i % 26);
		struct evbuffer *b = evbuffer_new();
		if (strcmp(path, "/big") == 0) {
			evbuffer_add(b, big, BIG_LEN);
			evhttp_send_reply(req, 200, "OK", b);
		} else {
			evhttp_send_reply_start(req, 200, "OK");
			for (int off = 0; off < BIG_LEN; off += 65536) {
				evbuffer_add(b, big + off, 65536);
				evhttp_send_reply_chunk(req, b);
			}
			evhttp_send_reply_end(req);
		}
		evbuffer_free(b);
		free(big);
	} else if (strcmp(path, "/slow") == 0) {
		pthread_mutex_lock(&srv_lock);
		if (++slow_now > slow_max)
			slow_max = slow_now;
		pthread_mutex_unlock(&srv_lock);
		cr_assert(nslow < (int)ARRAY_LEN(slow_replies));
		struct slow_reply *s = &slow_replies[nslow++];
		s->req = req;
		s->ev = evtimer_new(sbase, slow_fire, s);
		struct timeval tv = {0, 300000};
		evtimer_add(s->ev, &tv);
	} else {
		reply(req, 200, "ok");
	}
}

/* Raw listener: the first connection reads the request and closes without a byte of answer;
 * later ones answer 200 and close. */
static void raw_written(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void raw_event(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev);
}

static void raw_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	if (evbuffer_search(in, "\r\n\r\n", 4, NULL).pos < 0)
		return; /* the request head is not complete yet */
	evbuffer_drain(in, evbuffer_get_length(in));
	pthread_mutex_lock(&srv_lock);
	int n = ++raw_conns;
	pthread_mutex_unlock(&srv_lock);
	if (n == 1) {
		bufferevent_free(bev);
		return;
	}
	static const char ans[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecond";
	bufferevent_write(bev, ans, sizeof(ans) - 1);
	bufferevent_setcb(bev, NULL, raw_written, raw_event, NULL);
}

static void raw_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		       void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(sbase, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, raw_read, NULL, raw_event, NULL);
	bufferevent_enable(bev, EV_READ);
}

static struct evconnlistener *listen_any(evconnlistener_cb cb, int *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	/* a deep backlog: the concurrency test opens 200 connections at once */
	struct evconnlistener *l =
	    evconnlistener_new_bind(sbase, cb, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
				    1024, (struct sockaddr *)&sin, sizeof(sin));
	cr_assert(l);
	socklen_t slen = sizeof(sin);
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &slen);
	*port = ntohs(sin.sin_port);
	return l;
}

static void *srv_main(void *arg)
{
	event_base_loop(sbase, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* ---- the client side ---- */

static struct event_base *cbase;
static httpc_t *hc;
static ratelimit_t *rl;
static int pending;

struct result {
	int calls;
	long status;
	enum httpc_error err;
	char error[256];
	int attempts;
	double elapsed_ms;
	int64_t retry_after_ms;
	char body[64];
	size_t body_len;
	char echo[64];
	char method[16];
	bool body_ok;
};

static void url(char *buf, size_t size, const char *path)
{
	snprintf(buf, size, "http://127.0.0.1:%d%s", http_port, path);
}

static void on_result(const httpc_response_t *resp, void *arg)
{
	struct result *r = arg;
	r->calls++;
	r->status = resp->status;
	r->err = resp->err;
	snprintf(r->error, sizeof(r->error), "%s", resp->error ? resp->error : "");
	r->attempts = resp->attempts;
	r->elapsed_ms = resp->elapsed_ms;
	r->retry_after_ms = resp->retry_after_ms;
	r->body_len = resp->body_len;
	snprintf(r->body, sizeof(r->body), "%s", resp->body);
	const char *e = httpc_header(resp, "x-ECHO");
	snprintf(r->echo, sizeof(r->echo), "%s", e ? e : "");
	const char *m = httpc_header(resp, "X-Method");
	snprintf(r->method, sizeof(r->method), "%s", m ? m : "");
	/* /big bodies: the whole megabyte, intact */
	r->body_ok = resp->body_len == BIG_LEN && resp->body[BIG_LEN] == '\0';
	for (size_t i = 0; r->body_ok && i < resp->body_len; i += 4099)
		r->body_ok = resp->body[i] == (char)('a' + i % 26);
	if (--pending == 0)
		event_base_loopbreak(cbase);
}

static void give_up(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(cbase);
}

/* Run the client loop until every expected callback ran (or max_s passed). */
static double run(double max_s)
{
	struct event *guard = evtimer_new(cbase, give_up, NULL);
	struct timeval tv = {(time_t)max_s, (suseconds_t)((max_s - (double)(time_t)max_s) * 1e6)};
	evtimer_add(guard, &tv);
	int64_t t0 = now_us();
	if (pending > 0)
		event_base_dispatch(cbase);
	event_free(guard);
	return (double)(now_us() - t0) / 1000.0;
}

static void send_req(const httpc_request_t *req, struct result *res)
{
	cr_assert(httpc_send(hc, req, on_result, res));
	pending++;
}

static void get(const char *path, struct result *res, int max_retries, long timeout_ms)
{
	char u[128];
	url(u, sizeof(u), path);
	httpc_request_t req = {.url = u, .max_retries = max_retries, .timeout_ms = timeout_ms};
	send_req(&req, res);
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(evthread_use_pthreads(), 0);
	sbase = event_base_new();
	shttp = evhttp_new(sbase);
	evhttp_set_allowed_methods(shttp, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
					      EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(shttp, handle, NULL);
	cr_assert(evhttp_bind_listener(shttp, listen_any(NULL, &http_port)));
	raw_listener = listen_any(raw_accept, &raw_port);
	cr_assert_eq(pthread_create(&sthread, NULL, srv_main, NULL), 0);

	cbase = event_base_new();
	rl = ratelimit_new();
	hc = httpc_new(cbase, rl);
	/* Short backoff keeps retry tests quick; Retry-After still rules when present. */
	httpc_set_backoff(hc, 20, 200, 60000);
}

static void teardown(void)
{
	httpc_free(hc);
	ratelimit_free(rl);
	event_base_free(cbase);
	event_base_loopbreak(sbase);
	pthread_join(sthread, NULL);
	for (int i = 0; i < nslow; i++) {
		event_free(slow_replies[i].ev);
	}
	evconnlistener_free(raw_listener);
	evhttp_free(shttp);
	event_base_free(sbase);
	libevent_global_shutdown();
}

TestSuite(httpc, .init = setup, .fini = teardown, .timeout = 60);

/* ---- tests ---- */

Test(httpc, plain_get_and_request_defaults)
{
	struct result r = {0};
	get("/ok", &r, 0, 0);
	run(10);
	cr_assert_eq(r.calls, 1);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.err, HTTPC_OK);
	cr_expect_str_eq(r.body, "ok");
	cr_expect_eq(r.attempts, 1);
	cr_expect_eq(r.retry_after_ms, -1);
	pthread_mutex_lock(&srv_lock);
	cr_expect_str_eq(seen_user_agent, "sellerhub/1.0");
	cr_expect(strstr(seen_accept_encoding, "gzip") != NULL, "%s", seen_accept_encoding);
	pthread_mutex_unlock(&srv_lock);
	cr_expect_eq(httpc_in_flight(hc), 0);
}

Test(httpc, retries_a_503)
{
	struct result r = {0};
	get("/flaky503", &r, 0, 0);
	run(10);
	cr_assert_eq(r.calls, 1);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "recovered");
	cr_expect_eq(r.attempts, 2);
	cr_expect_eq(hits("/flaky503"), 2);
	struct httpc_stats st;
	httpc_stats(hc, &st);
	cr_expect_eq(st.requests, 1);
	cr_expect_eq(st.attempts, 2);
	cr_expect_eq(st.retries, 1);
	cr_expect_eq(st.failures, 0);
}

Test(httpc, gives_up_after_max_retries)
{
	struct result r = {0};
	get("/always503", &r, 2, 0);
	run(10);
	cr_assert_eq(r.calls, 1);
	cr_expect_eq(r.status, 503);
	cr_expect_eq(r.err, HTTPC_OK); /* an HTTP answer, not a transport failure */
	cr_expect_str_eq(r.body, "busy");
	cr_expect_eq(r.attempts, 3);
	cr_expect_eq(hits("/always503"), 3);
}

Test(httpc, waits_out_a_429_with_retry_after)
{
	ratelimit_configure(rl, "test:", 100, 10);
	struct result r = {0};
	char u[128];
	url(u, sizeof(u), "/429");
	httpc_request_t req = {.url = u, .limiter_key = "test:1:orders"};
	send_req(&req, &r);
	run(10);
	cr_assert_eq(r.calls, 1);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.attempts, 2);
	cr_assert_eq(hits("/429"), 2);
	int64_t gap = hit_at("/429", 1) - hit_at("/429", 0);
	cr_expect(gap >= 990000 && gap < 2000000, "gap %lld us", (long long)gap);
	cr_expect(r.elapsed_ms >= 1000 && r.elapsed_ms < 2000, "elapsed %.0f ms", r.elapsed_ms);
	struct httpc_stats st;
	httpc_stats(hc, &st);
	cr_expect_eq(st.throttled, 1);
}

Test(httpc, hands_back_a_429_with_a_long_retry_after)
{
	struct result r = {0};
	get("/429long", &r, 0, 0);
	double ms = run(10);
	cr_assert_eq(r.calls, 1);
	cr_expect_eq(r.status, 429);
	cr_expect_eq(r.attempts, 1);
	cr_expect_eq(r.retry_after_ms, 120000);
	cr_expect_eq(hits("/429long"), 1);
	cr_expect(ms < 1000, "%.0f ms", ms);
}

Test(httpc, never_retries_other_4xx)
{
	struct result r = {0};
	get("/404", &r, 3, 0);
	run(10);
	cr_assert_eq(r.calls, 1);
	cr_expect_eq(r.status, 404);
	cr_expect_eq(r.attempts, 1);
	cr_expect_eq(hits("/404"), 1);
}

Test(httpc, post_is_not_repeated_after_a_500_but_is_after_a_503)
{
	char u500[128], u503[128];
	url(u500, sizeof(u500), "/always500");
	url(u503, sizeof(u503), "/always503");
	struct result a = {0}, b = {0}, c = {0};
	httpc_request_t p500 = {.method = "POST", .url = u500, .body = "{}", .body_len = 2};
	httpc_request_t p503 = {
	    .method = "POST", .url = u503, .body = "{}", .body_len = 2, .max_retries = 1};
	httpc_request_t idem = {.method = "POST",
				.url = u500,
				.body = "{}",
				.body_len = 2,
				.max_retries = 2,
				.idempotent = true};
	send_req(&p500, &a);
	send_req(&p503, &b);
	run(10);
	cr_expect_eq(a.status, 500);
	cr_expect_eq(a.attempts, 1);
	cr_expect_eq(b.status, 503);
	cr_expect_eq(b.attempts, 2);
	cr_expect_eq(hits("/always500"), 1);
	send_req(&idem, &c);
	run(10);
	cr_expect_eq(c.attempts, 3);
	cr_expect_eq(hits("/always500"), 4);
}

Test(httpc, times_out_a_stalled_server)
{
	struct result r = {0};
	get("/stall", &r, -1, 300);
	run(10);
	cr_assert_eq(r.calls, 1);
	cr_expect_eq(r.status, 0);
	cr_expect_eq(r.err, HTTPC_ERR_TIMEOUT);
	cr_expect(strstr(r.error, "timed out") != NULL, "error: %s", r.error);
	cr_expect(r.elapsed_ms >= 290 && r.elapsed_ms < 1500, "elapsed %.0f ms", r.elapsed_ms);
	cr_expect_eq(r.attempts, 1);
	struct httpc_stats st;
	httpc_stats(hc, &st);
	cr_expect_eq(st.timeouts, 1);
	cr_expect_eq(st.failures, 1);
}

Test(httpc, retries_a_timeout)
{
	struct result r = {0};
	get("/stall", &r, 1, 200);
	run(10);
	cr_assert_eq(r.calls, 1);
	cr_expect_eq(r.err, HTTPC_ERR_TIMEOUT);
	cr_expect_eq(r.attempts, 2);
	cr_expect_eq(hits("/stall"), 2);
	cr_expect(r.elapsed_ms >= 400 && r.elapsed_ms < 2000, "elapsed %.0f ms", r.elapsed_ms);
}

Test(httpc, caps_the_response_size)
{
	char u1[128], u2[128];
	url(u1, sizeof(u1), "/big");
	url(u2, sizeof(u2), "/bigchunked");
	struct result a = {0}, b = {0}, ok = {0}, okc = {0};
	httpc_request_t capped = {.url = u1, .max_response = 64 * 1024};
	httpc_request_t capped_chunked = {.url = u2, .max_response = 64 * 1024};
	httpc_request_t exact = {.url = u1, .max_response = BIG_LEN};
	httpc_request_t exact_chunked = {.url = u2, .max_response = BIG_LEN};
	send_req(&capped, &a);
	send_req(&capped_chunked, &b);
	send_req(&exact, &ok);
	send_req(&exact_chunked, &okc);
	run(10);
	cr_expect_eq(a.err, HTTPC_ERR_TOO_LARGE);
	cr_expect_str_eq(a.error, "response too large");
	cr_expect_eq(a.status, 0);
	cr_expect_eq(a.body_len, 0);
	cr_expect_eq(a.attempts, 1);
	cr_expect_eq(b.err, HTTPC_ERR_TOO_LARGE);
	cr_expect_str_eq(b.error, "response too large");
	cr_expect_eq(b.attempts, 1);
	/* a body of exactly max_response is fine, with or without Content-Length */
	cr_expect_eq(ok.status, 200);
	cr_expect(ok.body_ok);
	cr_expect_eq(okc.status, 200);
	cr_expect(okc.body_ok);
	struct httpc_stats st;
	httpc_stats(hc, &st);
	cr_expect_eq(st.too_large, 2);
}

Test(httpc, retries_a_connection_closed_without_answer)
{
	char u[128];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", raw_port);
	struct result r = {0};
	httpc_request_t req = {.url = u};
	send_req(&req, &r);
	run(10);
	cr_assert_eq(r.calls, 1);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "second");
	cr_expect_eq(r.attempts, 2);
	cr_expect_eq(raw_conns, 2);
}

Test(httpc, retries_connection_refused_then_fails)
{
	/* a port that was just free: nothing listens there */
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t len = sizeof(sin);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	char u[128];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", ntohs(sin.sin_port));
	struct result g = {0}, p = {0};
	httpc_request_t get_req = {.url = u, .max_retries = 2};
	/* even a POST is retried: the request never left */
	httpc_request_t post_req = {.method = "POST", .url = u, .max_retries = 2};
	send_req(&get_req, &g);
	send_req(&post_req, &p);
	run(10);
	close(fd);
	cr_expect_eq(g.err, HTTPC_ERR_CONNECT);
	cr_expect_eq(g.status, 0);
	cr_expect_eq(g.attempts, 3);
	cr_expect_eq(p.err, HTTPC_ERR_CONNECT);
	cr_expect_eq(p.attempts, 3);
}

Test(httpc, copies_request_memory)
{
	char *u = xmalloc(128), *body = xstrdup("{\"hello\":\"world\"}");
	char *h1 = xstrdup("X-Test: abc123");
	const char **hdrs = xcalloc(2, sizeof(*hdrs));
	hdrs[0] = h1;
	url(u, 128, "/echo");
	httpc_request_t req = {
	    .method = "PUT", .url = u, .headers = hdrs, .body = body, .body_len = strlen(body)};
	struct result r = {0};
	send_req(&req, &r);
	/* the caller's memory goes away before the request is even started */
	memset(body, 'X', strlen(body));
	memset(h1, 'Y', strlen(h1));
	memset(u, 'Z', 127);
	free(body);
	free(h1);
	free(hdrs);
	free(u);
	run(10);
	cr_assert_eq(r.calls, 1);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "{\"hello\":\"world\"}");
	cr_expect_str_eq(r.echo, "abc123");
	cr_expect_str_eq(r.method, "PUT");
}

Test(httpc, rejects_invalid_requests)
{
	struct result r = {0};
	httpc_request_t none = {0}, ftp = {.url = "ftp://127.0.0.1/x"}, junk = {.url = "::::"};
	cr_expect_not(httpc_send(hc, &none, on_result, &r));
	cr_expect_not(httpc_send(hc, &ftp, on_result, &r));
	cr_expect_not(httpc_send(hc, &junk, on_result, &r));
	cr_expect_eq(httpc_in_flight(hc), 0);
	httpc_free(hc);
	hc = NULL;
	cr_expect_eq(r.calls, 0);
}

Test(httpc, keeps_many_requests_in_flight)
{
	httpc_set_max_host_connections(hc, 0);
	struct result *rs = xcalloc(200, sizeof(*rs));
	for (int i = 0; i < 200; i++)
		get("/slow", &rs[i], 0, 0);
	cr_expect_eq(httpc_in_flight(hc), 200);
	double ms = run(20);
	int ok = 0;
	for (int i = 0; i < 200; i++)
		ok += rs[i].calls == 1 && rs[i].status == 200;
	free(rs);
	cr_expect_eq(ok, 200);
	pthread_mutex_lock(&srv_lock);
	int max = slow_max;
	pthread_mutex_unlock(&srv_lock);
	cr_expect_geq(max, 50, "server saw at most %d at once", max);
	/* overlapping: 200 answers of 300 ms each in far less than 200 * 300 ms */
	cr_expect_lt(ms, 5000);
	cr_expect_eq(httpc_in_flight(hc), 0);
}

Test(httpc, respects_the_per_host_connection_cap)
{
	struct result *rs = xcalloc(64, sizeof(*rs));
	for (int i = 0; i < 64; i++)
		get("/slow", &rs[i], 0, 0);
	double ms = run(20);
	int ok = 0;
	for (int i = 0; i < 64; i++)
		ok += rs[i].status == 200;
	free(rs);
	cr_expect_eq(ok, 64);
	pthread_mutex_lock(&srv_lock);
	int max = slow_max;
	pthread_mutex_unlock(&srv_lock);
	cr_expect_eq(max, 16, "server saw %d at once", max);
	/* 64 / 16 = 4 rounds of 300 ms */
	cr_expect(ms >= 1150 && ms < 4000, "%.0f ms", ms);
}

Test(httpc, paces_a_rate_limited_key)
{
	ratelimit_configure(rl, "paced:", 10, 5);
	char u[128];
	url(u, sizeof(u), "/paced");
	struct result rs[20] = {0}, other = {0};
	httpc_request_t req = {.url = u, .limiter_key = "paced:1:items"};
	for (int i = 0; i < 20; i++)
		send_req(&req, &rs[i]);
	/* another account has its own bucket and is not stuck behind the first */
	httpc_request_t req2 = {.url = u, .limiter_key = "paced:2:items"};
	send_req(&req2, &other);
	double ms = run(10);
	for (int i = 0; i < 20; i++)
		cr_expect_eq(rs[i].status, 200);
	/* waiters get their tokens first come, first served */
	for (int i = 1; i < 20; i++)
		cr_expect_leq(rs[i - 1].elapsed_ms, rs[i].elapsed_ms + 5, "request %d overtook %d",
			      i, i - 1);
	cr_expect_eq(other.status, 200);
	cr_expect(other.elapsed_ms < 300, "other key waited %.0f ms", other.elapsed_ms);
	/* 5 at once, then one every 100 ms: the 20th starts at 1.5 s */
	cr_expect(ms >= 1400 && ms < 2300, "%.0f ms", ms);
	cr_assert_eq(hits("/paced"), 21);
	int64_t t0 = hit_at("/paced", 0);
	int early = 0;
	for (int k = 0; k < 21; k++)
		early += hit_at("/paced", k) - t0 < 250000;
	cr_expect_leq(early, 8, "%d arrivals in the first 250 ms", early);
	struct httpc_stats st;
	httpc_stats(hc, &st);
	cr_expect_eq(st.ratelimit_waits, 15);
}

/* ---- shutdown and re-entrancy ---- */

static void free_now(evutil_socket_t fd, short what, void *arg)
{
	httpc_free(hc);
	hc = NULL;
}

Test(httpc, free_fails_everything_in_flight_once)
{
	ratelimit_configure(rl, "slowkey:", 1, 1);
	struct result rs[12] = {0};
	for (int i = 0; i < 10; i++)
		get("/stall", &rs[i], 0, 0);
	char u[128];
	url(u, sizeof(u), "/ok");
	httpc_request_t limited = {.url = u, .limiter_key = "slowkey:1:x"};
	send_req(&limited, &rs[10]); /* takes the only token */
	send_req(&limited, &rs[11]); /* waits a second for the next one */
	cr_expect_eq(httpc_in_flight(hc), 12);
	struct event *t = evtimer_new(cbase, free_now, NULL);
	struct timeval tv = {0, 200000};
	evtimer_add(t, &tv);
	run(10);
	event_free(t);
	for (int i = 0; i < 10; i++) {
		cr_expect_eq(rs[i].calls, 1);
		cr_expect_eq(rs[i].status, 0);
		cr_expect_eq(rs[i].err, HTTPC_ERR_SHUTDOWN);
		cr_expect_str_eq(rs[i].error, "shutting down");
	}
	cr_expect_eq(rs[10].status, 200);
	cr_expect_eq(rs[11].calls, 1);
	cr_expect_eq(rs[11].err, HTTPC_ERR_SHUTDOWN);
	cr_expect_eq(hits("/ok"), 1);
}

struct chain {
	int calls, sends_refused, shutdowns;
	int remaining;
};
static struct chain chain;

static void on_shutdown_resend(const httpc_response_t *resp, void *arg)
{
	chain.calls++;
	chain.shutdowns += resp->err == HTTPC_ERR_SHUTDOWN;
	char u[128];
	url(u, sizeof(u), "/ok");
	httpc_request_t req = {.url = u};
	/* the client is going away: a new request is refused, not silently lost */
	chain.sends_refused += !httpc_send(hc, &req, on_result, NULL);
	if (--pending == 0)
		event_base_loopbreak(cbase);
}

static void on_ok_then_free(const httpc_response_t *resp, void *arg)
{
	chain.calls++;
	cr_expect_eq(resp->status, 200);
	httpc_free(hc); /* from inside a callback: the others fail now, memory goes later */
	httpc_free(hc); /* and a second call while closing is harmless */
	hc = NULL;
	if (--pending == 0)
		event_base_loopbreak(cbase);
}

Test(httpc, free_from_inside_a_callback)
{
	char su[128], ou[128];
	url(su, sizeof(su), "/stall");
	url(ou, sizeof(ou), "/ok");
	httpc_request_t stall = {.url = su}, ok = {.url = ou};
	for (int i = 0; i < 5; i++) {
		cr_assert(httpc_send(hc, &stall, on_shutdown_resend, NULL));
		pending++;
	}
	cr_assert(httpc_send(hc, &ok, on_ok_then_free, NULL));
	pending++;
	run(10);
	cr_expect_eq(pending, 0);
	cr_expect_eq(chain.calls, 6);
	cr_expect_eq(chain.shutdowns, 5);
	cr_expect_eq(chain.sends_refused, 5);
}

static void on_chain(const httpc_response_t *resp, void *arg)
{
	chain.calls++;
	cr_expect_eq(resp->status, 200);
	if (chain.remaining-- > 0) {
		char u[128];
		url(u, sizeof(u), "/ok");
		httpc_request_t req = {.url = u};
		cr_expect(httpc_send(hc, &req, on_chain, NULL));
		return;
	}
	event_base_loopbreak(cbase);
}

Test(httpc, send_from_inside_a_callback)
{
	chain.remaining = 9;
	char u[128];
	url(u, sizeof(u), "/ok");
	httpc_request_t req = {.url = u};
	cr_assert(httpc_send(hc, &req, on_chain, NULL));
	pending = 1;
	run(10);
	cr_expect_eq(chain.calls, 10);
	cr_expect_eq(hits("/ok"), 10);
	cr_expect_eq(httpc_in_flight(hc), 0);
}
