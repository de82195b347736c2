/* What the alerts suite delivers to: a small HTTP server that records each request and answers
 * the statuses a test scripts, and a small SMTP server that records each message. Both are real
 * sockets on free ports served by a thread of the test, so sellerhub's own webhook client and
 * libcurl's SMTP run unchanged. */
#ifndef SH_TEST_ALERT_SINKS_H
#define SH_TEST_ALERT_SINKS_H

#include <pthread.h>
#include <stdbool.h>

#define SINK_MAX 32

typedef struct sink {
	int port, fd;
	bool smtp;
	pthread_t thread;
	pthread_mutex_t lock;
	volatile bool stop;
	int statuses[SINK_MAX]; /* the HTTP answers in order; 0 (past them): 200 */
	int n;			/* what was received */
	char *heads[SINK_MAX];	/* HTTP: the request head; SMTP: the envelope (MAIL, RCPT) */
	char *bodies[SINK_MAX]; /* HTTP: the body; SMTP: the message */
} sink_t;

/* Listen on a free port and serve until sink_stop. statuses: 0-terminated, or NULL. */
void sink_start(sink_t *s, bool smtp, const int *statuses);
void sink_stop(sink_t *s);
/* How many requests or messages arrived so far. */
int sink_count(sink_t *s);
/* A copy of request i's head or body (free it), NULL when there is none yet. */
char *sink_head(sink_t *s, int i);
char *sink_body(sink_t *s, int i);
/* The value of header name in an HTTP head (a copy), NULL when absent. */
char *sink_header(const char *head, const char *name);

#endif
