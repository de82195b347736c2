/* The HTTP layer around evhttp: one generic callback turns an evhttp_request into a req_t, runs
 * the hooks and the route's handler, and renders every answer through one function so that the
 * envelope, the headers, the access log line and the metrics can never be forgotten. */
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>

#define MAX_HOOKS      4
#define STATUS_CLASSES 6 /* index 1..5 = 1xx..5xx */
/* What a held connection (hold, below) may buffer of a client's next requests, per connection:
 * past it reading pauses until the answer (evhttp then reads the rest), so it bounds memory, not
 * what a client may send. */
#define HELD_INPUT_MAX (64 * 1024)

typedef struct route_metrics {
	metric_t *count[STATUS_CLASSES];
	metric_t *latency[STATUS_CLASSES];
} route_metrics_t;

typedef struct hook {
	char prefix[32];
	http_hook_fn fn;
	bool auth_only;
} hook_t;

struct http_server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	const config_t *cfg;
	void *app;
	router_t *router;
	hook_t hooks[MAX_HOOKS];
	int nhooks;
	route_metrics_t unmatched;
	size_t active;	  /* requests whose handler has not answered */
	size_t unflushed; /* answered, reply not yet written out */
	bool draining;
	req_t *dispatching; /* the request in http_dispatch, until it is answered */
	struct event *drain_timer;
	void (*drained)(void *arg);
	void *drained_arg;
	uint64_t rng;
	netaddr_list_t *trusted; /* proxies whose X-Forwarded-For we believe */
};

/* Request ids need to be unique, not secret: xorshift seeded from getrandom is enough. */
static uint64_t next_random(http_server_t *s)
{
	uint64_t x = s->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return s->rng = x;
}

static void http_dispatch(struct evhttp_request *ev, void *arg);

static double in_flight_read(void *arg)
{
	const http_server_t *s = arg;
	return (double)s->active;
}

http_server_t *http_server_new(struct event_base *base, const config_t *cfg, void *app)
{
	http_server_t *s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->cfg = cfg;
	s->app = app;
	s->router = router_new();
	s->http = evhttp_new(base);
	if (!s->http)
		die("evhttp_new failed");
	char err[96];
	s->trusted = netaddr_list_parse(cfg->trusted_proxies, err, sizeof(err));
	if (!s->trusted)
		die("http: TRUSTED_PROXIES: %s", err); /* config_load validated it already */
	if (getrandom(&s->rng, sizeof(s->rng), 0) != sizeof(s->rng) || s->rng == 0)
		s->rng = (uint64_t)now_us() | 1;
	/* evhttp refuses bodies past its own cap with a bare page; ours answers in the envelope
	 * below it, so evhttp's cap only bounds memory for absurd bodies. */
	size_t hard_cap = cfg->max_body * 8 > 1024 * 1024 ? cfg->max_body * 8 : 1024 * 1024;
	evhttp_set_max_body_size(s->http, (ev_ssize_t)hard_cap);
	evhttp_set_max_headers_size(s->http, 64 * 1024);
	evhttp_set_timeout(s->http, cfg->http_idle_timeout_s);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
						EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
						EVHTTP_REQ_OPTIONS | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(s->http, http_dispatch, s);
	metrics_gauge_fn("sellerhub_http_requests_in_flight", "HTTP requests being handled", "",
			 in_flight_read, s);
	return s;
}

bool http_server_listen(http_server_t *s, const char *bind, int port)
{
	s->sock = evhttp_bind_socket_with_handle(s->http, bind, (ev_uint16_t)port);
	if (!s->sock)
		return false;
	/* Accepted sockets inherit TCP_NODELAY from the listener on Linux. Without it a reply
	 * sent in two writes waits for the client's delayed ACK (Nagle): 40 ms per list page. */
	int one = 1;
	evutil_socket_t fd = evhttp_bound_socket_get_fd(s->sock);
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		log_warn("http: TCP_NODELAY on the listener: %s", strerror(errno));
	return true;
}

static void free_route_data(route_t *route, void *arg)
{
	free(route->data);
	route->data = NULL;
}

void http_server_free(http_server_t *s)
{
	if (!s)
		return;
	if (s->drain_timer)
		event_free(s->drain_timer);
	evhttp_free(s->http);
	router_each(s->router, free_route_data, NULL);
	router_free(s->router);
	netaddr_list_free(s->trusted);
	free(s);
}

