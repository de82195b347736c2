/* Connection exhaustion (issue 17 §5): idle connections from one client are capped per address
 * and per process with the oldest idle ones closed first, and a process out of file descriptors
 * backs off accept instead of spinning and filling its log. Each test starts its own sellerhubd. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static h_proc_t srv;

TestSuite(connections, .timeout = 120);

/* A connection to the server that sends nothing; non-blocking, so that a full accept queue
 * (a server out of descriptors) does not hold the test up. -1 when the test ran out itself. */
static int idle_connection(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Has the server closed it (end of input or a reset)? */
static bool closed_by_server(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN &&
			  errno != EINPROGRESS);
}

/* For a failure message: what recv says. */
static const char *recv_says(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 ? "end of input" : n > 0 ? "data" : strerror(errno);
}

static int count_open(const int *fds, int n)
{
	int open = 0;
	for (int i = 0; i < n; i++)
		open += fds[i] >= 0 && !closed_by_server(fds[i]);
	return open;
}

/* Opens n idle connections to a server that keeps at most cap of them, in batches smaller than
 * its accept queue (a connection that overflows it arrives late, out of order), waiting after
 * each batch until the server has closed as many of them as the cap says. */
static void open_past_cap(int *fds, int n, int cap)
{
	for (int opened = 0; opened < n;) {
		for (int b = 0; b < 16 && opened < n; b++, opened++) {
			fds[opened] = idle_connection(srv.port);
			cr_assert_geq(fds[opened], 0, "connection %d: %s", opened, strerror(errno));
		}
		int want = opened > cap ? opened - cap : 0;
		cr_assert(H_WAIT_UNTIL(opened - count_open(fds, opened) == want, 5000),
			  "%d of %d connections open, the cap is %d", count_open(fds, opened),
			  opened, cap);
	}
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int count_lines(const char *log)
{
	int n = 0;
	for (const char *p = log; *p; p++)
		n += *p == '\n';
	return n;
}

/* Every line of the server's log is one JSON object. */
static void expect_json_lines(const char *log)
{
	for (const char *line = log; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		json_t *j = json_loadb(line, len, 0, NULL);
		cr_expect(json_is_object(j), "a log line is not JSON: %.*s",
			  (int)(len < 300 ? len : 300), line);
		json_decref(j);
		if (!j)
			return;
		line += len + (end ? 1 : 0);
	}
}

/* The value of a metric line of /metrics ("name{labels} value"), -1 when absent. */
static double metric(const char *name_and_labels)
{
	h_resp_t r = h_http("GET", h_url(&srv, "/metrics"), NULL, NULL);
	const char *at = r.body ? strstr(r.body, name_and_labels) : NULL;
	double v = at ? strtod(at + strlen(name_and_labels), NULL) : -1;
	h_resp_free(&r);
	return v;
}

/* The server's CPU time so far (user + system), in seconds. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the name may hold spaces */
	unsigned long utime = 0, stime = 0;
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
	 * stime */
	cr_assert_eq(
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime),
	    2);
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

Test(connections, idle_connections_past_the_per_address_cap_close_the_oldest_first)
{
	enum { CAP = 32, N = 300 };
	const char *env[] = {"HTTP_MAX_CONNECTIONS_PER_ADDR=32", NULL};
	cr_assert(h_server_start(&srv, env), "sellerhubd did not start: see %s", srv.log_path);
	char *log = h_proc_log(&srv);
	int lines_before = count_lines(log);
	free(log);

	int fds[N];
	open_past_cap(fds, N, CAP);
	/* The oldest went first; the newest stay. */
	for (int i = 0; i < N; i++)
		cr_expect_eq(closed_by_server(fds[i]), i < N - CAP, "connection %d of %d: %s", i, N,
			     recv_says(fds[i]));

	/* A fresh connection gets in at once. */
	h_resp_t r = h_http("GET", h_url(&srv, "/health"), NULL, NULL);
	cr_expect_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect_lt(r.ms, 1000, "/health took %.0f ms past the cap", r.ms);
	h_resp_free(&r);
	cr_expect_geq(metric("sellerhub_http_connections_shed_total{reason=\"per_addr\"} "),
		      N - CAP);

	/* The log says so once, as JSON: not a line per connection. */
	log = h_proc_log_wait(&srv, "connection limits reached", 5000);
	cr_expect_lt(count_lines(log) - lines_before, 20, "the log grew by %d lines",
		     count_lines(log) - lines_before);
	cr_expect(strstr(log, "\"addr\":\"127.0.0.1\""), "%s", log);
	expect_json_lines(log);
	free(log);
	close_all(fds, N);
	h_server_stop_clean(&srv);
}

