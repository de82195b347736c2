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
#include <event2/event_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_HOOKS      4
#define STATUS_CLASSES 6 /* index 1..5 = 1xx..5xx */
/* What a held connection (hold, below) may buffer of a client's next requests, per connection:
 * past it reading pauses until the answer (evhttp then reads the rest), so it bounds memory, not
 * what a client may send. */
#define HELD_INPUT_MAX (64 * 1024)
/* What a request head may be: past these it is refused (431, 414) before evhttp's own limits
 * (64 KiB) would answer with its HTML page. */
#define HEAD_MAX  (32 * 1024)
#define URL_MAX	  (8 * 1024)
#define LINE_KEEP 160 /* the start of each head line kept for the checks */
#define SWEEP_MS  250 /* how often the head and body deadlines are checked */
#define LINGER_MS 2000
/* Connection limits (see "limits" below). */
#define CONNS_CEILING	   10000 /* the default cap's largest value */
#define SHED_BATCH	   16 /* idle connections closed per accept that ran out of descriptors */
#define BACKOFF_MIN_MS	   10
#define BACKOFF_MAX_MS	   1000
#define PRESSURE_REPORT_MS 10000 /* at most one log line per this about the limits */
#define LISTEN_BACKLOG	   4096	 /* the kernel caps it at net.core.somaxconn */

typedef struct route_metrics {
	metric_t *count[STATUS_CLASSES];
	metric_t *latency[STATUS_CLASSES];
} route_metrics_t;

typedef struct hook {
	char prefix[32];
	http_hook_fn fn;
	bool auth_only;
} hook_t;

/* Why a connection was closed to make room. */
enum shed_reason { SHED_PER_ADDR, SHED_PROCESS, SHED_FD_LIMIT, SHED_REASONS };

/* What the limits did since the last report (one log line per PRESSURE_REPORT_MS). */
typedef struct pressure {
	size_t shed[SHED_REASONS], refused, accept_errors, pauses;
	int accept_errno;
	char addr[64]; /* the last address past its cap */
} pressure_t;

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
	/* Connections (see "connections" below): all of them in accept order, and by fd. */
	TAILQ_HEAD(, conn) conns;
	size_t nconns;
	struct conn **by_fd;
	size_t nby_fd;
	struct event *sweep;
	size_t hard_cap;		   /* the largest body evhttp takes */
	TAILQ_HEAD(, lingering) lingering; /* refused connections still being read out */
	/* Limits: connections per process and per client address, and accept's back-off. */
	size_t max_conns, max_per_addr;
	size_t nattached;    /* connections past conn_attach: what the process cap counts */
	struct peer **peers; /* client addresses with connections, hashed */
	size_t npeer_buckets, npeers;
	uint64_t peer_seed;
	struct evconnlistener *listener; /* evhttp's, NULL once draining */
	struct event *resume;		 /* accepting again after a pause */
	int backoff_ms;
	pressure_t pressure;
	int64_t next_report_ms;
	metric_t *shed_metric[SHED_REASONS], *refused_metric, *accept_errors_metric;
	http_server_t *next_server;  /* servers, to find one from evhttp's listener */
	TAILQ_HEAD(, http_sse) sses; /* event streams still being sent (http_sse_start) */
	size_t nsses;
	struct evbuffer *chunk; /* a stream's next chunk, handed to evhttp (which empties it) */
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
static struct bufferevent *conn_new(struct event_base *base, void *arg);
static void conn_sweep(evutil_socket_t fd, short what, void *arg);
static void conn_free_all(http_server_t *s);
static void conn_busy(http_server_t *s, struct evhttp_connection *evcon);
static void conn_idle(http_server_t *s, struct evhttp_connection *evcon);
static void limits_init(http_server_t *s);
static void accept_resume(evutil_socket_t fd, short what, void *arg);
static void accept_error(struct evconnlistener *lev, void *arg);
static void peers_free(http_server_t *s);
static void sses_close(http_server_t *s, bool end);

/* Every server of the process: evhttp's listener calls back with evhttp's pointer, not ours. */
static http_server_t *servers;

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
	s->hard_cap = hard_cap;
	evhttp_set_max_body_size(s->http, (ev_ssize_t)hard_cap);
	evhttp_set_max_headers_size(s->http, 64 * 1024);
	evhttp_set_timeout(s->http, cfg->http_idle_timeout_s);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
						EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
						EVHTTP_REQ_OPTIONS | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(s->http, http_dispatch, s);
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->lingering);
	TAILQ_INIT(&s->sses);
	s->chunk = evbuffer_new();
	evhttp_set_bevcb(s->http, conn_new, s);
	s->sweep = event_new(base, -1, EV_PERSIST, conn_sweep, s);
	struct timeval sweep_tv = {0, SWEEP_MS * 1000};
	event_add(s->sweep, &sweep_tv);
	metrics_gauge_fn("sellerhub_http_requests_in_flight", "HTTP requests being handled", "",
			 in_flight_read, s);
	limits_init(s);
	s->next_server = servers;
	servers = s;
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
	/* evhttp listens with a backlog of 128: under a flood of connections the queue fills, and
	 * a SYN it drops (a /health probe's, say) is sent again only a second later. */
	if (listen(fd, LISTEN_BACKLOG) != 0)
		log_warn("http: listen backlog: %s", strerror(errno));
	/* Without an error callback libevent logs every failed accept and the listener, still
	 * readable, fails again at once: out of descriptors, a core spins and the log fills. */
	s->listener = evhttp_bound_socket_get_listener(s->sock);
	evconnlistener_set_error_cb(s->listener, accept_error);
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
	event_free(s->sweep);
	event_free(s->resume);
	sses_close(s, false); /* evhttp_free frees their requests with their connections */
	evbuffer_free(s->chunk);
	evhttp_free(s->http);
	conn_free_all(s);
	peers_free(s);
	for (http_server_t **p = &servers; *p; p = &(*p)->next_server)
		if (*p == s) {
			*p = s->next_server;
			break;
		}
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
		s->listener = NULL; /* freed with the socket */
		event_del(s->resume);
	}
	sses_close(s, true); /* their clients reconnect (to another process) on their own */
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

