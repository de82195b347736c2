/* Integration-test harness: free ports, child processes, blocking HTTP with libcurl, and the
 * settings that scripts/test exports (SH_TEST_DIR, DATABASE_URL, REDIS_URL, SELLERHUBD, ...). */
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

int h_free_port(void);
double h_now(void);		     /* seconds on the monotonic clock */
const char *h_env(const char *name); /* getenv, or fail the test naming the variable */
/* Start argv with the environment plus extra "K=V" entries (NULL-terminated, may be NULL),
 * output to a log file under $SH_TEST_DIR; wait up to 10 s until 127.0.0.1:port accepts. */
bool h_proc_start(h_proc_t *p, const char *const argv[], const char *const env[], int port);
/* Record a child pid so scripts/test kills it if the test dies first (h_proc_start does). */
void h_track_pid(pid_t pid);
/* Send sig, wait up to 15 s (then SIGKILL); the exit status, or 128+signal if killed by one. */
int h_proc_stop(h_proc_t *p, int sig);
/* Whole log of a process (malloc'd). */
char *h_proc_log(const h_proc_t *p);
/* Its log once it contains needle (malloc'd); the test fails, showing the log, if it does not
 * within deadline_ms. */
char *h_proc_log_wait(const h_proc_t *p, const char *needle, int deadline_ms);

/* Waiting for a condition, never for a time: poll it (every 1 ms at first, backing off to 128 ms)
 * until it holds or deadline_ms have passed. True when it held. */
bool h_wait_until(bool (*cond)(void *arg), void *arg, int deadline_ms);
/* The same for an expression, evaluated once more at each poll:
 *	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT ...") == 0, 10000), "still pending");	*/
#define H_WAIT_UNTIL(expr, deadline_ms)                                                            \
	({                                                                                         \
		h_wait_t h_w_ = h_wait_begin(deadline_ms);                                         \
		bool h_ok_;                                                                        \
		while (!(h_ok_ = (expr)) && h_wait_more(&h_w_))                                    \
			;                                                                          \
		h_ok_;                                                                             \
	})
typedef struct h_wait {
	double deadline;
	int interval_us;
} h_wait_t;
h_wait_t h_wait_begin(int deadline_ms);
/* Pause one poll interval; false (without pausing) once the deadline has passed. */
bool h_wait_more(h_wait_t *w);

typedef struct h_resp {
	long status;
	char *body;
	size_t len;
	json_t *json;
	char *headers;
	double ms;
} h_resp_t;

/* Blocking request; json is the parsed body or NULL; headers is the raw header block. */
h_resp_t h_http(const char *method, const char *url, const char *body, const char *const headers[]);
void h_resp_free(h_resp_t *r);
/* The status of GET path on p (0 when it did not answer): H_WAIT_UNTIL(h_get_status(...) == 503).
 */
long h_get_status(const h_proc_t *p, const char *path);
/* Case-insensitive header value of the response (thread-local copy), NULL when absent. */
const char *h_header(const h_resp_t *r, const char *name);
/* n identical requests all in flight at once (libcurl multi); statuses into out[n]. */
void h_http_many(const char *method, const char *url, int n, long *out);
/* The same, each request with its JSON body (bodies[i]). */
void h_http_many_bodies(const char *method, const char *url, char *const *bodies, int n, long *out);

/* Run a shell command; its exit status. */
int h_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sellerhubd on a free port with the test database and Redis; extra env may override. */
/* The job queue h_server_start gives a server unless extra_env names one (JOB_QUEUE=...):
 * one per test, so a job a test inserts runs in its own servers. */
const char *h_job_queue(void);
bool h_server_start(h_proc_t *p, const char *const extra_env[]);
/* Stop a sellerhubd with SIGTERM and expect exit 0, which under `make asan` also means no
 * sanitizer report; the log is shown when it is not. */
void h_server_stop_clean(h_proc_t *p);
/* marketsim on a free port. */
bool h_marketsim_start(h_proc_t *p, const char *const extra_args[]);
/* "http://127.0.0.1:PORT" + path into a static buffer (one per thread, rotating). */
const char *h_url(const h_proc_t *p, const char *path);
/* One value from the test database (psql -tA): the first column of the first row, as text
 * (malloc'd, "" when none) or as an integer (-1 when none). */
char *h_sql_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
long long h_sql_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* SQL that must succeed, its output dropped (the test fails naming the statement). */
void h_sql_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A string built with printf, in one of a few rotating buffers of this thread (paths). */
const char *h_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, from another database (a private instance's). */
long long h_sql_int_at(const char *database_url, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An integer reply of redis-cli on the test Redis (REDIS_URL); the arguments are shell words.
 * -1 when the reply is not an integer. */
long long h_redis_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A database of this test's own on the shared PostgreSQL, migrated (sellerhubd migrate). From
 * then on DATABASE_URL names it, for h_sql_* and every server the test starts: Criterion runs
 * each test in its own process, so no other test sees the change. For tests that read
 * database-wide statistics (pg_stat_*, last_analyze), which other suites would otherwise move.
 * Returns the URL. */
const char *h_database_private(void);
/* A database of this test's own on the shared PostgreSQL migrated only up to version (the
 * checkout's sql/ migrations numbered up to it), for a migration test: fill it as the old schema
 * had it, then h_migrate it on. DATABASE_URL is left as it is. Returns its URL (one per thread). */
const char *h_private_db_at(int version);
/* sellerhubd migrate on that database with every migration of the checkout: its exit status. */
int h_migrate(const char *database_url);
/* Drop a database h_private_db_at made (nothing may be connected to it). */
void h_private_db_drop(const char *database_url);

/* A private PostgreSQL + Redis (scripts/services) under $SH_TEST_DIR that a test may stop and
 * start without disturbing the others. */
typedef struct h_services {
	char dir[512], database_url[256], redis_url[128];
	int pg_port, redis_port;
} h_services_t;
void h_services_start(h_services_t *s);
/* verb: start|stop; which: postgres|redis|"" (both). Returns the script's exit status. */
int h_services(const h_services_t *s, const char *verb, const char *which);

/* A private redis-server (no persistence) that a test may kill and start again on its port. */
typedef struct h_redis {
	h_proc_t proc;
	int port;
	char url_env[64]; /* "REDIS_URL=redis://127.0.0.1:PORT" for h_server_start */
} h_redis_t;
void h_redis_start(h_redis_t *r); /* on a free port the first time, the same port after */
/* Does 127.0.0.1:port accept connections? */
bool h_port_open(int port);
/* A raw connection to 127.0.0.1:port (reads time out after 10 s), or the test fails. */
int h_connect(int port);

/* Dotted path lookup in JSON ("data.user.id"). */
json_t *h_json_path(json_t *root, const char *path);

#endif
