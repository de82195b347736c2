/* Outgoing HTTP: libcurl multi on the caller's event_base, in the shape of curl's hiperfifo.c and
 * Kore's curl.c (socket callback -> one event per socket, timer callback -> one one-shot timer),
 * with rate limiting, retries and a response cap layered on top. */
#include "httpc.h"
#include "backoff.h"
#include "log.h"
#include "netaddr.h"
#include "util.h"

#include <curl/curl.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS	   15000
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_MAX_RESPONSE	   ((size_t)8 << 20)
#define DEFAULT_MAX_RETRIES	   3
/* Full jitter from 200 ms doubling up to 10 s: the first retry is quick enough for a blip, and
 * three retries spread over at most ~1.4 s on average, well inside a sync step's budget. */
#define DEFAULT_BACKOFF_BASE_MS 200
#define DEFAULT_BACKOFF_CAP_MS	10000
/* A Retry-After longer than this is not waited out on the loop: the answer goes back to the
 * caller (status and retry_after_ms) so the job is rescheduled instead of pinning a request,
 * and retrying earlier than the provider asked would only earn another 429. */
#define DEFAULT_RETRY_AFTER_CAP_MS 60000
/* Enough parallelism for a sync without looking like a flood to one provider; transfers past
 * it queue inside libcurl (HTTP/2 multiplexes many streams over each connection anyway). */
#define DEFAULT_MAX_HOST_CONNECTIONS 16
/* Idle keep-alive connections kept for reuse, across all hosts. */
#define MAX_CACHED_CONNECTIONS 64
#define DEFAULT_USER_AGENT     "sellerhub/1.0"

enum req_state {
	REQ_WAIT_LIMIT, /* queued on a waitq for a rate-limiter token */
	REQ_RUNNING,	/* easy handle added to the multi */
	REQ_WAIT_RETRY, /* timer armed: backoff or Retry-After before the next attempt */
	REQ_FAILING,	/* timer armed at 0: report a failure from the loop, never from send */
};

/* One httpc_send. Owned by the client from httpc_send until its callback has returned; the
 * struct event inside is armed only in REQ_WAIT_RETRY and REQ_FAILING. */
struct req {
	httpc_t *c;
	struct req *prev, *next; /* c->reqs: every request not yet called back */
	struct req *qnext;	 /* waitq order while REQ_WAIT_LIMIT */
	enum req_state state;
	struct event timer;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *limiter_key;
	char *method;
	char *host; /* for log lines: never the path or query, which may carry secrets */
	size_t max_response;
	int max_retries;
	bool unsafe; /* retry only when the request surely had no effect */
	httpc_cb cb;
	void *arg;
	int attempts;
	int64_t start_us;
	/* The current attempt: body, headers as "name\0value\0" pairs, curl's error text. */
	char *buf;
	size_t len, cap;
	char *hbuf;
	size_t hlen, hcap, nhdrs;
	bool too_large;
	bool refused; /* public_only: an internal address was not connected to */
	char errbuf[CURL_ERROR_SIZE];
	enum httpc_error fail_err;
	const char *fail_msg;
};

/* Requests waiting for a token of one limiter key, in arrival order, behind one timer: waking
 * only the head keeps the order fair and avoids every waiter polling the bucket. */
struct waitq {
	struct waitq *next;
	httpc_t *c;
	struct event timer;
	struct req *head, *tail;
	char key[];
};

/* A socket libcurl asked us to watch. */
struct sock {
	struct sock *prev, *next;
	httpc_t *c;
	struct event ev;
};

struct httpc {
	struct event_base *base;
	ratelimit_t *limiter;
	CURLM *multi;
	struct event timer; /* libcurl's one timeout */
	struct req *reqs;
	size_t nreqs;
	struct waitq *waitqs;
	struct sock *socks;
	struct httpc_stats stats;
	uint64_t rng;
	int64_t backoff_base_ms, backoff_cap_ms, retry_after_cap_ms;
	char *user_agent;
	/* Entry points (event callbacks, httpc_free) raise depth while user callbacks may be on
	 * the stack; httpc_free inside one only marks the client and the outermost frees it. */
	int depth;
	bool closing;
};