void http_query_set(req_t *r, const char *q)
{
	r->query_parsed = true;
	TAILQ_INIT(&r->query_store);
	if (q && evhttp_parse_query_str(q, &r->query_store) == 0)
		r->query = &r->query_store;
	else if (q)
		r->query_bad = true;
}

const char *http_query(req_t *r, const char *name)
{
	if (!r->query_parsed)
		http_query_set(r, evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->ev)));
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
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	if (evcon)
		conn_idle(s, evcon);
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
static void access_log(req_t *r, const char *uri, int status, size_t bytes, double ms)
{
	if (!log_enabled(LOG_INFO))
		return;
	char ts[32], raw[400], path[512], line[1024];
	iso8601_utc(wall_ms(), ts, sizeof(ts));
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

/* The answer's first step, shared by every kind of answer: false when r was answered already. */
static bool answer_begin(req_t *r, const char *content_type)
{
	if (r->answered) {
		log_error("http: %s %s answered twice (req %s)", r->method, r->path, r->id);
		return false;
	}
	r->answered = true;
	if (r->srv->dispatching == r)
		r->srv->dispatching = NULL;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	if (content_type)
		evhttp_add_header(h, "Content-Type", content_type);
	security_headers(r, h);
	return true;
}

/* The answer's last step: the request's memory goes, and a draining server may be done. */
static void answer_free(req_t *r)
{
	http_server_t *s = r->srv;
	if (r->query_parsed && r->query)
		evhttp_clear_headers(&r->query_store);
	json_decref(r->body);
	arena_free(r->arena); /* r lives in its own arena */
	s->active--;
	maybe_drained(s);
}

static void finish(req_t *r, int status, const char *content_type, const char *body, size_t len)
{
	if (!answer_begin(r, content_type))
		return;
	http_server_t *s = r->srv;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);

	struct evbuffer *out = evhttp_request_get_output_buffer(r->ev);
	bool head = strcmp(r->method, "HEAD") == 0;
	if (body && len && !head)
		evbuffer_add(out, body, len);
	double ms = (double)(now_us() - r->start_us) / 1000.0;
	access_log(r, evhttp_request_get_uri(r->ev), status, len, ms);
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
	answer_free(r);
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

static void new_request_id(http_server_t *s, char id[65])
{
	uint64_t a = next_random(s), b = next_random(s);
	/* Shaped like a UUIDv4 so log tooling treats it as one. */
	snprintf(id, 65, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
		 (unsigned)((b >> 48) & 0x3fff) | 0x8000,
		 (unsigned long long)(b & 0xffffffffffffULL));
}

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
	new_request_id(r->srv, r->id);
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

json_t *http_body_parse(const char *data, size_t len, char *problem, size_t size)
{
	/* jansson lets a NUL byte through after a number ({"a":1\0,...}); JSON has none, and a
	 * raw body goes on as text (a webhook's is stored): one cut short at its NUL is a value
	 * PostgreSQL refuses, which would fail every notification committed with it. */
	const char *nul = memchr(data, '\0', len);
	if (nul) {
		snprintf(problem, size, "a NUL byte at offset %zu", (size_t)(nul - data));
		return NULL;
	}
	json_error_t jerr;
	json_t *body = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!body)
		snprintf(problem, size, "%s at line %d, column %d", jerr.text, jerr.line,
			 jerr.column);
	return body;
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
	const char *data = (const char *)evbuffer_pullup(in, -1);
	char problem[200];
	json_t *body = http_body_parse(data, len, problem, sizeof(problem));
	if (!body) {
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
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	if (evcon)
		conn_busy(s, evcon);
	dispatch(s, ev);
	req_t *r = s->dispatching; /* still unanswered: the answer comes in a later turn */
	s->dispatching = NULL;
	struct evhttp_connection *conn = r ? evhttp_request_get_connection(ev) : NULL;
	if (conn) {
		r->held = true;
		hold(s, conn);
	}
}

/* --- connections: what evhttp does not check ------------------------------------------------ */

/* evhttp (libevent 2.1) answers some problems itself, with an HTML page and no hook to change
 * it: request heads and URLs past its limits, bodies past its cap, methods it does not take,
 * malformed lines. It lets a client trickle a request head forever (every byte restarts its
 * read timeout), and takes two different Content-Length headers (the first wins), which behind
 * a proxy that believes the other one is request smuggling. So each connection also has a
 * conn_t. A callback on its input buffer sees every byte before evhttp parses it and checks the
 * request head as it streams in; on a problem it answers in the envelope itself (with a request
 * id, the security headers and an access-log line), drops what evhttp has not parsed, and
 * closes. One periodic sweep enforces the head and body deadlines (HTTP_HEADER_TIMEOUT,
 * HTTP_BODY_TIMEOUT). A connection's requests are checked one at a time: while one is being
 * handled (CONN_BUSY) the bytes behind it wait, and are checked once its answer is written. */

enum conn_state {
	CONN_IDLE,    /* between requests */
	CONN_HEAD,    /* a request head is arriving: since_ms is its first byte */
	CONN_BODY,    /* its body: since_ms is the end of the head */
	CONN_BUSY,    /* evhttp handed the request over: no deadline until the answer is out */
	CONN_REFUSED, /* answered by refuse(); closing */
};

typedef struct conn {
	TAILQ_ENTRY(conn) link;	     /* s->conns, in accept order */
	TAILQ_ENTRY(conn) peer_link; /* its address's connections, in accept order */
	struct peer *peer;	     /* NULL until attached */
	http_server_t *srv;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* NULL until attached */
	struct event ev;		 /* attach, then the close after a refusal */
	int fd;
	enum conn_state state;
	int64_t since_ms;
	/* the head being checked */
	size_t head_bytes, line_len, body_bytes;
	bool first_line, cr, has_cl, has_te, chunked;
	long long cl;
	char line[LINE_KEEP];
	char method[16], target[200]; /* for the access log of a refusal */
	/* the refusal */
	int status;
	const char *code, *message;
	bool quiet; /* refused for the limits: closed at once, without lingering */
	char ip[64];
	struct http_sse *sse;	    /* the event stream being sent on it, if any */
	struct http_stream *stream; /* a streamed answer in progress on it (below) */
} conn_t;

static void stream_gone(struct http_stream *st);

static conn_t *conn_of(http_server_t *s, struct evhttp_connection *evcon)
{
	int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	if (fd < 0 || (size_t)fd >= s->nby_fd)
		return NULL;
	conn_t *c = s->by_fd[fd];
	return c && c->evcon == evcon ? c : NULL;
}

/* After a refusal: keep reading (and dropping) what the client still sends for a moment, so
 * that closing with unread data does not reset the connection before it reads the answer. */
typedef struct lingering {
	TAILQ_ENTRY(lingering) link;
	http_server_t *srv;
	struct event *ev;
	int fd;
	int64_t until_ms;
	size_t dropped;
} lingering_t;

static void linger_read(evutil_socket_t fd, short what, void *arg)
{
	lingering_t *l = arg;
	char buf[4096];
	ssize_t n = 0;
	if (what & EV_READ)
		while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			l->dropped += (size_t)n;
	bool again = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	if (again && l->dropped < 1024 * 1024 && now_ms() < l->until_ms)
		return;
	TAILQ_REMOVE(&l->srv->lingering, l, link);
	event_free(l->ev);
	close(l->fd);
	free(l);
}

static void linger(http_server_t *s, int fd)
{
	struct event_base *base = s->base;
	int dfd = dup(fd);
	if (dfd < 0)
		return;
	lingering_t *l = xcalloc(1, sizeof(*l));
	l->srv = s;
	TAILQ_INSERT_TAIL(&s->lingering, l, link);
	l->fd = dfd;
	l->until_ms = now_ms() + LINGER_MS;
	l->ev = event_new(base, dfd, EV_READ | EV_PERSIST, linger_read, l);
	struct timeval tv = {LINGER_MS / 1000, (LINGER_MS % 1000) * 1000};
	event_add(l->ev, &tv);
}

static const char *reason(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Service Unavailable";
	}
}

