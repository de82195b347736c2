/* Test harness for integration tests: start and stop real processes on free ports, and make
 * blocking HTTP requests with libcurl. Every test starts its own processes, so Criterion's
 * parallel jobs never share one. */
#ifndef SH_TEST_HARNESS_H
#define SH_TEST_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct h_proc {
	pid_t pid;
	int port;
	char log_path[512];
} h_proc_t;

/* A free TCP port on 127.0.0.1. */
int h_free_port(void);
/* getenv, or cr_assert-fail with a clear message. */
const char *h_env(const char *name);
/* Start argv[0] with the current environment plus extra "K=V" entries (NULL-terminated, may be
 * NULL), stdout+stderr to a log file under $SH_TEST_DIR; wait up to 10 s until 127.0.0.1:port
 * accepts. */
bool h_proc_start(h_proc_t *p, const char *const argv[], const char *const env[], int port);
/* Send sig, wait up to 15 s (then SIGKILL); return the exit status, or 128+signal if killed. */
int h_proc_stop(h_proc_t *p, int sig);

typedef struct h_resp {
	long status; /* 0 when no HTTP answer arrived */
	char *body;
	size_t len;
	json_t *json;  /* parsed body, or NULL */
	char *headers; /* raw header block */
	double ms;
} h_resp_t;

/* Blocking request with libcurl easy; headers is a NULL-terminated list of "Name: value". */
h_resp_t h_http(const char *method, const char *url, const char *body, const char *const headers[]);
void h_resp_free(h_resp_t *r);
/* Case-insensitive header lookup; the value is copied into thread-local storage (valid until the
 * next call). NULL when absent. */
const char *h_header(const h_resp_t *r, const char *name);

/* Start $MARKETSIM on a free port with extra_args (NULL-terminated, may be NULL). */
bool h_marketsim_start(h_proc_t *p, const char *const extra_args[]);
/* "http://127.0.0.1:<port><path>" in thread-local storage (valid until the next call). */
const char *h_url(const h_proc_t *p, const char *path);

#endif