router_t *http_router(http_server_t *s)
{
	return s->router;
}

void http_route(http_server_t *s, const char *method, const char *pattern, http_handler_fn fn,
		unsigned flags, const char *summary)
{
	route_t *rt = router_add(s->router, method, pattern, (void *)fn, flags, summary);
	if (!rt->data)
		rt->data = xcalloc(1, sizeof(route_metrics_t));
}

void http_add_hook(http_server_t *s, const char *prefix, http_hook_fn hook, bool auth_routes_only)
{
	if (s->nhooks == MAX_HOOKS || strlen(prefix) >= sizeof(s->hooks[0].prefix))
		die("http: too many hooks or prefix too long");
	hook_t *h = &s->hooks[s->nhooks++];
	snprintf(h->prefix, sizeof(h->prefix), "%s", prefix);
	h->fn = hook;
	h->auth_only = auth_routes_only;
}

size_t http_in_flight(const http_server_t *s)
{
	return s->active + s->unflushed;
}

static void maybe_drained(http_server_t *s)
{
	if (!s->draining || s->active || s->unflushed || !s->drained)
		return;
	void (*cb)(void *) = s->drained;
	s->drained = NULL;
	if (s->drain_timer)
		event_del(s->drain_timer);
	cb(s->drained_arg);
}

static void drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	http_server_t *s = arg;
	log_warn("http: drain timed out with %zu requests unanswered and %zu replies unflushed",
		 s->active, s->unflushed);
	s->active = s->unflushed = 0;
	maybe_drained(s);
}

void http_server_drain(http_server_t *s, int timeout_s, void (*drained)(void *arg), void *arg)
{
	if (s->draining)
		return;
	s->draining = true;
	s->drained = drained;
	s->drained_arg = arg;
	if (s->sock) {
		evhttp_del_accept_socket(s->http, s->sock);
		s->sock = NULL;
	}
	s->drain_timer = evtimer_new(s->base, drain_timeout, s);
	struct timeval tv = {timeout_s, 0};
	evtimer_add(s->drain_timer, &tv);
	maybe_drained(s);
}

/* --- request accessors ------------------------------------------------------------------ */

const char *http_param(const req_t *r, const char *name)
{
	for (size_t i = 0; i < r->match.nparams; i++)
		if (strcmp(r->match.names[i], name) == 0)
			return r->match.values[i];
	return NULL;
}

const char *http_query(req_t *r, const char *name)
{
	if (!r->query_parsed) {
		r->query_parsed = true;
		const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->ev));
		TAILQ_INIT(&r->query_store);
		if (q && evhttp_parse_query_str(q, &r->query_store) == 0)
			r->query = &r->query_store;
		else if (q)
			r->query_bad = true;
	}
	return r->query ? evhttp_find_header(r->query, name) : NULL;
}

bool http_query_valid(req_t *r)
{
	http_query(r, "");
	return !r->query_bad;
}

const char *http_header(const req_t *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *http_body_raw(const req_t *r, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	*len = evbuffer_get_length(in);
	return *len ? (const char *)evbuffer_pullup(in, -1) : "";
}

void http_set_header(req_t *r, const char *name, const char *value)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, value);
}

/* --- envelopes ----------------------------------------------------------------------------- */

char *envelope_ok(json_t *data, const char *message)
{
	json_t *env = json_object();
	json_object_set_new(env, "success", json_true());
	json_object_set_new(env, "data", data ? data : json_null());
	if (message)
		json_object_set_new(env, "message", json_string(message));
	char *out = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	return out;
}

char *envelope_error(const char *code, const char *message, json_t *details)
{
	json_t *env = json_object();
	json_object_set_new(env, "success", json_false());
	json_object_set_new(env, "message", json_string(message));
	json_object_set_new(env, "code", json_string(code));
	json_object_set_new(env, "details", details ? details : json_array());
	char *out = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	return out;
}

json_t *http_problem(json_t *details, const char *field, const char *problem)
{
	if (!details)
		details = json_array();
	json_array_append_new(details, json_pack("{s:s, s:s}", "field", field, "problem", problem));
	return details;
}