/* Writes the refusal straight to the socket (it is small, the connection idle), logs it like
 * any answer, then lets evhttp free the connection. */
static void conn_close_now(evutil_socket_t fd, short what, void *arg)
{
	conn_t *c = arg;
	http_server_t *s = c->srv;
	req_t r = {.srv = s, .method = c->method[0] ? c->method : "OTHER", .start_us = now_us()};
	snprintf(r.client_ip, sizeof(r.client_ip), "%s", c->ip);
	new_request_id(s, r.id);
	char *body = envelope_error(c->code, c->message, NULL);
	size_t blen = strlen(body);
	char head[640];
	int hlen = snprintf(
	    head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\nX-Request-Id: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
	    "Referrer-Policy: no-referrer\r\nCache-Control: no-store\r\n%s\r\n",
	    c->status, reason(c->status), blen, r.id,
	    c->status == 405 ? "Allow: GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD\r\n" : "");
	struct iovec iov[2] = {{head, (size_t)hlen}, {body, blen}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	if (c->fd >= 0 && sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("http: refusal to %s not written: %s", c->ip, strerror(errno));
	free(body);
	access_log(&r, c->target[0] ? c->target : "-", c->status, blen, 0);
	observe(&r, c->status, 0);
	if (c->fd >= 0 && !c->quiet)
		linger(s, c->fd);
	evhttp_connection_free(c->evcon); /* runs conn_closed, which frees c */
}

static void refuse(conn_t *c, int status, const char *code, const char *message)
{
	if (c->state == CONN_REFUSED)
		return;
	c->state = CONN_REFUSED;
	c->status = status;
	c->code = code;
	c->message = message;
	/* Nothing more reaches evhttp: what it has not parsed is dropped, reading stops. */
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(c->bev, EV_READ);
	if (c->evcon)
		event_active(&c->ev, EV_TIMEOUT, 0);
}

static bool method_known(const char *m)
{
	static const char *const ok[] = {"GET",	  "POST",    "PUT",  "DELETE",
					 "PATCH", "OPTIONS", "HEAD", NULL};
	for (const char *const *k = ok; *k; k++)
		if (strcmp(*k, m) == 0)
			return true;
	return false;
}

/* The request line: METHOD SP target SP HTTP/1.x, printable, the method one we serve. */
static void request_line(conn_t *c, const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	size_t mlen = sp ? (size_t)(sp - line) : len;
	snprintf(c->method, sizeof(c->method), "%.*s", (int)(mlen < 15 ? mlen : 15), line);
	if (sp) {
		const char *t = sp + 1;
		size_t tlen = strcspn(t, " ");
		snprintf(c->target, sizeof(c->target), "%.*s",
			 (int)(tlen < sizeof(c->target) - 1 ? tlen : sizeof(c->target) - 1), t);
	}
	bool token = mlen > 0 && mlen < 16;
	for (size_t i = 0; token && i < mlen; i++)
		token = line[i] >= 'A' && line[i] <= 'Z';
	if (!token) {
		refuse(c, 400, "BAD_REQUEST", "The request line is not valid HTTP.");
		return;
	}
	if (!method_known(c->method)) {
		refuse(c, 405, "METHOD_NOT_ALLOWED", "This method is not allowed here.");
		return;
	}
	/* The version ends the line; it was kept whole unless the line is longer than LINE_KEEP,
	 * which only a long target makes (evhttp checks the version of those). */
	if (c->line_len < LINE_KEEP && (len < 9 ||
					(strncmp(line + len - 9, " HTTP/1.1", 9) != 0 &&
					 strncmp(line + len - 9, " HTTP/1.0", 9) != 0) ||
					memchr(line, ' ', len) == line + len - 9)) {
		refuse(c, 400, "BAD_REQUEST", "The request line is not valid HTTP.");
		return;
	}
}

static bool name_is(const char *line, size_t nlen, const char *name)
{
	return strlen(name) == nlen && strncasecmp(line, name, nlen) == 0;
}

static void head_done(conn_t *c)
{
	http_server_t *s = c->srv;
	if (c->has_cl && c->has_te) {
		refuse(c, 400, "BAD_REQUEST",
		       "Content-Length and Transfer-Encoding must not come together.");
		return;
	}
	if (c->has_cl && (size_t)c->cl > s->hard_cap) {
		refuse(c, 413, "PAYLOAD_TOO_LARGE", "The request body is too large.");
		return;
	}
	c->state = CONN_BODY;
	c->since_ms = now_ms();
	c->body_bytes = 0;
}

/* One header line (without its CR LF); only the first LINE_KEEP - 1 bytes are in line. */
static void header_line(conn_t *c, const char *line, size_t len)
{
	if (len == 0) {
		head_done(c);
		return;
	}
	if (line[0] == ' ' || line[0] == '\t') {
		refuse(c, 400, "BAD_REQUEST", "Folded header lines are not accepted.");
		return;
	}
	const char *colon = memchr(line, ':', len);
	if (!colon) {
		if (c->line_len < LINE_KEEP)
			refuse(c, 400, "BAD_REQUEST", "A header line has no name.");
		return; /* a name longer than what is kept: not one of ours */
	}
	size_t nlen = (size_t)(colon - line);
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);
	if (name_is(line, nlen, "Content-Length")) {
		long long n = 0;
		bool ok = vlen > 0 && vlen <= 18 && c->line_len < LINE_KEEP;
		for (size_t i = 0; ok && i < vlen; i++) {
			ok = v[i] >= '0' && v[i] <= '9';
			n = n * 10 + (v[i] - '0');
		}
		if (!ok) {
			refuse(c, 400, "BAD_REQUEST", "Content-Length must be a number.");
			return;
		}
		if (c->has_cl && n != c->cl) {
			refuse(c, 400, "BAD_REQUEST",
			       "The request has conflicting Content-Length "
			       "headers.");
			return;
		}
		c->has_cl = true;
		c->cl = n;
	} else if (name_is(line, nlen, "Transfer-Encoding")) {
		if (c->has_te || vlen != 7 || strncasecmp(v, "chunked", 7) != 0) {
			refuse(c, 400, "BAD_REQUEST",
			       "Transfer-Encoding other than one \"chunked\" is not accepted.");
			return;
		}
		c->has_te = c->chunked = true;
	}
}

static void line_done(conn_t *c)
{
	size_t kept = c->line_len < LINE_KEEP ? c->line_len : LINE_KEEP - 1;
	size_t len = kept;
	if (c->cr && len == c->line_len && len > 0)
		len--; /* the CR before the LF */
	c->line[kept] = '\0';
	if (c->first_line) {
		c->first_line = false;
		request_line(c, c->line, len);
	} else {
		header_line(c, c->line, len);
	}
	c->line_len = 0;
	c->cr = false;
}

/* Checks n bytes of a request head; how many it took (it stops after the end of the head or
 * at a refusal). */
static size_t scan_bytes(conn_t *c, const unsigned char *b, size_t n)
{
	size_t k = 0;
	while (k < n && (c->state == CONN_IDLE || c->state == CONN_HEAD)) {
		unsigned char ch = b[k++];
		if (c->state == CONN_IDLE) {
			if (ch == '\r' || ch == '\n')
				continue; /* blank lines between requests */
			c->state = CONN_HEAD;
			c->since_ms = now_ms();
			c->head_bytes = c->line_len = 0;
			c->first_line = true;
			c->cr = c->has_cl = c->has_te = c->chunked = false;
			c->method[0] = c->target[0] = '\0';
		}
		if (++c->head_bytes > HEAD_MAX) {
			refuse(c, 431, "HEADERS_TOO_LARGE", "The request head is too large.");
			break;
		}
		if (ch == '\n') {
			line_done(c);
			continue;
		}
		if (c->first_line && (ch < 0x20 || ch >= 0x7f) && ch != '\r') {
			refuse(c, 400, "BAD_REQUEST", "The request line is not valid HTTP.");
			break;
		}
		c->cr = ch == '\r';
		if (c->line_len < LINE_KEEP - 1)
			c->line[c->line_len] = (char)ch;
		c->line_len++;
		if (c->first_line && c->line_len > URL_MAX) {
			refuse(c, 414, "URI_TOO_LONG", "The request URL is too long.");
			break;
		}
	}
	return k;
}

/* Checks the bytes of in from offset `from` on, until the end of a request head. */
static void conn_scan(conn_t *c, struct evbuffer *in, size_t from)
{
	size_t len = evbuffer_get_length(in);
	struct evbuffer_ptr p;
	while (from < len && (c->state == CONN_IDLE || c->state == CONN_HEAD)) {
		if (evbuffer_ptr_set(in, &p, from, EVBUFFER_PTR_SET) != 0)
			return;
		struct evbuffer_iovec v[8];
		int nv = evbuffer_peek(in, (ev_ssize_t)(len - from), &p, v, 8);
		if (nv <= 0)
			return;
		for (int i = 0; i < nv && i < 8 && from < len; i++) {
			size_t n = v[i].iov_len < len - from ? v[i].iov_len : len - from;
			size_t k = scan_bytes(c, v[i].iov_base, n);
			from += k;
			if (k < n)
				break;
		}
	}
	if (c->state == CONN_BODY)
		c->body_bytes += len - from;
}

static void conn_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	conn_t *c = arg;
	if (!info->n_added)
		return;
	switch (c->state) {
	case CONN_REFUSED:
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	case CONN_BUSY:
		if (c->sse) /* an event stream's client has nothing more to say */
			evbuffer_drain(in, evbuffer_get_length(in));
		return;
	case CONN_BODY:
		c->body_bytes += info->n_added;
		/* A chunked body has no length up front: stop it once it is past evhttp's cap. */
		if (c->chunked && c->body_bytes > c->srv->hard_cap + 64 * 1024)
			refuse(c, 413, "PAYLOAD_TOO_LARGE", "The request body is too large.");
		return;
	case CONN_IDLE:
	case CONN_HEAD:
		conn_scan(c, in, evbuffer_get_length(in) - info->n_added);
		return;
	}
}

