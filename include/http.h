/* The HTTP server: evhttp on the loop, routing, the per-request context, JSON bodies, the API
 * envelope, CORS, security headers, request ids, the access log and per-route metrics.
 *
 * A handler answers exactly once, now or later from an async callback (a query, a Redis command,
 * an outgoing call). Until it answers, the request context stays valid even if the client has
 * gone away; answering frees the context and its arena. */
#ifndef SH_HTTP_H
#define SH_HTTP_H

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "http_method.h"
#include "router.h"

typedef struct http_server http_server_t;
typedef struct req req_t;

typedef void (*http_handler_fn)(req_t *r);
/* A hook runs before the handler. It calls http_continue(r) to go on, or answers itself. */
typedef void (*http_hook_fn)(req_t *r);

enum route_flags {
	ROUTE_PUBLIC = 0,
	ROUTE_AUTH = 1 << 0,	/* the auth hook must admit the request */
	ROUTE_NO_BODY = 1 << 1, /* a body is not parsed even for POST/PUT */
	/* the access token may come as ?access_token= (a browser's EventSource sets no header);
	 * the access log never has the query */
	ROUTE_QUERY_TOKEN = 1 << 2
};

struct req {
	struct evhttp_request *ev;
	http_server_t *srv;
	void *app; /* the server's application context */
	arena_t *arena;
	const char *method;
	const char *path; /* decoded path, no query */
	const route_t *route;
	route_match_t match;
	json_t
	    *body; /* parsed JSON object or NULL when there was no body; freed with the request */
	char id[65];
	char client_ip[64];
	int64_t start_us;
	int stage; /* next pre-handler hook to run */
	/* Set by the auth hook. */
	const char *user_id, *tenant_id, *role;
	void *auth; /* the auth module's own per-request data */
	struct evkeyvalq *query;
	struct evkeyvalq query_store;
	bool query_parsed;
	bool query_bad; /* the query string could not be parsed: every parameter reads absent */
	bool answered;
	bool held; /* not answered in its own turn: its connection is held readable (http.c) */
	struct http_stream *stream; /* a streamed answer in progress (http_stream_start) */
};

http_server_t *http_server_new(struct event_base *base, const config_t *cfg, void *app);
/* Listen on cfg->bind:cfg->port; false with errno set on failure. */
bool http_server_listen(http_server_t *s, const char *bind, int port)
    __attribute__((warn_unused_result));
void http_server_free(http_server_t *s);
router_t *http_router(http_server_t *s);
/* summary: one line for the API reference at /openapi.json (a string literal). */
void http_route(http_server_t *s, const char *method, const char *pattern, http_handler_fn fn,
		unsigned flags, const char *summary);
/* Hooks that run, in order, before every handler under `prefix` ("/api"). At most 4. */
void http_add_hook(http_server_t *s, const char *prefix, http_hook_fn hook, bool auth_routes_only);
/* Stop accepting; `drained` runs once no request is in flight (or after timeout_s). */
void http_server_drain(http_server_t *s, int timeout_s, void (*drained)(void *arg), void *arg);
size_t http_in_flight(const http_server_t *s);

void http_continue(req_t *r);

/* Path parameter by name, query parameter, request header: NULL when absent. */
const char *http_param(const req_t *r, const char *name);
const char *http_query(req_t *r, const char *name);
const char *http_header(const req_t *r, const char *name);
/* A request body as JSON the way every handler gets it (duplicate keys and NUL bytes refused);
 * NULL with the problem written into problem when it is not. Pure (fuzzed, test/fuzz/). */
json_t *http_body_parse(const char *data, size_t len, char *problem, size_t size);
/* Parse q (the text after '?', NULL for none) as the request's query string; http_query does it
 * on first use. Pure: the query harness (test/fuzz/) calls it on a request of its own. */
void http_query_set(req_t *r, const char *q);
/* False when the request has a query string that could not be parsed (a list route says so
 * instead of answering as if no filter had been given). */
bool http_query_valid(req_t *r);
/* The request body as received (the bytes r->body was parsed from); *len 0 when there is none. */
const char *http_body_raw(const req_t *r, size_t *len);
void http_set_header(req_t *r, const char *name, const char *value);

/* {"success":true,"data":data,"message":message}; data is stolen (NULL renders null). */
void http_ok(req_t *r, int status, json_t *data, const char *message);
/* {"success":false,"message":..,"code":..,"details":[..]}; details is stolen (NULL = []). */
void http_error(req_t *r, int status, const char *code, const char *message, json_t *details);
/* 400 VALIDATION_FAILED with details [{"field","problem"}]. */
void http_invalid(req_t *r, json_t *details);
/* Append {"field":field,"problem":problem} to details (created when NULL); returns details. */
json_t *http_problem(json_t *details, const char *field, const char *problem);
/* Any body with its content type (copied). */
void http_reply(req_t *r, int status, const char *content_type, const char *body, size_t len);
/* A 302/303 to location. */
void http_redirect(req_t *r, int status, const char *location);

/* A streamed answer (Transfer-Encoding: chunked) for bodies too large to hold: headers set with
 * http_set_header beforehand go out with it. The producer writes while http_stream_write returns
 * true; on false the client's socket is full and it waits for drained, which runs once the
 * client has read what was queued. lost runs (once, in a later turn) when the client has gone:
 * the producer stops and ends the answer. Every stream is ended by http_stream_end, which frees
 * r. */
#define HTTP_STREAM_HIGH (1024 * 1024) /* bytes queued for one client before it must wait */
typedef struct http_stream http_stream_t;
typedef void (*http_stream_cb)(void *arg);
void http_stream_start(req_t *r, int status, const char *content_type, http_stream_cb drained,
		       http_stream_cb lost, void *arg);
bool http_stream_write(req_t *r, const void *data, size_t len);
bool http_stream_lost(const req_t *r);
void http_stream_end(req_t *r);
/* The whole of file fd (size bytes) as the body, sent from the file by the kernel (sendfile):
 * fd is the answer's now, closed once sent. */
void http_reply_file(req_t *r, int status, const char *content_type, int fd, size_t size);

/* An answer sent as it is produced (Server-Sent Events): 200 with content_type, chunked. */
typedef struct http_sse http_sse_t;
/* Runs once when a stream ends without its owner ending it (the client went away, the server
 * drains or is freed); the stream is freed right after it returns: do not end it. */
typedef void (*http_sse_gone_fn)(void *arg);
/* Answers r (its context is freed) and returns the open stream; NULL when r was answered
 * otherwise instead (the client has gone, the server is draining). max_pending bounds the
 * output not yet taken by the client. */
http_sse_t *http_sse_start(req_t *r, const char *content_type, size_t max_pending,
			   http_sse_gone_fn gone, void *arg);
/* Queues data; false (nothing queued) when the client is too slow: past max_pending. */
bool http_sse_write(http_sse_t *st, const char *data, size_t len);
/* Ends it (the last chunk) and frees it. */
void http_sse_end(http_sse_t *st);
/* Closes its connection now (a client too slow to be sent even the last chunk) and frees it. */
void http_sse_drop(http_sse_t *st);
size_t http_sses_open(const http_server_t *s);

/* Render the envelopes into a buffer (pure, for tests). Return a malloc'd string. */
char *envelope_ok(json_t *data, const char *message);
char *envelope_error(const char *code, const char *message, json_t *details);

#endif