/* --- answering ------------------------------------------------------------------------------ */

static void reply_complete(struct evhttp_request *ev, void *arg)
{
	http_server_t *s = arg;
	if (s->unflushed)
		s->unflushed--;
	maybe_drained(s);
}

static route_metrics_t *metrics_for(req_t *r)
{
	return r->route ? r->route->data : &r->srv->unmatched;
}

static void observe(req_t *r, int status, double seconds)
{
	static const char *const classes[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
	int c = status / 100;
	if (c < 1 || c > 5)
		c = 5;
	route_metrics_t *rm = metrics_for(r);
	if (!rm->count[c]) {
		char labels[256];
		const char *route = r->route ? r->route->pattern : "unmatched";
		snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%s\"", route, classes[c]);
		rm->count[c] = metrics_counter("sellerhub_http_requests_total",
					       "HTTP requests by route and status class", labels);
		rm->latency[c] = metrics_histogram("sellerhub_http_request_duration_seconds",
						   "HTTP request latency by route and status class",
						   labels, NULL, 0);
	}
	metric_inc(rm->count[c]);
	metric_observe(rm->latency[c], seconds);
}

/* Appends s, at most `room` bytes of it; the new end. */
static char *put(char *o, const char *s, size_t room)
{
	size_t n = strnlen(s, room);
	memcpy(o, s, n);
	return o + n;
}

static char *put_uint(char *o, unsigned long long v)
{
	char d[24];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*o++ = d[--n];
	return o;
}

/* One line per request, rendered by hand without printf: this runs for every request,
 * including /health. Each field is bounded, so the line always fits. */
static void access_log(req_t *r, int status, size_t bytes, double ms)
{
	if (!log_enabled(LOG_INFO))
		return;
	char ts[32], raw[400], path[512], line[1024];
	iso8601_utc(wall_ms(), ts, sizeof(ts));
	const char *uri = evhttp_request_get_uri(r->ev);
	size_t plen = strcspn(uri, "?"); /* never the query: it may carry codes or states */
	if (plen > sizeof(raw) - 1)
		plen = sizeof(raw) - 1;
	memcpy(raw, uri, plen);
	raw[plen] = '\0';
	log_escape(path, sizeof(path), raw);
	unsigned long long us = ms > 0 ? (unsigned long long)(ms * 1000 + 0.5) : 0;
	char *o = line;
	o = put(o, "{\"ts\":\"", 16);
	o = put(o, ts, 31);
	o = put(o, "\",\"level\":\"info\",\"msg\":\"request\",\"req_id\":\"", 64);
	o = put(o, r->id, 64);
	o = put(o, "\",\"method\":\"", 16);
	o = put(o, r->method, 16);
	o = put(o, "\",\"path\":\"", 16);
	o = put(o, path, sizeof(path) - 1);
	o = put(o, "\",\"status\":", 16);
	o = put_uint(o, (unsigned)status);
	o = put(o, ",\"ms\":", 8);
	o = put_uint(o, us / 1000);
	*o++ = '.';
	*o++ = (char)('0' + us / 100 % 10);
	*o++ = (char)('0' + us / 10 % 10);
	*o++ = (char)('0' + us % 10);
	o = put(o, ",\"bytes\":", 16);
	o = put_uint(o, bytes);
	o = put(o, ",\"ip\":\"", 16);
	o = put(o, r->client_ip, 64);
	if (r->tenant_id) {
		o = put(o, "\",\"tenant\":\"", 16);
		o = put(o, r->tenant_id, 40);
	}
	o = put(o, "\"}\n", 4);
	log_raw(line, (size_t)(o - line));
}

static void security_headers(req_t *r, struct evkeyvalq *h)
{
	evhttp_add_header(h, "X-Request-Id", r->id);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	if (strncmp(r->path, "/api/", 5) == 0 || strcmp(r->path, "/api") == 0)
		evhttp_add_header(h, "Cache-Control", "no-store");
}

/* Writes an answer evhttp has just queued, now. Left to the bufferevent, it goes out on the next
 * loop turn, after an epoll_ctl that asks for EPOLLOUT and another that drops it; written here,
 * evhttp's write callback runs at once (the request is done, reading resumes) and the pair
 * cancels out in libevent's changelist. The bufferevent keeps its output frozen between its own
 * writes, so the write thaws it as the bufferevent's write callback does. A partial write or an
 * error leaves the rest to the bufferevent, as before. */