/* --- limits: connections per address and per process, accept's back-off ------------------------
 *
 * Idle connections cost a descriptor each and nothing else, so a client can open them until the
 * process has no descriptor left: then accept fails, /health cannot get in, and a listener left
 * readable fails again at once. So: at most max_per_addr connections per client address and
 * max_conns per process. Past a cap the oldest idle connection is closed for the new one, as a
 * server may close an idle keep-alive connection at any time; at the process cap, with none
 * idle, the oldest one still sending its request is (a slow-request flood from many
 * addresses). With nothing to close, the new connection is refused (429 per address, 503 per
 * process) and, at the process cap, accepting pauses briefly. When accept itself runs
 * out of descriptors (the cap set above the open-file limit, or descriptors used elsewhere) the
 * oldest idle connections are closed and accepting backs off (10 ms, doubling to 1 s) instead
 * of spinning. What happened is one JSON line per PRESSURE_REPORT_MS. */

typedef struct peer {
	struct peer *next; /* in its hash bucket */
	char ip[64];
	size_t n;
	TAILQ_HEAD(, conn) conns;
} peer_t;

static size_t peer_bucket(const http_server_t *s, const char *ip)
{
	uint64_t h = s->peer_seed; /* FNV-1a, seeded: nobody can aim addresses at one bucket */
	for (const unsigned char *p = (const unsigned char *)ip; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 29)) & (s->npeer_buckets - 1);
}

