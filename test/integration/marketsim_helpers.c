/* Helpers shared by the marketsim tests. */
#include "marketsim_helpers.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

void msh_read_app(const h_proc_t *p, msh_app_t *app)
{
	h_resp_t r = h_http("GET", h_url(p, "/_sim/sellers"), NULL, NULL);
	cr_assert_eq(r.status, 200);
	json_t *a = json_object_get(r.json, "app");
	snprintf(app->client_id, sizeof(app->client_id), "%s", msh_str(a, "client_id"));
	snprintf(app->client_secret, sizeof(app->client_secret), "%s", msh_str(a, "client_secret"));
	json_t *sellers = json_object_get(r.json, "sellers");
	app->n_sellers = 0;
	for (size_t i = 0; i < json_array_size(sellers) && i < 16; i++)
		app->sellers[app->n_sellers++] =
		    json_integer_value(json_object_get(json_array_get(sellers, i), "id"));
	h_resp_free(&r);
}

void msh_start(h_proc_t *p, msh_app_t *app, const char *const extra_args[])
{
	cr_assert(h_marketsim_start(p, extra_args), "marketsim did not start");
	if (app)
		msh_read_app(p, app);
}

void msh_stop(h_proc_t *p)
{
	int st = h_proc_stop(p, SIGTERM);
	cr_assert_eq(st, 0, "marketsim exited with %d (log: %s)", st, p->log_path);
}

const char *msh_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	cr_assert(s, "expected a string at %s", key);
	return s;
}

const char *msh_authorize(const h_proc_t *p, const msh_app_t *app, int64_t seller,
			  const char *challenge)
{
	static char code[128];
	char path[1024];
	snprintf(path, sizeof(path),
		 "/authorization?response_type=code&client_id=%s&redirect_uri=http://app.test/cb"
		 "&state=st4te&seller=%lld%s%s%s",
		 app->client_id, (long long)seller, challenge ? "&code_challenge=" : "",
		 challenge ? challenge : "", challenge ? "&code_challenge_method=S256" : "");
	h_resp_t r = h_http("GET", h_url(p, path), NULL, NULL);
	cr_assert_eq(r.status, 302, "authorization answered %ld: %s", r.status, r.body);
	const char *loc = h_header(&r, "Location");
	cr_assert(loc && strncmp(loc, "http://app.test/cb?code=TG-", 27) == 0, "Location: %s", loc);
	const char *c = strstr(loc, "code=") + 5;
	size_t n = strcspn(c, "&");
	snprintf(code, sizeof(code), "%.*s", (int)n, c);
	cr_assert(strstr(loc, "&state=st4te"), "state is echoed: %s", loc);
	h_resp_free(&r);
	return code;
}

h_resp_t msh_token(const h_proc_t *p, const char *form)
{
	const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded",
			     "Accept: application/json", NULL};
	return h_http("POST", h_url(p, "/oauth/token"), form, hdr);
}

void msh_login(const h_proc_t *p, const msh_app_t *app, int64_t seller, msh_tokens_t *t)
{
	const char *code = msh_authorize(p, app, seller, NULL);
	char form[1024];
	snprintf(form, sizeof(form),
		 "grant_type=authorization_code&client_id=%s&client_secret=%s&code=%s"
		 "&redirect_uri=http://app.test/cb",
		 app->client_id, app->client_secret, code);
	h_resp_t r = msh_token(p, form);
	cr_assert_eq(r.status, 200, "token: %s", r.body);
	snprintf(t->access, sizeof(t->access), "%s", msh_str(r.json, "access_token"));
	snprintf(t->refresh, sizeof(t->refresh), "%s", msh_str(r.json, "refresh_token"));
	t->user_id = json_integer_value(json_object_get(r.json, "user_id"));
	h_resp_free(&r);
}

h_resp_t msh_api(const h_proc_t *p, const char *method, const char *token, const char *path,
		 const char *body)
{
	char auth[300];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	const char *hdr[] = {"x-format-new: true", "Content-Type: application/json",
			     token ? auth : NULL, NULL};
	return h_http(method, h_url(p, path), body, hdr);
}

h_resp_t msh_get(const h_proc_t *p, const char *token, const char *path)
{
	return msh_api(p, "GET", token, path, NULL);
}

h_resp_t msh_sim(const h_proc_t *p, const char *method, const char *path, const char *json)
{
	const char *hdr[] = {"Content-Type: application/json", NULL};
	return h_http(method, h_url(p, path), json, hdr);
}