static void write_now(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	evbuffer_unfreeze(out, 1);
	int n = evbuffer_write(out, bufferevent_getfd(bev));
	evbuffer_freeze(out, 1);
	/* Only for bytes evhttp has just queued: its write callback ends the request. */
	if (n > 0 && evbuffer_get_length(out) == 0)
		bufferevent_trigger(bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
}

/* evhttp's event callback (the same function for every connection), taken by hold. */
static bufferevent_event_cb evhttp_event;

/* A held connection's events. An end of input is a half-close as far as anyone can tell: the
 * client may still read its answer, so reading stops and the answer goes out as it would have
 * (a client that has gone makes the write fail, and evhttp frees the connection then). Anything
 * else (a reset, say) is evhttp's to handle: it frees the connection, and finish finds none. */
static void held_event(struct bufferevent *bev, short what, void *arg)
{
	if (what == (BEV_EVENT_EOF | BEV_EVENT_READING)) {
		bufferevent_disable(bev, EV_READ);
		return;
	}
	evhttp_event(bev, what, arg);
}

/* A request answered in a later turn (after a database round trip) keeps its connection
 * readable, as evhttp itself does while it writes an answer. evhttp stops reading while a
 * request is handled and starts again once the answer is out: an epoll_ctl each way, per
 * request. Held, the connection reads into its input buffer with no read callback (a pipelined
 * request waits there for evhttp, at most HELD_INPUT_MAX of it) and the idle timeout is off
 * until the answer, as it was with reading stopped. evhttp puts its own callbacks back when it
 * sends the answer. */
static void hold(const http_server_t *s, struct evhttp_connection *conn)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	bufferevent_event_cb eventcb;
	bufferevent_data_cb writecb;
	void *arg;
	bufferevent_getcb(bev, NULL, &writecb, &eventcb, &arg);
	if (eventcb != held_event)
		evhttp_event = eventcb;
	bufferevent_setcb(bev, NULL, writecb, held_event, arg);
	bufferevent_setwatermark(bev, EV_READ, 0, HELD_INPUT_MAX);
	struct timeval write_tv = {s->cfg->http_idle_timeout_s, 0};
	bufferevent_set_timeouts(bev, NULL, &write_tv);
	bufferevent_enable(bev, EV_READ);
}

static void release(const http_server_t *s, struct evhttp_connection *conn)
{
	bufferevent_setwatermark(evhttp_connection_get_bufferevent(conn), EV_READ, 0, 0);
	evhttp_connection_set_timeout(conn, s->cfg->http_idle_timeout_s);
}

static void finish(req_t *r, int status, const char *content_type, const char *body, size_t len)
{
	if (r->answered) {
		log_error("http: %s %s answered twice (req %s)", r->method, r->path, r->id);
		return;
	}
	r->answered = true;
	http_server_t *s = r->srv;
	if (s->dispatching == r)
		s->dispatching = NULL;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	if (content_type)
		evhttp_add_header(h, "Content-Type", content_type);
	security_headers(r, h);

	struct evbuffer *out = evhttp_request_get_output_buffer(r->ev);
	bool head = strcmp(r->method, "HEAD") == 0;
	if (body && len && !head)
		evbuffer_add(out, body, len);
	double ms = (double)(now_us() - r->start_us) / 1000.0;
	access_log(r, status, len, ms);
	observe(r, status, ms / 1000.0);

	struct evhttp_connection *conn = evhttp_request_get_connection(r->ev);
	if (conn)
		s->unflushed++;
	else
		evhttp_request_set_on_complete_cb(r->ev, NULL, NULL);
	if (s->draining && conn)
		evhttp_add_header(h, "Connection", "close");
	if (conn && r->held)
		release(s, conn);
	evhttp_send_reply(r->ev, status, NULL, NULL); /* frees r->ev when conn is NULL */
	if (conn)
		write_now(evhttp_connection_get_bufferevent(conn));

	if (r->query_parsed && r->query)
		evhttp_clear_headers(&r->query_store);
	json_decref(r->body);
	arena_free(r->arena); /* r lives in its own arena */
	s->active--;
	maybe_drained(s);
}