static void peers_grow(http_server_t *s)
{
	size_t n = s->npeer_buckets ? s->npeer_buckets * 2 : 64;
	peer_t **old = s->peers;
	size_t nold = s->npeer_buckets;
	s->peers = xcalloc(n, sizeof(*s->peers));
	s->npeer_buckets = n;
	for (size_t i = 0; i < nold; i++)
		for (peer_t *p = old[i], *next; p; p = next) {
			next = p->next;
			size_t b = peer_bucket(s, p->ip);
			p->next = s->peers[b];
			s->peers[b] = p;
		}
	free(old);
}

static void peer_join(conn_t *c)
{
	http_server_t *s = c->srv;
	if (s->npeers >= s->npeer_buckets)
		peers_grow(s);
	size_t b = peer_bucket(s, c->ip);
	peer_t *p = s->peers[b];
	while (p && strcmp(p->ip, c->ip) != 0)
		p = p->next;
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		snprintf(p->ip, sizeof(p->ip), "%s", c->ip);
		TAILQ_INIT(&p->conns);
		p->next = s->peers[b];
		s->peers[b] = p;
		s->npeers++;
	}
	TAILQ_INSERT_TAIL(&p->conns, c, peer_link);
	p->n++;
	c->peer = p;
}

static void peer_leave(conn_t *c)
{
	peer_t *p = c->peer;
	if (!p)
		return;
	http_server_t *s = c->srv;
	TAILQ_REMOVE(&p->conns, c, peer_link);
	c->peer = NULL;
	if (--p->n > 0)
		return;
	for (peer_t **pp = &s->peers[peer_bucket(s, p->ip)]; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	s->npeers--;
	free(p);
}

static void peers_free(http_server_t *s)
{
	for (size_t i = 0; i < s->npeer_buckets; i++)
		for (peer_t *p = s->peers[i], *next; p; p = next) {
			next = p->next;
			free(p);
		}
	free(s->peers);
	s->peers = NULL;
	s->npeer_buckets = s->npeers = 0;
}

static double conns_read(void *arg)
{
	const http_server_t *s = arg;
	return (double)s->nconns;
}

/* The default cap: three quarters of the open-file limit (the rest is for PostgreSQL, Redis,
 * outgoing calls and lingering refusals), at most CONNS_CEILING. */
static size_t nofile_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	return (size_t)rl.rlim_cur;
}

static void limits_init(http_server_t *s)
{
	const config_t *cfg = s->cfg;
	size_t nofile = nofile_limit();
	s->max_conns = (size_t)cfg->http_max_connections;
	if (s->max_conns == 0) {
		s->max_conns = nofile ? nofile * 3 / 4 : CONNS_CEILING;
		if (s->max_conns > CONNS_CEILING)
			s->max_conns = CONNS_CEILING;
		if (s->max_conns < 1)
			s->max_conns = 1;
	} else if (nofile && s->max_conns > nofile) {
		log_warn("http: HTTP_MAX_CONNECTIONS %zu is above the open-file limit %zu: "
			 "accepting will back off when descriptors run out",
			 s->max_conns, nofile);
	}
	s->max_per_addr = (size_t)cfg->http_max_connections_per_addr;
	if (getrandom(&s->peer_seed, sizeof(s->peer_seed), 0) != sizeof(s->peer_seed))
		s->peer_seed = next_random(s);
	s->peer_seed |= 1;
	s->resume = evtimer_new(s->base, accept_resume, s);
	metrics_gauge_fn("sellerhub_http_connections", "Open HTTP connections", "", conns_read, s);
	static const char *const reasons[SHED_REASONS] = {"per_addr", "process", "fd_limit"};
	for (int i = 0; i < SHED_REASONS; i++) {
		char labels[48];
		snprintf(labels, sizeof(labels), "reason=\"%s\"", reasons[i]);
		s->shed_metric[i] =
		    metrics_counter("sellerhub_http_connections_shed_total",
				    "Connections closed to make room for new ones", labels);
	}
	s->refused_metric =
	    metrics_counter("sellerhub_http_connections_refused_total",
			    "New connections refused at a cap with every connection busy", "");
	s->accept_errors_metric = metrics_counter("sellerhub_http_accept_errors_total",
						  "Failed accepts (EMFILE, ENFILE, ...)", "");
}