void msh_clock(const h_proc_t *p, const char *json)
{
	h_resp_t r = msh_sim(p, "POST", "/_sim/clock", json);
	cr_assert_eq(r.status, 200, "POST /_sim/clock %s: %ld %s", json, r.status, r.body);
	h_resp_free(&r);
}

void msh_clock_advance(const h_proc_t *p, long long ms)
{
	char body[64];
	snprintf(body, sizeof(body), "{\"advanceMs\":%lld}", ms);
	msh_clock(p, body);
}

void msh_assert_error(const h_resp_t *r, long status, const char *error)
{
	cr_assert_eq(r->status, status, "expected %ld, got %ld: %s", status, r->status, r->body);
	cr_assert(json_is_object(r->json), "error body is JSON: %s", r->body);
	cr_assert(json_is_string(json_object_get(r->json, "message")), "message: %s", r->body);
	cr_assert_str_eq(msh_str(r->json, "error"), error);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "status")), status);
	json_t *cause = json_object_get(r->json, "cause");
	cr_assert(json_is_array(cause) && json_array_size(cause) == 0, "cause is []");
}

/* ---- a tiny HTTP receiver on its own thread, for notifications ---- */

static void receiver_serve_one(msh_receiver_t *rc, int c)
{
	char buf[16384];
	size_t len = 0;
	for (;;) {
		struct pollfd pf = {c, POLLIN, 0};
		if (poll(&pf, 1, 2000) <= 0)
			return;
		ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
		char *hdr_end = strstr(buf, "\r\n\r\n");
		if (!hdr_end)
			continue;
		char *cl = strcasestr(buf, "Content-Length:");
		size_t want = cl ? (size_t)atoi(cl + 15) : 0;
		if (len >= (size_t)(hdr_end + 4 - buf) + want)
			break;
	}
	char *body = strstr(buf, "\r\n\r\n") + 4;
	pthread_mutex_lock(&rc->mu);
	int hit = rc->hits++;
	json_array_append_new(rc->bodies, json_loads(body, 0, NULL));
	pthread_mutex_unlock(&rc->mu);
	if (rc->delay_ms) /* the behaviour under test: a receiver slower than marketsim allows */
		usleep((useconds_t)rc->delay_ms * 1000);
	const char *resp =
	    hit < rc->fail_first
		? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n"
		  "Connection: close\r\n\r\nnope"
		: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
	ssize_t w = write(c, resp, strlen(resp));
	(void)w;
}

static void *receiver_main(void *arg)
{
	msh_receiver_t *rc = arg;
	while (!rc->stop) {
		struct pollfd pf = {rc->fd, POLLIN, 0};
		if (poll(&pf, 1, 50) <= 0)
			continue;
		int c = accept(rc->fd, NULL, NULL);
		if (c < 0)
			continue;
		receiver_serve_one(rc, c);
		close(c);
	}
	return NULL;
}

void msh_receiver_start(msh_receiver_t *rc, int fail_first, int delay_ms)
{
	memset(rc, 0, sizeof(*rc));
	rc->fail_first = fail_first;
	rc->delay_ms = delay_ms;
	rc->bodies = json_array();
	pthread_mutex_init(&rc->mu, NULL);
	rc->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert(bind(rc->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	listen(rc->fd, 16);
	socklen_t l = sizeof(sa);
	getsockname(rc->fd, (struct sockaddr *)&sa, &l);
	rc->port = ntohs(sa.sin_port);
	pthread_create(&rc->th, NULL, receiver_main, rc);
}

void msh_receiver_stop(msh_receiver_t *rc)
{
	rc->stop = 1;
	pthread_join(rc->th, NULL);
	close(rc->fd);
	json_decref(rc->bodies);
	pthread_mutex_destroy(&rc->mu);
}

int msh_receiver_hits(msh_receiver_t *rc)
{
	pthread_mutex_lock(&rc->mu);
	int n = rc->hits;
	pthread_mutex_unlock(&rc->mu);
	return n;
}

json_t *msh_receiver_body(msh_receiver_t *rc, int i)
{
	pthread_mutex_lock(&rc->mu);
	json_t *b = json_incref(json_array_get(rc->bodies, (size_t)i));
	pthread_mutex_unlock(&rc->mu);
	return b;
}
