/* Outgoing HTTP on the event loop: libcurl multi driven by libevent (socket + timer callbacks).
 * Every marketplace client calls out through here: per-attempt timeouts, a response size cap,
 * retries with exponential backoff and full jitter for connection errors, 5xx and 429 (honouring
 * Retry-After), and a token-bucket rate limiter keyed by (provider, account, operation) that is
 * waited on before each attempt. Connections are reused per host by the multi handle. */
#ifndef SH_HTTPC_H
#define SH_HTTPC_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"

typedef struct httpc httpc_t;

typedef struct httpc_request {
	const char *method;	    /* "GET" when NULL */
	const char *url;	    /* required */
	const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
	const char *body;	    /* request body or NULL */
	size_t body_len;
	long timeout_ms;	 /* per attempt; 0 = 15000 */
	long connect_timeout_ms; /* 0 = 5000 */
	size_t max_response;	 /* body cap in bytes; 0 = 8 MiB; larger is an error */
	int max_retries;	 /* retries after the first attempt; -1 = none, 0 = default 3 */
	const char *limiter_key; /* e.g. "ml:12345:items"; NULL = not rate limited */
} httpc_request_t;

typedef struct httpc_response {
	long status;	  /* HTTP status of the last attempt; 0 when none arrived */
	const char *body; /* NUL-terminated; valid only during the callback */
	size_t body_len;
	const char *error; /* NULL on an HTTP answer, else why there was none */
	int attempts;
	double elapsed_ms;	/* from httpc_send to the callback, waits included */
	int64_t retry_after_ms; /* parsed Retry-After of the last attempt, -1 when absent */
	const struct httpc_hdr *headers; /* response headers of the last attempt */
} httpc_response_t;

/* Called exactly once per httpc_send, on the loop, with the final outcome (after retries). */
typedef void (*httpc_cb)(const httpc_response_t *resp, void *arg);

httpc_t *httpc_new(struct event_base *base, ratelimit_t *limiter);
/* Fails every request still in flight with error "shutting down", then frees. */
void httpc_free(httpc_t *c);
/* Copies what it needs from req; returns false only for an invalid request (no URL). */
bool httpc_send(httpc_t *c, const httpc_request_t *req, httpc_cb cb, void *arg);
/* Case-insensitive response header lookup; NULL when absent. */
const char *httpc_header(const httpc_response_t *resp, const char *name);
size_t httpc_in_flight(const httpc_t *c);

#endif