static void begin_attempt(struct req *r);

static struct timeval us_to_tv(int64_t us)
{
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000),
			     .tv_usec = (suseconds_t)(us % 1000000)};
	return tv;
}

static uint32_t rnd32(httpc_t *c)
{
	/* splitmix64: jitter only needs to decorrelate clients, not to be unpredictable. */
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* ---- libcurl multi <-> libevent ---- */

static void destroy(httpc_t *c);

static void enter(httpc_t *c)
{
	c->depth++;
}

/* After leave the client may be gone: callers touch nothing afterwards. */
static void leave(httpc_t *c)
{
	if (--c->depth == 0 && c->closing)
		destroy(c);
}

static void transfer_done(struct req *r, CURLcode res);

static void drain_messages(httpc_t *c)
{
	CURLMsg *m;
	int left;
	while (!c->closing && (m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		void *p = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
		transfer_done(p, m->data.result); /* m is invalid once the handle is removed */
	}
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	httpc_t *c = arg;
	int action =
	    ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	int running;
	enter(c);
	curl_multi_socket_action(c->multi, fd, action, &running);
	drain_messages(c);
	leave(c);
}

static void on_multi_timer(evutil_socket_t fd, short what, void *arg)
{
	httpc_t *c = arg;
	int running;
	enter(c);
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain_messages(c);
	leave(c);
}

static void sock_release(struct sock *s)
{
	event_del(&s->ev);
	if (s->prev)
		s->prev->next = s->next;
	else
		s->c->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: (re)arm one persistent event for what libcurl wants on s. */
static int curl_socket(CURL *easy, curl_socket_t fd, int what, void *cbp, void *sockp)
{
	httpc_t *c = cbp;
	struct sock *s = sockp;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_release(s);
		return 0;
	}
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->c = c;
		s->next = c->socks;
		if (c->socks)
			c->socks->prev = s;
		c->socks = s;
		curl_multi_assign(c->multi, fd, s);
	} else {
		event_del(&s->ev);
	}
	short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
			     ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
	event_assign(&s->ev, c->base, fd, kind, on_socket, c);
	event_add(&s->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one one-shot timer; -1 removes it, 0 fires it on the next turn
 * (libcurl must not be re-entered from inside its own callback). */
static int curl_timer(CURLM *multi, long timeout_ms, void *arg)
{
	httpc_t *c = arg;
	if (timeout_ms < 0) {
		evtimer_del(&c->timer);
	} else {
		struct timeval tv = us_to_tv((int64_t)timeout_ms * 1000);
		evtimer_add(&c->timer, &tv);
	}
	return 0;
}

/* ---- per-attempt capture ---- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	size_t len = size * n;
	if (len > r->max_response - r->len) {
		r->too_large = true;
		return 0; /* CURLE_WRITE_ERROR ends the transfer */
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		if (cap < r->len + len + 1)
			cap = r->len + len + 1;
		if (cap > r->max_response + 1)
			cap = r->max_response + 1;
		r->buf = xrealloc(r->buf, cap);
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	size_t len = size * n;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new status line (after a 1xx, or a retry inside libcurl): start over. */
		r->hlen = 0;
		r->nhdrs = 0;
		return len;
	}
	const char *colon = memchr(data, ':', len);
	if (!colon || colon == data)
		return len; /* the blank line ending the block, or a malformed line */
	const char *v = colon + 1, *end = data + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t nlen = (size_t)(colon - data), vlen = (size_t)(end - v);
	if (r->hlen + nlen + vlen + 2 > r->hcap) {
		r->hcap = (r->hcap ? r->hcap * 2 : 1024) + nlen + vlen + 2;
		r->hbuf = xrealloc(r->hbuf, r->hcap);
	}
	memcpy(r->hbuf + r->hlen, data, nlen);
	r->hlen += nlen;
	r->hbuf[r->hlen++] = '\0';
	memcpy(r->hbuf + r->hlen, v, vlen);
	r->hlen += vlen;
	r->hbuf[r->hlen++] = '\0';
	r->nhdrs++;
	return len;
}

static const char *find_header(const struct req *r, const char *name)
{
	const char *p = r->hbuf;
	for (size_t i = 0; i < r->nhdrs; i++) {
		const char *value = p + strlen(p) + 1;
		if (strcasecmp(p, name) == 0)
			return value;
		p = value + strlen(value) + 1;
	}
	return NULL;
}

/* ---- request lifecycle ---- */

static void req_unlink(struct req *r)
{
	httpc_t *c = r->c;
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	c->nreqs--;
}

static void req_free(struct req *r)
{
	event_del(&r->timer);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r->limiter_key);
	free(r->method);
	free(r->host);
	free(r->buf);
	free(r->hbuf);
	free(r);
}