void http_reply(req_t *r, int status, const char *content_type, const char *body, size_t len)
{
	finish(r, status, content_type, body, len);
}

void http_ok(req_t *r, int status, json_t *data, const char *message)
{
	char *body = envelope_ok(data, message);
	finish(r, status, "application/json; charset=utf-8", body, strlen(body));
	free(body);
}

void http_error(req_t *r, int status, const char *code, const char *message, json_t *details)
{
	char *body = envelope_error(code, message, details);
	finish(r, status, "application/json; charset=utf-8", body, strlen(body));
	free(body);
}

void http_invalid(req_t *r, json_t *details)
{
	http_error(r, 400, "VALIDATION_FAILED", "The request has invalid fields.", details);
}

void http_redirect(req_t *r, int status, const char *location)
{
	http_set_header(r, "Location", location);
	finish(r, status, NULL, NULL, 0);
}

/* --- dispatch ------------------------------------------------------------------------------ */

static void request_id(req_t *r)
{
	const char *given = http_header(r, "X-Request-Id");
	if (given) {
		size_t n = strlen(given);
		bool ok = n > 0 && n < sizeof(r->id);
		for (size_t i = 0; ok && i < n; i++)
			ok = isalnum((unsigned char)given[i]) || strchr("-_.:", given[i]);
		if (ok) {
			memcpy(r->id, given, n + 1);
			return;
		}
	}
	uint64_t a = next_random(r->srv), b = next_random(r->srv);
	/* Shaped like a UUIDv4 so log tooling treats it as one. */
	snprintf(r->id, sizeof(r->id), "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
		 (unsigned)((b >> 48) & 0x3fff) | 0x8000,
		 (unsigned long long)(b & 0xffffffffffffULL));
}

static void peer_address(req_t *r)
{
	struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
	char *addr = NULL;
	ev_uint16_t port = 0;
	if (c)
		evhttp_connection_get_peer(c, &addr, &port);
	netaddr_client(r->srv->trusted, addr ? addr : "", http_header(r, "X-Forwarded-For"),
		       r->client_ip, sizeof(r->client_ip));
}

const char *http_method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	default:
		return "OTHER";
	}
}

/* An origin listed by name may send credentials; "*" admits any other origin without them
 * (a wildcard that also allowed credentials would let every site act as the signed-in user).
 * "null" (sandboxed frames, file: pages, some redirects) is never admitted, even when listed.
 * Returns 0 (refused), 1 (any origin, no credentials) or 2 (listed, with credentials). */
static int origin_allowed(const config_t *cfg, const char *origin)
{
	if (!*origin || strcmp(origin, "null") == 0)
		return 0;
	int found = 0;
	for (char **o = cfg->cors_origins; o && *o; o++) {
		if (strcmp(*o, origin) == 0)
			return 2;
		if (strcmp(*o, "*") == 0)
			found = 1;
	}
	return found;
}