/* One line for everything since the last: never one per connection or per failed accept. */
static void pressure_report(http_server_t *s)
{
	pressure_t *p = &s->pressure;
	size_t shed = p->shed[SHED_PER_ADDR] + p->shed[SHED_PROCESS] + p->shed[SHED_FD_LIMIT];
	if (shed + p->refused + p->accept_errors == 0)
		return;
	int64_t now = now_ms();
	if (now < s->next_report_ms)
		return;
	json_t *f = json_pack("{s:I, s:I, s:I, s:{s:I, s:I, s:I}, s:I, s:I, s:I, s:I}",
			      "connections", (json_int_t)s->nattached, "maxConnections",
			      (json_int_t)s->max_conns, "maxPerAddr", (json_int_t)s->max_per_addr,
			      "shed", "perAddr", (json_int_t)p->shed[SHED_PER_ADDR], "process",
			      (json_int_t)p->shed[SHED_PROCESS], "fdLimit",
			      (json_int_t)p->shed[SHED_FD_LIMIT], "refused", (json_int_t)p->refused,
			      "acceptErrors", (json_int_t)p->accept_errors, "acceptPauses",
			      (json_int_t)p->pauses, "sinceMs", (json_int_t)PRESSURE_REPORT_MS);
	if (p->accept_errno)
		json_object_set_new(f, "acceptError", json_string(strerror(p->accept_errno)));
	if (p->addr[0])
		json_object_set_new(f, "addr", json_string(p->addr));
	log_fields(LOG_WARN, "http: connection limits reached", f);
	memset(p, 0, sizeof(*p));
	s->next_report_ms = now + PRESSURE_REPORT_MS;
}

/* A connection holding no request: idle between requests, or still sending one (evhttp has
 * handed nothing to a handler). Busy and refused ones are never shed. */
static bool sheddable(const conn_t *c, bool idle_only)
{
	if (!c->evcon)
		return false;
	return c->state == CONN_IDLE ||
	       (!idle_only && (c->state == CONN_HEAD || c->state == CONN_BODY));
}

/* The oldest sheddable connection other than `not`: of one address (p) or of the process; idle
 * ones first, then (unless idle_only) ones still sending a request. */
static conn_t *oldest(http_server_t *s, peer_t *p, const conn_t * not, bool idle_only)
{
	for (int pass = 0; pass < (idle_only ? 1 : 2); pass++) {
		conn_t *c = p ? TAILQ_FIRST(&p->conns) : TAILQ_FIRST(&s->conns);
		for (; c; c = p ? TAILQ_NEXT(c, peer_link) : TAILQ_NEXT(c, link))
			if (c != not &&sheddable(c, pass == 0))
				return c;
	}
	return NULL;
}

static void shed(conn_t *c, enum shed_reason why)
{
	http_server_t *s = c->srv;
	s->pressure.shed[why]++;
	metric_inc(s->shed_metric[why]);
	evhttp_connection_free(c->evcon); /* runs conn_closed, which frees c */
}

static void accept_pause(http_server_t *s, int ms)
{
	if (!s->listener)
		return;
	evconnlistener_disable(s->listener);
	s->pressure.pauses++;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(s->resume, &tv);
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
	http_server_t *s = arg;
	if (s->listener && !s->draining)
		evconnlistener_enable(s->listener);
}

static int next_backoff(http_server_t *s)
{
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	return s->backoff_ms;
}

/* A new connection past a cap with nothing to shed: answered at once and closed. */
static void refuse_new(conn_t *c, int status, const char *code, const char *message)
{
	c->srv->pressure.refused++;
	metric_inc(c->srv->refused_metric);
	c->quiet = true;
	refuse(c, status, code, message);
}

/* Right after attach: make room for c, or refuse it. */
static void conn_limit(conn_t *c)
{
	http_server_t *s = c->srv;
	bool counted = !netaddr_list_has(s->trusted, c->ip);
	if (counted && c->peer->n > s->max_per_addr) {
		snprintf(s->pressure.addr, sizeof(s->pressure.addr), "%s", c->ip);
		conn_t *old = oldest(s, c->peer, c, true);
		if (old) {
			shed(old, SHED_PER_ADDR);
		} else {
			refuse_new(c, 429, "TOO_MANY_CONNECTIONS",
				   "This address has too many connections open.");
			pressure_report(s);
			return;
		}
	}
	/* Attached ones only: one turn may accept many before the first is attached. */
	if (s->nattached > s->max_conns) {
		conn_t *old = oldest(s, NULL, c, false);
		if (old) {
			shed(old, SHED_PROCESS);
		} else {
			refuse_new(c, 503, "SERVER_BUSY", "The server is at its connection limit.");
			accept_pause(s, next_backoff(s));
		}
	}
	pressure_report(s);
}

/* evhttp's listener could not accept: descriptors ran out (EMFILE, ENFILE) or memory did.
 * Close the oldest idle connections and try again on the next turn; with none to close, wait,
 * longer each time. The listener stays readable all along: re-enabled at once, it would fail
 * again at once. */
static void accept_error(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	http_server_t *s = servers;
	while (s && s->listener != lev)
		s = s->next_server;
	if (!s)
		return;
	s->pressure.accept_errors++;
	s->pressure.accept_errno = err;
	metric_inc(s->accept_errors_metric);
	size_t closed = 0;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		conn_t *c;
		while (closed < SHED_BATCH && (c = oldest(s, NULL, NULL, false))) {
			shed(c, SHED_FD_LIMIT);
			closed++;
		}
	}
	accept_pause(s, closed ? 0 : next_backoff(s));
	pressure_report(s);
}

static void sse_lost(struct http_sse *st);

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	conn_t *c = arg;
	http_server_t *s = c->srv;
	if (c->stream)
		stream_gone(c->stream);
	if (c->sse)
		sse_lost(c->sse);
	evbuffer_remove_cb(bufferevent_get_input(c->bev), conn_input, c);
	event_del(&c->ev);
	if (c->fd >= 0 && (size_t)c->fd < s->nby_fd && s->by_fd[c->fd] == c)
		s->by_fd[c->fd] = NULL;
	if (c->peer) {
		peer_leave(c);
		s->nattached--;
	}
	TAILQ_REMOVE(&s->conns, c, link);
	s->nconns--;
	free(c);
}

