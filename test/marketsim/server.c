/* marketsim's HTTP plumbing: one evhttp listener, the route table, and the path every API request
 * takes (faults → request budget → bearer auth → handler; on Amazon's routes faults → access
 * token → the operation's bucket → handler), so handlers only do their resource. */
#include "amazon.h"
#include "http_method.h"
#include "marketsim.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

struct ms_server {
	struct evhttp *http;
	ms_req_t *delayed; /* requests held by a latency or drop fault */
};

const char *ms_error_code(int status)
{
	switch (status) {
	case 400:
		return "bad_request_error";
	case 401:
		return "unauthorized_request_error";
	case 403:
		return "forbidden_error";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 409:
		return "conflict";
	case 429:
		return "too_many_requests";
	case 500:
		return "internal_server_error";
	case 502:
		return "bad_gateway";
	case 503:
		return "service_not_available";
	case 504:
		return "gateway_timeout";
	default:
		return status >= 500 ? "internal_server_error" : "bad_request_error";
	}
}

static bool is_control(const ms_req_t *r)
{
	return r->route && (r->route->flags & ROUTE_CONTROL);
}

static void send_buffer(ms_req_t *r, int status, struct evbuffer *buf, const char *type)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	if (type)
		evhttp_add_header(out, "Content-Type", type);
	evhttp_send_reply(r->req, status, NULL, buf);
	r->status = status;
	if (!is_control(r))
		ms_traffic_record(r->ms->traffic, http_method_name(r->method), r->path, r->query,
				  status, ms_wall_ms(r->ms));
}

static int dump_to_evbuffer(const char *buf, size_t size, void *data)
{
	return evbuffer_add(data, buf, size);
}

void ms_reply_json(ms_req_t *r, int status, json_t *body)
{
	if (r->status)
		die("marketsim: second reply to %s", r->path);
	struct evbuffer *buf = evbuffer_new();
	if (body) {
		json_dump_callback(body, dump_to_evbuffer, buf,
				   JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
		json_decref(body);
	}
	send_buffer(r, status, buf, body ? "application/json;charset=UTF-8" : NULL);
	evbuffer_free(buf);
}

void ms_reply_error(ms_req_t *r, int status, const char *error, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ms_reply_json(r, status,
		      json_pack("{s:s, s:s, s:i, s:[]}", "message", msg, "error", error, "status",
				status, "cause"));
}

void ms_reply_redirect(ms_req_t *r, const char *location)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Location", location);
	struct evbuffer *buf = evbuffer_new();
	send_buffer(r, 302, buf, NULL);
	evbuffer_free(buf);
}

const char *ms_arg(ms_req_t *r, const char *name)
{
	return evhttp_find_header(&r->args, name);
}

bool ms_arg_long(ms_req_t *r, const char *name, long def, long *out)
{
	const char *v = ms_arg(r, name);
	if (!v) {
		*out = def;
		return true;
	}
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < 0) {
		ms_reply_error(r, 400, "bad_request", "Invalid value for parameter %s: %s", name,
			       v);
		return false;
	}
	*out = n;
	return true;
}