Test(connections, idle_connections_past_the_process_cap_close_the_oldest_first)
{
	enum { CAP = 40, N = 150 };
	const char *env[] = {"HTTP_MAX_CONNECTIONS=40", "HTTP_MAX_CONNECTIONS_PER_ADDR=100000",
			     NULL};
	cr_assert(h_server_start(&srv, env), "sellerhubd did not start: see %s", srv.log_path);
	int fds[N];
	open_past_cap(fds, N, CAP);
	/* The oldest went first; the newest stay. */
	for (int i = 0; i < N; i++)
		cr_expect_eq(closed_by_server(fds[i]), i < N - CAP, "connection %d of %d: %s", i, N,
			     recv_says(fds[i]));
	h_resp_t r = h_http("GET", h_url(&srv, "/health"), NULL, NULL);
	cr_expect_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect_lt(r.ms, 1000, "/health took %.0f ms past the cap", r.ms);
	h_resp_free(&r);
	close_all(fds, N);
	h_server_stop_clean(&srv);
}

/* A process whose open-file limit is far below its connection cap: the flood reaches EMFILE.
 * It must not spin on a listener that stays readable, nor log per failed accept, and it must
 * serve again once the flood ends. */
Test(connections, a_flood_to_emfile_neither_spins_nor_floods_the_log)
{
	enum { NOFILE = 100, N = 600 };
	struct rlimit mine;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &mine), 0);
	if (mine.rlim_cur < N + 100)
		cr_skip_test("needs %d file descriptors, the limit is %llu", N + 100,
			     (unsigned long long)mine.rlim_cur);
	/* The child inherits the lowered limit; the test takes its own back at once. */
	struct rlimit low = {NOFILE, mine.rlim_max};
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	const char *env[] = {"HTTP_MAX_CONNECTIONS=100000", "HTTP_MAX_CONNECTIONS_PER_ADDR=100000",
			     NULL};
	bool started = h_server_start(&srv, env);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &mine), 0);
	cr_assert(started, "sellerhubd did not start: see %s", srv.log_path);
	/* Ready (its PostgreSQL and Redis connections made) before the flood. */
	h_resp_t r = h_http("GET", h_url(&srv, "/health"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	int fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = idle_connection(srv.port);
		cr_assert_geq(fds[i], 0, "connection %d: %s", i, strerror(errno));
	}
	/* Past the limit: it said so. */
	char *log = h_proc_log_wait(&srv, "Too many open files", 10000);
	free(log);

	/* While the flood holds its connections: no spinning, no line per accept. */
	log = h_proc_log(&srv);
	int lines0 = count_lines(log);
	free(log);
	double cpu0 = cpu_seconds(srv.pid), t0 = h_now();
	usleep(2000 * 1000); /* a window to measure over, not a wait for anything */
	double cpu = cpu_seconds(srv.pid) - cpu0, window = h_now() - t0;
	log = h_proc_log(&srv);
	int grew = count_lines(log) - lines0;
	free(log);
	cr_expect_lt(cpu, 0.5 * window, "%.2f s of CPU in %.2f s while flooded", cpu, window);
	cr_expect_lt(grew, 20, "the log grew by %d lines in %.2f s while flooded", grew, window);

	/* The flood ends: /health answers again, at once. */
	close_all(fds, N);
	cr_assert(H_WAIT_UNTIL(h_get_status(&srv, "/health") == 200, 10000),
		  "/health does not answer after the flood");
	r = h_http("GET", h_url(&srv, "/health"), NULL, NULL);
	cr_expect_eq(r.status, 200);
	cr_expect_lt(r.ms, 1000, "/health took %.0f ms after the flood", r.ms);
	h_resp_free(&r);
	log = h_proc_log(&srv);
	expect_json_lines(log);
	cr_expect(strstr(log, "connection limits reached"), "no JSON line about the limits");
	free(log);
	h_server_stop_clean(&srv);
}