/* Hand the outcome to the caller, exactly once: the request leaves the list before the
 * callback runs (so httpc_free inside it cannot fail it again) and is freed after it returns. */
static void finish(struct req *r, enum httpc_error err, const char *error, long status)
{
	httpc_t *c = r->c;
	req_unlink(r);
	struct httpc_hdr *hdrs = NULL;
	size_t nhdrs = 0;
	if (err == HTTPC_OK && r->nhdrs) {
		hdrs = xmalloc(r->nhdrs * sizeof(*hdrs));
		const char *p = r->hbuf;
		for (; nhdrs < r->nhdrs; nhdrs++) {
			hdrs[nhdrs].name = p;
			hdrs[nhdrs].value = p + strlen(p) + 1;
			p = hdrs[nhdrs].value + strlen(hdrs[nhdrs].value) + 1;
		}
	}
	const char *ra = err == HTTPC_OK ? find_header(r, "Retry-After") : NULL;
	httpc_response_t resp = {
	    .status = err == HTTPC_OK ? status : 0,
	    .body = err == HTTPC_OK && r->buf ? r->buf : "",
	    .body_len = err == HTTPC_OK ? r->len : 0,
	    .error = error,
	    .attempts = r->attempts,
	    .elapsed_ms = (double)(now_us() - r->start_us) / 1000.0,
	    .retry_after_ms = ra ? retry_after_ms(ra, wall_ms()) : -1,
	    .headers = hdrs,
	    .nheaders = nhdrs,
	    .err = err,
	};
	if (err == HTTPC_OK && r->buf)
		r->buf[r->len] = '\0';
	if (err != HTTPC_OK)
		c->stats.failures++;
	r->cb(&resp, r->arg);
	free(hdrs);
	req_free(r);
}

static void on_req_timer(evutil_socket_t fd, short what, void *arg)
{
	struct req *r = arg;
	httpc_t *c = r->c;
	enter(c);
	if (r->state == REQ_FAILING)
		finish(r, r->fail_err, r->fail_msg, 0);
	else if (r->state == REQ_WAIT_RETRY)
		begin_attempt(r);
	leave(c);
}

static void arm_req_timer(struct req *r, enum req_state state, int64_t delay_us)
{
	struct timeval tv = us_to_tv(delay_us);
	r->state = state;
	evtimer_add(&r->timer, &tv);
}

static void start_attempt(struct req *r)
{
	httpc_t *c = r->c;
	r->len = 0;
	r->hlen = 0;
	r->nhdrs = 0;
	r->too_large = false;
	r->refused = false;
	r->errbuf[0] = '\0';
	r->attempts++;
	c->stats.attempts++;
	r->state = REQ_RUNNING;
	CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
	if (mc != CURLM_OK) {
		r->fail_err = HTTPC_ERR_OTHER;
		r->fail_msg = curl_multi_strerror(mc);
		arm_req_timer(r, REQ_FAILING, 0);
	}
}

static struct waitq *waitq_find(httpc_t *c, const char *key)
{
	for (struct waitq *q = c->waitqs; q; q = q->next) {
		if (strcmp(q->key, key) == 0)
			return q;
	}
	return NULL;
}

static void waitq_free(struct waitq *q)
{
	httpc_t *c = q->c;
	for (struct waitq **pp = &c->waitqs; *pp; pp = &(*pp)->next) {
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	}
	event_del(&q->timer);
	free(q);
}

