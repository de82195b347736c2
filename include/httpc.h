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
	const char *url;	    /* required, http:// or https:// */
	const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
	const char *body;	    /* request body or NULL */
	size_t body_len;
	long timeout_ms;	 /* per attempt, queueing for a connection included; 0 = 15000 */
	long connect_timeout_ms; /* 0 = 5000 */
	size_t max_response;	 /* body cap in bytes; 0 = 8 MiB; larger is an error */
	int max_retries;	 /* retries after the first attempt; -1 = none, 0 = default 3 */
	const char *limiter_key; /* e.g. "ml:12345:items"; NULL = not rate limited */
	const char *user_agent;	 /* NULL = the client's (httpc_set_user_agent) */
	/* POST and PATCH are retried only when the request surely did not take effect (no
	 * connection, 429, 503). Set this when repeating it is harmless (an idempotency key). */
	bool idempotent;
	/* A URL someone outside gave (an alert webhook): connect only to public addresses, as the
	 * name resolves at connect time (netaddr_is_internal refused: HTTPC_ERR_REFUSED), on a
	 * fresh connection and never through a proxy. */
	bool public_only;
} httpc_request_t;

/* One response header; name as the server spelled it, value trimmed. */
struct httpc_hdr {
	const char *name;
	const char *value;
};

/* Why a request ended without an HTTP answer. */
enum httpc_error {
	HTTPC_OK,	     /* an HTTP answer arrived (any status) */
	HTTPC_ERR_TIMEOUT,   /* the attempt passed timeout_ms or connect_timeout_ms */
	HTTPC_ERR_CONNECT,   /* resolve, connect or TLS handshake failed */
	HTTPC_ERR_NETWORK,   /* the connection broke mid-exchange or closed with no answer */
	HTTPC_ERR_TOO_LARGE, /* the body passed max_response */
	HTTPC_ERR_SHUTDOWN,  /* httpc_free ran first */
	HTTPC_ERR_REFUSED,   /* public_only: every address of the host was an internal one */
	HTTPC_ERR_OTHER,
};

typedef struct httpc_response {
	long status;	  /* HTTP status of the last attempt; 0 when none arrived */
	const char *body; /* NUL-terminated; valid only during the callback */
	size_t body_len;
	const char *error; /* NULL on an HTTP answer, else why there was none */
	int attempts;
	double elapsed_ms;	/* from httpc_send to the callback, waits included */
	int64_t retry_after_ms; /* parsed Retry-After of the last attempt, -1 when absent */
	const struct httpc_hdr *headers; /* response headers of the last attempt (nheaders) */
	size_t nheaders;
	enum httpc_error err; /* HTTPC_OK exactly when error is NULL */
} httpc_response_t;

/* Counters since httpc_new, for the metrics module to export. */
struct httpc_stats {
	uint64_t requests;	  /* httpc_send calls accepted */
	uint64_t attempts;	  /* transfers started, first tries and retries */
	uint64_t retries;	  /* attempts scheduled after a retryable outcome */
	uint64_t failures;	  /* requests that ended without an HTTP answer */
	uint64_t throttled;	  /* 429 answers received */
	uint64_t ratelimit_waits; /* times a request queued for a rate-limiter token */
	uint64_t timeouts;	  /* attempts that timed out */
	uint64_t too_large;	  /* responses cut at max_response */
	size_t in_flight;	  /* accepted and not yet called back */
};

/* Called exactly once per accepted httpc_send, on the loop and never from inside httpc_send,
 * with the final outcome (after retries). It may call httpc_send and httpc_free. */
typedef void (*httpc_cb)(const httpc_response_t *resp, void *arg);

/* limiter may be NULL; when given it must outlive the client. */
httpc_t *httpc_new(struct event_base *base, ratelimit_t *limiter);
/* Fails every request still in flight with error "shutting down", then frees. Safe inside a
 * callback: the memory goes once the callback returns. */
void httpc_free(httpc_t *c);
/* Copies what it needs from req; returns false only for an invalid request (no or unparseable
 * URL, not http/https, no callback) or while httpc_free is failing the requests in flight. */
bool httpc_send(httpc_t *c, const httpc_request_t *req, httpc_cb cb, void *arg);
/* Case-insensitive response header lookup; NULL when absent. */
const char *httpc_header(const httpc_response_t *resp, const char *name);
/* Append "name=<urlencoded value>" to the form body in buf (size bytes, NUL-terminated), after
 * an "&" unless it is the first field. The encoded copy is cleared: values are often secrets. */
void httpc_form_add(char *buf, size_t size, const char *name, const char *value);
size_t httpc_in_flight(const httpc_t *c);
void httpc_stats(const httpc_t *c, struct httpc_stats *out);

/* Tuning; the defaults (in httpc.c) suit the marketplaces. base/cap shape the jittered
 * backoff; a Retry-After above retry_after_cap_ms is not waited out but handed back. */
void httpc_set_backoff(httpc_t *c, int64_t base_ms, int64_t cap_ms, int64_t retry_after_cap_ms);
/* Connections per host (default 16); further transfers queue inside libcurl. 0 = no limit. */
void httpc_set_max_host_connections(httpc_t *c, long n);
void httpc_set_user_agent(httpc_t *c, const char *ua);

#endif