/* Runs right after the accept, before any I/O on the socket: evhttp has made the connection. */
static void conn_attach(evutil_socket_t unused, short what, void *arg)
{
	conn_t *c = arg;
	http_server_t *s = c->srv;
	void *evcon = NULL;
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
	c->evcon = evcon;
	c->fd = bufferevent_getfd(c->bev);
	evhttp_connection_set_closecb(c->evcon, conn_closed, c);
	char *addr = NULL;
	ev_uint16_t port = 0;
	evhttp_connection_get_peer(c->evcon, &addr, &port);
	snprintf(c->ip, sizeof(c->ip), "%s", addr ? addr : "");
	if (c->fd >= 0) {
		if ((size_t)c->fd >= s->nby_fd) {
			size_t n = (size_t)c->fd * 2 + 64;
			s->by_fd = xrealloc(s->by_fd, n * sizeof(*s->by_fd));
			memset(s->by_fd + s->nby_fd, 0, (n - s->nby_fd) * sizeof(*s->by_fd));
			s->nby_fd = n;
		}
		s->by_fd[c->fd] = c;
	}
	event_assign(&c->ev, s->base, -1, 0, conn_close_now, c);
	if (c->state == CONN_REFUSED) {
		event_active(&c->ev, EV_TIMEOUT, 0);
		return;
	}
	peer_join(c);
	s->nattached++;
	conn_limit(c);
}

static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
	http_server_t *s = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL;
	conn_t *c = xcalloc(1, sizeof(*c));
	c->srv = s;
	c->bev = bev;
	c->fd = -1;
	TAILQ_INSERT_TAIL(&s->conns, c, link);
	s->nconns++;
	s->backoff_ms = 0; /* accepting works again */
	evbuffer_add_cb(bufferevent_get_input(bev), conn_input, c);
	event_assign(&c->ev, base, -1, 0, conn_attach, c);
	event_active(&c->ev, EV_TIMEOUT, 0);
	return bev;
}

static void conn_busy(http_server_t *s, struct evhttp_connection *evcon)
{
	conn_t *c = conn_of(s, evcon);
	if (c && c->state != CONN_REFUSED)
		c->state = CONN_BUSY;
}

/* An answer is out: what the client sent behind it is the next request, checked now. */
static void conn_idle(http_server_t *s, struct evhttp_connection *evcon)
{
	conn_t *c = conn_of(s, evcon);
	if (!c || c->state != CONN_BUSY)
		return;
	c->state = CONN_IDLE;
	conn_scan(c, bufferevent_get_input(c->bev), 0);
}

static void conn_sweep(evutil_socket_t fd, short what, void *arg)
{
	http_server_t *s = arg;
	int64_t now = now_ms();
	int64_t head = (int64_t)s->cfg->http_header_timeout_s * 1000;
	int64_t body = (int64_t)s->cfg->http_body_timeout_s * 1000;
	conn_t *c, *next;
	for (c = TAILQ_FIRST(&s->conns); c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->state == CONN_HEAD && now - c->since_ms > head)
			refuse(c, 408, "REQUEST_TIMEOUT",
			       "The request head did not arrive in time.");
		else if (c->state == CONN_BODY && now - c->since_ms > body)
			refuse(c, 408, "REQUEST_TIMEOUT",
			       "The request body did not arrive in time.");
	}
	pressure_report(s);
}

/* After evhttp_free: connections it freed are gone already; any left never attached. */
static void conn_free_all(http_server_t *s)
{
	conn_t *c;
	while ((c = TAILQ_FIRST(&s->conns))) {
		event_del(&c->ev);
		TAILQ_REMOVE(&s->conns, c, link);
		free(c);
	}
	free(s->by_fd);
	s->by_fd = NULL;
	lingering_t *l;
	while ((l = TAILQ_FIRST(&s->lingering))) {
		TAILQ_REMOVE(&s->lingering, l, link);
		event_free(l->ev);
		close(l->fd);
		free(l);
	}
}

/* --- streamed and file answers ------------------------------------------------------------- */

/* A chunked answer in progress (owned by its request; freed by http_stream_end). The
 * connection's write callback (evhttp_send_reply_chunk_with_cb) tells when the client has read
 * everything queued; lost is deferred to its own event so that the producer never ends the
 * answer from inside evhttp's teardown of the connection. */
struct http_stream {
	req_t *r;
	conn_t *conn; /* NULL once the connection is gone */
	http_stream_cb drained, lost;
	void *arg;
	struct event lost_ev;
	int status;
	size_t bytes;
	bool waiting; /* a write returned false: drained is due */
	bool gone;
};

static void stream_lost_cb(evutil_socket_t fd, short what, void *arg)
{
	http_stream_t *st = arg;
	st->lost(st->arg);
}

static void stream_gone(http_stream_t *st)
{
	st->conn->stream = NULL;
	st->conn = NULL;
	st->gone = true;
	event_active(&st->lost_ev, EV_TIMEOUT, 0);
}

static void stream_written(struct evhttp_connection *evcon, void *arg)
{
	http_stream_t *st = arg;
	if (st->waiting && !st->gone) {
		st->waiting = false;
		st->drained(st->arg);
	}
}

void http_stream_start(req_t *r, int status, const char *content_type, http_stream_cb drained,
		       http_stream_cb lost, void *arg)
{
	if (!answer_begin(r, content_type))
		return;
	http_server_t *s = r->srv;
	http_stream_t *st = xcalloc(1, sizeof(*st));
	st->r = r;
	st->drained = drained;
	st->lost = lost;
	st->arg = arg;
	st->status = status;
	event_assign(&st->lost_ev, s->base, -1, 0, stream_lost_cb, st);
	r->stream = st;
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	if (evcon && r->held)
		release(s, evcon);
	st->conn = evcon ? conn_of(s, evcon) : NULL;
	if (st->conn) {
		st->conn->stream = st;
	} else {
		st->gone = true;
		event_active(&st->lost_ev, EV_TIMEOUT, 0);
	}
	evhttp_send_reply_start(r->ev, status, NULL);
}