static void on_waitq_timer(evutil_socket_t fd, short what, void *arg)
{
	struct waitq *q = arg;
	httpc_t *c = q->c;
	enter(c);
	while (q->head) {
		int64_t wait = ratelimit_acquire(c->limiter, q->key, now_us());
		if (wait > 0) {
			struct timeval tv = us_to_tv(wait);
			evtimer_add(&q->timer, &tv);
			leave(c);
			return;
		}
		struct req *r = q->head;
		q->head = r->qnext;
		r->qnext = NULL;
		start_attempt(r); /* never calls back into user code, so q stays valid */
	}
	waitq_free(q);
	leave(c);
}

static void waitq_push(struct waitq *q, struct req *r)
{
	r->state = REQ_WAIT_LIMIT;
	r->qnext = NULL;
	if (q->head)
		q->tail->qnext = r;
	else
		q->head = r;
	q->tail = r;
	r->c->stats.ratelimit_waits++;
}

/* Take a limiter token (queueing behind earlier waiters for the same key), then start. */
static void begin_attempt(struct req *r)
{
	httpc_t *c = r->c;
	if (r->limiter_key && c->limiter) {
		struct waitq *q = waitq_find(c, r->limiter_key);
		if (q) {
			waitq_push(q, r);
			return;
		}
		int64_t wait = ratelimit_acquire(c->limiter, r->limiter_key, now_us());
		if (wait > 0) {
			size_t klen = strlen(r->limiter_key);
			q = xcalloc(1, sizeof(*q) + klen + 1);
			memcpy(q->key, r->limiter_key, klen + 1);
			q->c = c;
			evtimer_assign(&q->timer, c->base, on_waitq_timer, q);
			q->next = c->waitqs;
			c->waitqs = q;
			waitq_push(q, r);
			struct timeval tv = us_to_tv(wait);
			evtimer_add(&q->timer, &tv);
			return;
		}
	}
	start_attempt(r);
}

static enum httpc_error classify(CURLcode res)
{
	switch (res) {
	case CURLE_OPERATION_TIMEDOUT:
		return HTTPC_ERR_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		return HTTPC_ERR_CONNECT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return HTTPC_ERR_NETWORK;
	case CURLE_FILESIZE_EXCEEDED:
		return HTTPC_ERR_TOO_LARGE;
	default:
		return HTTPC_ERR_OTHER;
	}
}

/* Whether the request could not have reached the server's application: then repeating even a
 * POST is harmless. libcurl resets the pre-transfer time per attempt and sets it just before
 * sending, so zero means not a byte of the request went out. */
static bool never_sent(struct req *r)
{
	curl_off_t pretransfer = 0;
	curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	return pretransfer == 0;
}

static void transfer_done(struct req *r, CURLcode res)
{
	httpc_t *c = r->c;
	curl_multi_remove_handle(c->multi, r->easy);
	long status = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);

	enum httpc_error err = HTTPC_OK;
	const char *error = NULL;
	bool retryable = false;
	int64_t ra_ms = -1;
	if (res == CURLE_OK) {
		const char *ra = find_header(r, "Retry-After");
		ra_ms = ra ? retry_after_ms(ra, wall_ms()) : -1;
		if (status == 429) {
			c->stats.throttled++;
			if (r->limiter_key && c->limiter)
				ratelimit_throttled(c->limiter, r->limiter_key, now_us());
			retryable = true; /* a 429 was refused, so even a POST had no effect */
		} else if (status >= 500 && status <= 599) {
			/* 503 means "not handled, come back"; a 500/502/504 may have done it */
			retryable = !r->unsafe || status == 503;
		} else if (r->limiter_key && c->limiter) {
			ratelimit_succeeded(c->limiter, r->limiter_key);
		}
	} else {
		err = r->too_large ? HTTPC_ERR_TOO_LARGE
		      : r->refused ? HTTPC_ERR_REFUSED
				   : classify(res);
		if (err == HTTPC_ERR_REFUSED) {
			error = "refused: the host is at a private, loopback or link-local address";
		} else if (err == HTTPC_ERR_TOO_LARGE) {
			error = "response too large";
			c->stats.too_large++;
		} else {
			error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(res);
		}
		if (err == HTTPC_ERR_TIMEOUT)
			c->stats.timeouts++;
		retryable = (err == HTTPC_ERR_TIMEOUT || err == HTTPC_ERR_CONNECT ||
			     err == HTTPC_ERR_NETWORK) &&
			    (!r->unsafe || never_sent(r));
	}

	if (retryable && r->attempts <= r->max_retries && !c->closing) {
		int64_t delay_ms;
		if (ra_ms >= 0)
			delay_ms = ra_ms;
		else
			delay_ms = backoff_delay_ms(r->attempts, c->backoff_base_ms,
						    c->backoff_cap_ms, rnd32(c));
		if (ra_ms < 0 || ra_ms <= c->retry_after_cap_ms) {
			c->stats.retries++;
			if (log_enabled(LOG_INFO)) {
				char why[32];
				if (error)
					snprintf(why, sizeof(why), "curl error %d", (int)res);
				else
					snprintf(why, sizeof(why), "status %ld", status);
				log_info("httpc: %s %s: %s, retry %d in %lld ms", r->method,
					 r->host, why, r->attempts, (long long)delay_ms);
			}
			arm_req_timer(r, REQ_WAIT_RETRY, delay_ms * 1000);
			return;
		}
	}
	finish(r, err, error, status);
}

