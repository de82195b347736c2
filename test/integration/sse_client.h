/* A Server-Sent Events client for the tests: GET a stream on a raw socket and read what arrives
 * (chunked framing removed) until a needle shows up or a deadline passes. */
#ifndef SH_TEST_SSE_CLIENT_H
#define SH_TEST_SSE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sse {
	int fd;
	int status; /* the response's status, 0 until its head has arrived */
	char *raw;  /* everything received: head, then the body as sent (chunked) */
	size_t len, cap;
	size_t body_from; /* where the body starts in raw */
	char *text;	  /* the body with the chunk framing removed (sse_text) */
	size_t tlen, tcap;
	size_t pos;  /* the next byte of raw not yet dechunked */
	size_t left; /* of the current chunk: its bytes not yet read, then its CRLF */
	bool chunked, ended;
} sse_t;

/* Connects to 127.0.0.1:port and sends GET path with the bearer token (NULL: none). */
void sse_open(sse_t *s, int port, const char *path, const char *token);
/* The same, reconnecting: Last-Event-ID: last_id (NULL: none). */
void sse_open_after(sse_t *s, int port, const char *path, const char *token, const char *last_id);
/* Reads until the dechunked body contains needle (or the connection closes, or deadline_ms pass):
 * true when it does. */
bool sse_wait(sse_t *s, const char *needle, int deadline_ms);
/* Reads until needle occurs at least n times: true when it does within deadline_ms. */
bool sse_wait_count(sse_t *s, const char *needle, int n, int deadline_ms);
/* The response head has arrived within deadline_ms: its status (0 if not). */
int sse_wait_status(sse_t *s, int deadline_ms);
/* The body so far, dechunked (owned by s). */
const char *sse_text(sse_t *s);
/* How many times needle occurs in the body so far. */
int sse_count(sse_t *s, const char *needle);
/* Reads until the server closes the connection: true if it did within deadline_ms. */
bool sse_wait_closed(sse_t *s, int deadline_ms);
void sse_close(sse_t *s);

#endif