const char *ms_header(ms_req_t *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

const char *ms_body(ms_req_t *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t n = evbuffer_get_length(in);
	if (n == 0)
		return NULL;
	char *s = arena_alloc(r->arena, n + 1);
	evbuffer_copyout(in, s, n);
	s[n] = '\0';
	return s;
}

json_t *ms_body_json(ms_req_t *r)
{
	const char *s = ms_body(r);
	if (!s)
		return NULL;
	json_t *j = json_loads(s, 0, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

bool ms_body_params(ms_req_t *r, struct evkeyvalq *kv)
{
	const char *body = ms_body(r);
	const char *type = ms_header(r, "Content-Type");
	if (!body)
		return true;
	if (type && strcasestr(type, "json")) {
		json_t *j = json_loads(body, 0, NULL);
		if (!json_is_object(j)) {
			json_decref(j);
			return false;
		}
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v)
		{
			if (json_is_string(v))
				evhttp_add_header(kv, k, json_string_value(v));
		}
		json_decref(j);
		return true;
	}
	return evhttp_parse_query_str(body, kv) == 0;
}

/* Match path against a pattern where ":name" segments capture one non-empty segment. */
static bool match(ms_req_t *r, const char *pattern, const char *path)
{
	int np = 0;
	while (*pattern && *path) {
		if (*pattern == ':') {
			while (*pattern && *pattern != '/')
				pattern++;
			const char *end = strchr(path, '/');
			size_t n = end ? (size_t)(end - path) : strlen(path);
			if (n == 0 || np >= MS_MAX_PARAMS)
				return false;
			r->params[np++] = arena_strndup(r->arena, path, n);
			path += n;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return !*pattern && !*path;
}

static const ms_route_t *route_find(ms_req_t *r, bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < ms_routes_len; i++) {
		const ms_route_t *rt = &ms_routes[i];
		if (!match(r, rt->pattern, r->path))
			continue;
		*path_known = true;
		if (rt->methods & (int)r->method)
			return rt;
	}
	return NULL;
}

static void req_free(ms_req_t *r)
{
	evhttp_clear_headers(&r->args);
	arena_free(r->arena);
	free(r);
}

/* The part of a request after faults: budget, auth, handler. */
static void serve(ms_req_t *r, bool path_known)
{
	ms_t *ms = r->ms;
	const ms_route_t *rt = r->route;
	if (!rt && am_path(r->path)) {
		if (path_known)
			am_error(r, 405, "MethodNotAllowed", "Method %s not allowed for %s",
				 http_method_name(r->method), r->path);
		else
			am_error(r, 404, "NotFound", "Resource %s not found.", r->path);
		return;
	}
	if (!rt) {
		if (path_known)
			ms_reply_error(r, 405, "method_not_allowed", "Method %s not allowed for %s",
				       http_method_name(r->method), r->path);
		else
			ms_reply_error(r, 404, "not_found", "Resource %s not found.", r->path);
		return;
	}
	if (rt->flags & (ROUTE_AMAZON | ROUTE_AMAZON_OPEN)) {
		/* Amazon's own limits (per seller and operation) instead of the ML app budget. */
		if (!(rt->flags & ROUTE_AMAZON) || am_gate(r))
			rt->fn(r);
		if (!r->status)
			am_error(r, 500, "InternalFailure", "handler gave no answer");
		return;
	}
	if (!(rt->flags & (ROUTE_CONTROL | ROUTE_AUTHZ | ROUTE_TINY)) &&
	    !ms_budget_take(&ms->budget, ms_now_us(ms))) {
		ms_traffic_count(ms->traffic, "rate_limited");
		if (rt->flags & ROUTE_TOKEN)
			ms_reply_error(r, 429, "local_rate_limited",
				       "Too many requests, retry after a few seconds");
		else
			ms_reply_error(r, 429, "too_many_requests", "Too Many Requests");
		return;
	}
	if (rt->flags & ROUTE_AUTH) {
		r->seller = ms_auth_check(r);
		if (!r->seller)
			return;
	}
	rt->fn(r);
	if (!r->status)
		ms_reply_error(r, 500, "internal_server_error", "handler gave no answer");
}

static void apply_fault(ms_req_t *r, const ms_fault_t *f, bool path_known)
{
	ms_traffic_count(r->ms->traffic, "faults_injected");
	if (f->drop) {
		/* Closing the connection frees the request with it. */
		struct evhttp_connection *c = evhttp_request_get_connection(r->req);
		ms_traffic_record(r->ms->traffic, http_method_name(r->method), r->path, r->query, 0,
				  ms_wall_ms(r->ms));
		r->status = -1;
		if (c)
			evhttp_connection_free(c);
		else
			evhttp_send_reply(r->req, 500, NULL, NULL); /* client gone: frees it */
		return;
	}
	if (f->status && am_path(r->path)) {
		am_error(r, f->status, am_error_code(f->status), "Injected fault %d", f->status);
		return;
	}
	if (f->status) {
		if (f->status == 429 && r->route && (r->route->flags & ROUTE_TOKEN))
			ms_reply_error(r, 429, "local_rate_limited",
				       "Too many requests, retry after a few seconds");
		else
			ms_reply_error(r, f->status, ms_error_code(f->status), "Injected fault %d",
				       f->status);
		return;
	}
	serve(r, path_known);
}

static void unlink_delayed(ms_req_t *r)
{
	ms_server_t *s = r->ms->server;
	if (r->prev)
		r->prev->next = r->next;
	else
		s->delayed = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
	ms_req_t *r = arg;
	unlink_delayed(r);
	if (r->faulted)
		apply_fault(r, &r->fault, r->path_known);
	else
		serve(r, r->path_known);
	req_free(r);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	ms_t *ms = arg;
	ms_req_t *r = xcalloc(1, sizeof(*r));
	r->ms = ms;
	r->req = req;
	r->arena = arena_new();
	r->method = evhttp_request_get_command(req);
	TAILQ_INIT(&r->args);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw = evhttp_uri_get_path(uri);
	char *dec = evhttp_uridecode(raw && *raw ? raw : "/", 0, NULL);
	r->path = arena_strdup(r->arena, dec ? dec : "/");
	free(dec);
	const char *q = evhttp_uri_get_query(uri);
	r->query = arena_strdup(r->arena, q ? q : "");
	if (q && evhttp_parse_query_str(q, &r->args) != 0)
		evhttp_clear_headers(&r->args);

	bool path_known;
	r->route = route_find(r, &path_known);
	r->path_known = path_known;
	if (am_path(r->path))
		am_request_id(r); /* on every answer, faults included */
	if (!is_control(r)) {
		int ix = ms_faults_pick(ms->faults, http_method_name(r->method), r->path);
		const ms_fault_t *f = ms_faults_get(ms->faults, ix);
		if (f && (f->latency_ms > 0 || f->drop)) {
			/* Held on a timer: the reply (or the drop) happens outside evhttp's
			 * callback, where freeing the connection is safe. */
			r->fault = *f;
			r->fault.latency_ms = 0;
			r->faulted = f->status || f->drop;
			r->next = ms->server->delayed;
			if (r->next)
				r->next->prev = r;
			ms->server->delayed = r;
			struct timeval tv = {f->latency_ms / 1000, (f->latency_ms % 1000) * 1000};
			evtimer_assign(&r->delay, ms->base, on_delay, r);
			evtimer_add(&r->delay, &tv);
			return;
		}
		if (f) {
			apply_fault(r, f, path_known);
			req_free(r);
			return;
		}
	}
	serve(r, path_known);
	req_free(r);
}

bool ms_server_start(ms_t *ms, int port)
{
	ms_server_t *s = xcalloc(1, sizeof(*s));
	s->http = evhttp_new(ms->base);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
						EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
						EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	evhttp_set_max_body_size(s->http, 1 << 20);
	evhttp_set_gencb(s->http, on_request, ms);
	ms->server = s;
	struct evhttp_bound_socket *sock =
	    evhttp_bind_socket_with_handle(s->http, "127.0.0.1", (ev_uint16_t)port);
	if (!sock)
		return false;
	if (port == 0) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		evutil_socket_t fd = evhttp_bound_socket_get_fd(sock);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
			ms->opt.port = ms->boot.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	return true;
}

void ms_server_stop(ms_t *ms)
{
	ms_server_t *s = ms->server;
	if (!s)
		return;
	while (s->delayed) {
		ms_req_t *r = s->delayed;
		unlink_delayed(r);
		event_del(&r->delay);
		evhttp_send_reply(r->req, 503, NULL, NULL);
		req_free(r);
	}
	if (s->http)
		evhttp_free(s->http);
	free(s);
	ms->server = NULL;
}