/* public_only's socket: libcurl asks for one per address it tries, after resolving, so a
 * name that resolves to an internal address is refused however the URL spelt it. */
static curl_socket_t open_public(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct req *r = arg;
	const unsigned char *bytes = NULL;
	if (a->family == AF_INET && a->addrlen >= sizeof(struct sockaddr_in))
		bytes = (const unsigned char *)&((struct sockaddr_in *)&a->addr)->sin_addr;
	else if (a->family == AF_INET6 && a->addrlen >= sizeof(struct sockaddr_in6))
		bytes = (const unsigned char *)&((struct sockaddr_in6 *)&a->addr)->sin6_addr;
	if (purpose != CURLSOCKTYPE_IPCXN || !bytes || netaddr_is_internal(a->family, bytes)) {
		r->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static bool method_is(const char *m, const char *name)
{
	return strcmp(m, name) == 0;
}

/* Host of url, or NULL when url is not an http(s) URL libcurl can parse. */
static char *url_host(const char *url)
{
	CURLU *u = curl_url();
	if (!u)
		die("out of memory");
	char *scheme = NULL, *host = NULL, *out = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0))
		out = xstrdup(host);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return out;
}

bool httpc_send(httpc_t *c, const httpc_request_t *in, httpc_cb cb, void *arg)
{
	if (!c || c->closing || !in || !in->url || !cb)
		return false;
	char *host = url_host(in->url);
	if (!host)
		return false;

	struct req *r = xcalloc(1, sizeof(*r));
	r->c = c;
	r->host = host;
	r->cb = cb;
	r->arg = arg;
	r->start_us = now_us();
	r->method = xstrdup(in->method ? in->method : "GET");
	r->max_response = in->max_response ? in->max_response : DEFAULT_MAX_RESPONSE;
	r->max_retries = in->max_retries < 0 ? 0
			 : in->max_retries   ? in->max_retries
					     : DEFAULT_MAX_RETRIES;
	r->unsafe =
	    (method_is(r->method, "POST") || method_is(r->method, "PATCH")) && !in->idempotent;
	r->limiter_key = in->limiter_key ? xstrdup(in->limiter_key) : NULL;
	evtimer_assign(&r->timer, c->base, on_req_timer, r);

	CURL *e = r->easy = curl_easy_init();
	if (!e)
		die("curl_easy_init failed");
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_URL, in->url); /* libcurl copies string options */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(e, CURLOPT_USERAGENT, in->user_agent ? in->user_agent : c->user_agent);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
			 in->timeout_ms > 0 ? in->timeout_ms : DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 in->connect_timeout_ms > 0 ? in->connect_timeout_ms
						    : DEFAULT_CONNECT_TIMEOUT_MS);
	/* Refuse early when Content-Length already says too much; on_body catches the rest. */
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_response);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	if (in->public_only) {
		curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_public);
		curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r);
		/* A kept connection was checked for its own request only; a proxy would connect
		 * on our behalf wherever the URL says. */
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	}

	bool has_expect = false;
	for (const char *const *h = in->headers; h && *h; h++) {
		has_expect |= strncasecmp(*h, "Expect:", 7) == 0;
		r->headers = curl_slist_append(r->headers, *h);
		if (!r->headers)
			die("out of memory");
	}
	/* libcurl would wait up to a second for "100 Continue" before large bodies. */
	if (!has_expect && !(r->headers = curl_slist_append(r->headers, "Expect:")))
		die("out of memory");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);

	if (method_is(r->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (in->body || method_is(r->method, "POST")) {
		/* The caller's buffer may be gone after we return: keep our own copy. */
		r->body = xmalloc(in->body_len + 1);
		if (in->body_len)
			memcpy(r->body, in->body, in->body_len);
		r->body[in->body_len] = '\0';
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)in->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		if (!method_is(r->method, "POST"))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	} else if (!method_is(r->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}

	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	c->nreqs++;
	c->stats.requests++;
	begin_attempt(r);
	return true;
}

httpc_t *httpc_new(struct event_base *base, ratelimit_t *limiter)
{
	/* Reference-counted and thread-safe in libcurl >= 7.84; paired in destroy. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init failed");
	httpc_t *c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->limiter = limiter;
	c->rng = (uint64_t)now_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
	c->backoff_base_ms = DEFAULT_BACKOFF_BASE_MS;
	c->backoff_cap_ms = DEFAULT_BACKOFF_CAP_MS;
	c->retry_after_cap_ms = DEFAULT_RETRY_AFTER_CAP_MS;
	c->user_agent = xstrdup(DEFAULT_USER_AGENT);
	evtimer_assign(&c->timer, base, on_multi_timer, c);
	c->multi = curl_multi_init();
	if (!c->multi)
		die("curl_multi_init failed");
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)DEFAULT_MAX_HOST_CONNECTIONS);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)MAX_CACHED_CONNECTIONS);
	return c;
}

static void destroy(httpc_t *c)
{
	while (c->waitqs)
		waitq_free(c->waitqs);
	/* Closing cached connections may call curl_socket(REMOVE); whatever it leaves is ours. */
	curl_multi_cleanup(c->multi);
	while (c->socks)
		sock_release(c->socks);
	event_del(&c->timer);
	free(c->user_agent);
	free(c);
	curl_global_cleanup();
}

void httpc_free(httpc_t *c)
{
	if (!c || c->closing)
		return;
	c->closing = true;
	enter(c);
	while (c->waitqs)
		waitq_free(c->waitqs);
	while (c->reqs) {
		struct req *r = c->reqs;
		if (r->state == REQ_RUNNING)
			curl_multi_remove_handle(c->multi, r->easy);
		event_del(&r->timer);
		finish(r, HTTPC_ERR_SHUTDOWN, "shutting down", 0);
	}
	leave(c);
}

const char *httpc_header(const httpc_response_t *resp, const char *name)
{
	for (size_t i = 0; i < resp->nheaders; i++) {
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	}
	return NULL;
}

size_t httpc_in_flight(const httpc_t *c)
{
	return c->nreqs;
}

void httpc_stats(const httpc_t *c, struct httpc_stats *out)
{
	*out = c->stats;
	out->in_flight = c->nreqs;
}

void httpc_set_backoff(httpc_t *c, int64_t base_ms, int64_t cap_ms, int64_t retry_after_cap_ms)
{
	c->backoff_base_ms = base_ms;
	c->backoff_cap_ms = cap_ms;
	c->retry_after_cap_ms = retry_after_cap_ms;
}

void httpc_set_max_host_connections(httpc_t *c, long n)
{
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
}

void httpc_set_user_agent(httpc_t *c, const char *ua)
{
	free(c->user_agent);
	c->user_agent = xstrdup(ua);
}

void httpc_form_add(char *buf, size_t size, const char *name, const char *value)
{
	char *enc = evhttp_encode_uri(value ? value : "");
	size_t n = strlen(buf);
	snprintf(buf + n, size - n, "%s%s=%s", n ? "&" : "", name, enc ? enc : "");
	if (enc) {
		explicit_bzero(enc, strlen(enc));
		free(enc);
	}
}