/* Returns true when it answered (a preflight). */
static bool cors(req_t *r)
{
	const char *origin = http_header(r, "Origin");
	int allowed = origin ? origin_allowed(r->srv->cfg, origin) : 0;
	if (!allowed)
		return false;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	evhttp_add_header(h, "Access-Control-Allow-Origin", allowed == 2 ? origin : "*");
	if (allowed == 2) {
		evhttp_add_header(h, "Vary", "Origin");
		evhttp_add_header(h, "Access-Control-Allow-Credentials", "true");
	}
	evhttp_add_header(h, "Access-Control-Expose-Headers",
			  "X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, "
			  "RateLimit-Reset");
	if (strcmp(r->method, "OPTIONS") != 0 || !http_header(r, "Access-Control-Request-Method"))
		return false;
	evhttp_add_header(h, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
	evhttp_add_header(h, "Access-Control-Allow-Headers",
			  "Authorization, Content-Type, X-Request-Id");
	evhttp_add_header(h, "Access-Control-Max-Age", "600");
	finish(r, 204, NULL, NULL, 0);
	return true;
}

static bool is_json_type(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	static const char json[] = "application/json";
	if (strncasecmp(ct, json, sizeof(json) - 1) != 0)
		return false;
	char next = ct[sizeof(json) - 1];
	return next == '\0' || next == ';' || next == ' ';
}

/* Returns false when it answered with an error. */
static bool parse_body(req_t *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	size_t len = evbuffer_get_length(in);
	if (len == 0)
		return true;
	if (len > r->srv->cfg->max_body) {
		char msg[96];
		snprintf(msg, sizeof(msg), "The request body is larger than %zu bytes.",
			 r->srv->cfg->max_body);
		http_error(r, 413, "PAYLOAD_TOO_LARGE", msg, NULL);
		return false;
	}
	if (r->match.method->flags & ROUTE_NO_BODY)
		return true;
	if (!is_json_type(http_header(r, "Content-Type"))) {
		http_error(r, 415, "UNSUPPORTED_MEDIA_TYPE",
			   "The request body must be JSON (Content-Type: application/json).", NULL);
		return false;
	}
	json_error_t jerr;
	const char *data = (const char *)evbuffer_pullup(in, -1);
	json_t *body = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!body) {
		char problem[200];
		snprintf(problem, sizeof(problem), "%s at line %d, column %d", jerr.text, jerr.line,
			 jerr.column);
		http_error(r, 400, "INVALID_JSON", "The request body is not valid JSON.",
			   http_problem(NULL, "body", problem));
		return false;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		http_invalid(r, http_problem(NULL, "body", "must be a JSON object"));
		return false;
	}
	r->body = body;
	return true;
}

void http_continue(req_t *r)
{
	http_server_t *s = r->srv;
	while (r->stage < s->nhooks) {
		const hook_t *h = &s->hooks[r->stage++];
		size_t plen = strlen(h->prefix);
		if (strncmp(r->path, h->prefix, plen) != 0 ||
		    (r->path[plen] && r->path[plen] != '/'))
			continue;
		if (h->auth_only && !(r->match.method->flags & ROUTE_AUTH))
			continue;
		h->fn(r);
		return;
	}
	((http_handler_fn)r->match.method->handler)(r);
}

static void dispatch(http_server_t *s, struct evhttp_request *ev)
{
	arena_t *arena = arena_new();
	req_t *r = arena_calloc(arena, 1, sizeof(*r));
	r->arena = arena;
	r->ev = ev;
	r->srv = s;
	r->app = s->app;
	r->start_us = now_us();
	s->dispatching = r;
	r->method = http_method_name(evhttp_request_get_command(ev));
	s->active++;
	evhttp_request_set_on_complete_cb(ev, reply_complete, s);

	const char *uri = evhttp_request_get_uri(ev);
	size_t plen = strcspn(uri, "?#");
	char *path = arena_strndup(arena, uri, plen);
	char *decoded = arena_strdup(arena, path);
	bool path_ok = url_decode_inplace(decoded);
	r->path = decoded;
	request_id(r);
	peer_address(r);

	if (s->draining) {
		http_error(r, 503, "SHUTTING_DOWN", "The server is restarting; retry shortly.",
			   NULL);
		return;
	}
	if (cors(r))
		return;
	if (!path_ok) {
		http_error(r, 400, "BAD_PATH", "The request path is not valid.", NULL);
		return;
	}
	switch (router_match(s->router, r->method, path, &r->match)) {
	case ROUTER_NOT_FOUND:
		http_error(r, 404, "NOT_FOUND", "No such resource.", NULL);
		return;
	case ROUTER_METHOD_NOT_ALLOWED: {
		char allow[128];
		r->route = r->match.route;
		router_allow(r->match.route, allow, sizeof(allow));
		http_set_header(r, "Allow", allow);
		http_error(r, 405, "METHOD_NOT_ALLOWED", "This method is not allowed here.", NULL);
		return;
	}
	case ROUTER_FOUND:
		break;
	}
	r->route = r->match.route;
	if (!parse_body(r))
		return;
	http_continue(r);
}

static void http_dispatch(struct evhttp_request *ev, void *arg)
{
	http_server_t *s = arg;
	dispatch(s, ev);
	req_t *r = s->dispatching; /* still unanswered: the answer comes in a later turn */
	s->dispatching = NULL;
	struct evhttp_connection *conn = r ? evhttp_request_get_connection(ev) : NULL;
	if (conn) {
		r->held = true;
		hold(s, conn);
	}
}