bool http_stream_write(req_t *r, const void *data, size_t len)
{
	http_stream_t *st = r->stream;
	if (st->gone)
		return false;
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	if (!evcon)
		return false;
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, data, len);
	evhttp_send_reply_chunk_with_cb(r->ev, b, stream_written, st);
	evbuffer_free(b);
	st->bytes += len;
	struct evbuffer *out = bufferevent_get_output(evhttp_connection_get_bufferevent(evcon));
	st->waiting = evbuffer_get_length(out) >= HTTP_STREAM_HIGH;
	return !st->waiting;
}

void http_stream_end(req_t *r)
{
	http_stream_t *st = r->stream;
	http_server_t *s = r->srv;
	event_del(&st->lost_ev);
	if (st->conn)
		st->conn->stream = NULL;
	double ms = (double)(now_us() - r->start_us) / 1000.0;
	access_log(r, evhttp_request_get_uri(r->ev), st->status, st->bytes, ms);
	observe(r, st->status, ms / 1000.0);
	if (evhttp_request_get_connection(r->ev))
		s->unflushed++;
	else
		evhttp_request_set_on_complete_cb(r->ev, NULL, NULL);
	evhttp_send_reply_end(r->ev); /* frees r->ev when its connection is gone */
	free(st);
	answer_free(r);
}

bool http_stream_lost(const req_t *r)
{
	return r->stream->gone;
}

void http_reply_file(req_t *r, int status, const char *content_type, int fd, size_t size)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(r->ev);
	if (size && strcmp(r->method, "HEAD") != 0) {
		if (evbuffer_add_file(out, fd, 0, (ev_off_t)size) != 0) {
			close(fd);
			http_error(r, 500, "INTERNAL", "The file could not be sent.", NULL);
			return;
		}
	} else {
		close(fd);
	}
	finish(r, status, content_type, NULL, size);
}

/* --- event streams: an answer sent as it is produced
 * -----------------------------------------------
 *
 * The head goes out at once (chunked), the request's context is freed as for any answer (access
 * log line, metrics), and the stream lives on with its connection. It ends when its owner ends
 * it, or without the owner: its client went away (conn_closed), the server drains or is freed;
 * then the owner's gone callback runs once and the stream is freed. */

struct http_sse {
	TAILQ_ENTRY(http_sse) link;
	http_server_t *srv;
	struct evhttp_request *ev;
	conn_t *conn;
	size_t max_pending;
	http_sse_gone_fn gone;
	void *arg;
};

http_sse_t *http_sse_start(req_t *r, const char *content_type, size_t max_pending,
			   http_sse_gone_fn gone, void *arg)
{
	http_server_t *s = r->srv;
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	conn_t *c = evcon ? conn_of(s, evcon) : NULL;
	if (!c || s->draining) { /* the client has gone already, or the process is stopping */
		http_error(r, 503, "SHUTTING_DOWN", "The server is restarting; retry shortly.",
			   NULL);
		return NULL;
	}
	r->answered = true;
	if (s->dispatching == r)
		s->dispatching = NULL;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Accel-Buffering", "no"); /* nginx: pass each chunk on at once */
	security_headers(r, h);
	double ms = (double)(now_us() - r->start_us) / 1000.0;
	access_log(r, evhttp_request_get_uri(r->ev), 200, 0, ms);
	observe(r, 200, ms / 1000.0);
	if (r->held)
		release(s, evcon);
	evhttp_send_reply_start(r->ev, 200, "OK");
	/* Its client sends nothing more: no read timeout. One that reads nothing for the idle
	 * timeout while output waits is gone (the write timeout). */
	struct timeval write_tv = {s->cfg->http_idle_timeout_s, 0};
	bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), NULL, &write_tv);

	http_sse_t *st = xcalloc(1, sizeof(*st));
	st->srv = s;
	st->ev = r->ev;
	st->conn = c;
	st->max_pending = max_pending;
	st->gone = gone;
	st->arg = arg;
	c->sse = st;
	TAILQ_INSERT_TAIL(&s->sses, st, link);
	s->nsses++;

	if (r->query_parsed && r->query)
		evhttp_clear_headers(&r->query_store);
	json_decref(r->body);
	arena_free(r->arena);
	s->active--;
	return st;
}

bool http_sse_write(http_sse_t *st, const char *data, size_t len)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(st->ev);
	if (!evcon)
		return false;
	struct evbuffer *out = bufferevent_get_output(evhttp_connection_get_bufferevent(evcon));
	if (evbuffer_get_length(out) + len > st->max_pending)
		return false;
	evbuffer_add(st->srv->chunk, data, len);
	evhttp_send_reply_chunk(st->ev, st->srv->chunk);
	evbuffer_drain(st->srv->chunk, evbuffer_get_length(st->srv->chunk));
	return true;
}

static void sse_unlink(http_sse_t *st)
{
	http_server_t *s = st->srv;
	TAILQ_REMOVE(&s->sses, st, link);
	s->nsses--;
	st->conn->sse = NULL;
}

void http_sse_end(http_sse_t *st)
{
	sse_unlink(st);
	if (evhttp_request_get_connection(st->ev))
		st->srv->unflushed++; /* reply_complete counts it out once the last chunk is out */
	evhttp_send_reply_end(st->ev);
	free(st);
}

void http_sse_drop(http_sse_t *st)
{
	sse_unlink(st);
	struct evhttp_connection *evcon = evhttp_request_get_connection(st->ev);
	if (evcon)
		evhttp_connection_free(
		    evcon); /* the request with it; conn_closed frees the conn_t */
	else
		evhttp_request_free(st->ev);
	free(st);
}

/* Its connection is being freed: evhttp has either let go of the request (a failed connection:
 * ours to free now) or frees it with the connection. */
static void sse_lost(http_sse_t *st)
{
	sse_unlink(st);
	if (!evhttp_request_get_connection(st->ev))
		evhttp_request_free(st->ev);
	st->gone(st->arg);
	free(st);
}

static void sses_close(http_server_t *s, bool end)
{
	http_sse_t *st;
	while ((st = TAILQ_FIRST(&s->sses))) {
		st->gone(st->arg);
		if (end) {
			http_sse_end(st);
		} else {
			sse_unlink(st);
			free(st);
		}
	}
}

size_t http_sses_open(const http_server_t *s)
{
	return s->nsses;
}
