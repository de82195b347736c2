/* Integration-test harness. Tests run in forked Criterion workers, two at a time, so every
 * server a test starts listens on its own free port. */
#include "harness.h"
#include "migrate.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double h_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int h_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		cr_assert_fail("cannot find a free port: %s", strerror(errno));
	close(fd);
	return ntohs(a.sin_port);
}

const char *h_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		cr_assert_fail("%s is not set: run the tests through scripts/test", name);
	return v;
}

/* A socket connected to 127.0.0.1:port, or -1. */
static int connect_local(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

bool h_port_open(int port)
{
	int fd = connect_local(port);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

int h_connect(int port)
{
	int fd = connect_local(port);
	if (fd < 0)
		cr_assert_fail("cannot connect to 127.0.0.1:%d: %s", port, strerror(errno));
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Every child goes in $SH_TEST_DIR/pids so that scripts/test can kill what a failed test left
 * running (a failed assertion ends the test before its own cleanup). */
void h_track_pid(pid_t pid)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/pids", h_env("SH_TEST_DIR"));
	FILE *f = fopen(path, "a");
	if (f) {
		fprintf(f, "%d\n", (int)pid);
		fclose(f);
	}
}

bool h_proc_start(h_proc_t *p, const char *const argv[], const char *const env[], int port)
{
	static int seq;
	const char *base = strrchr(argv[0], '/');
	snprintf(p->log_path, sizeof(p->log_path), "%s/%s-%d-%d-%d.log", h_env("SH_TEST_DIR"),
		 base ? base + 1 : argv[0], port, (int)getpid(), ++seq);
	p->port = port;
	size_t nenv = 0, nextra = 0, nargs = 0;
	while (environ[nenv])
		nenv++;
	while (env && env[nextra])
		nextra++;
	while (argv[nargs])
		nargs++;
	/* execve takes char *const[]: copy the pointers rather than cast const away. */
	/* An extra "K=V" replaces the inherited K: getenv() would find the first one. */
	char **envp = calloc(nenv + nextra + 1, sizeof(*envp));
	size_t n = 0;
	for (size_t i = 0; i < nenv; i++) {
		bool overridden = false;
		size_t klen = strcspn(environ[i], "=");
		for (size_t j = 0; j < nextra && !overridden; j++)
			overridden = strncmp(env[j], environ[i], klen + 1) == 0;
		if (!overridden)
			envp[n++] = environ[i];
	}
	if (nextra)
		memcpy(envp + n, env, nextra * sizeof(*envp));
	char **args = calloc(nargs + 1, sizeof(*args));
	memcpy(args, argv, nargs * sizeof(*args));
	p->pid = fork();
	cr_assert_neq(p->pid, -1, "fork: %s", strerror(errno));
	if (p->pid == 0) {
		int fd = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execve(args[0], args, envp);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	free(envp);
	free(args);
	h_track_pid(p->pid);
	int st;
	bool exited = false;
	if (H_WAIT_UNTIL(h_port_open(port) || (exited = waitpid(p->pid, &st, WNOHANG) == p->pid),
			 10000) &&
	    !exited)
		return true;
	if (exited)
		p->pid = 0;
	else
		h_proc_stop(p, SIGKILL);
	return false;
}

int h_proc_stop(h_proc_t *p, int sig)
{
	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	int st = 0;
	if (H_WAIT_UNTIL(waitpid(p->pid, &st, WNOHANG) == p->pid, 15000)) {
		p->pid = 0;
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &st, 0);
	p->pid = 0;
	return 128 + SIGKILL;
}

char *h_proc_log(const h_proc_t *p)
{
	FILE *f = fopen(p->log_path, "rb");
	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	size_t got = fread(s, 1, (size_t)n, f);
	s[got] = 0;
	fclose(f);
	return s;
}

char *h_proc_log_wait(const h_proc_t *p, const char *needle, int deadline_ms)
{
	char *log = NULL;
	bool found = H_WAIT_UNTIL((free(log), log = h_proc_log(p), strstr(log, needle) != NULL),
				  deadline_ms);
	if (!found)
		cr_assert_fail("no \"%s\" in the log of pid %d within %d ms:\n%s", needle,
			       (int)p->pid, deadline_ms, log);
	return log;
}

h_wait_t h_wait_begin(int deadline_ms)
{
	return (h_wait_t){h_now() + deadline_ms / 1000.0, 1000};
}

bool h_wait_more(h_wait_t *w)
{
	double left = w->deadline - h_now();
	if (left <= 0)
		return false;
	int pause = w->interval_us < left * 1e6 ? w->interval_us : (int)(left * 1e6) + 1;
	usleep((useconds_t)pause);
	if (w->interval_us < 100000)
		w->interval_us *= 2;
	return true;
}

bool h_wait_until(bool (*cond)(void *arg), void *arg, int deadline_ms)
{
	return H_WAIT_UNTIL(cond(arg), deadline_ms);
}

typedef struct buf {
	char *data;
	size_t len;
} buf_t;

static size_t collect(char *ptr, size_t size, size_t n, void *arg)
{
	buf_t *b = arg;
	size_t add = size * n;
	b->data = realloc(b->data, b->len + add + 1);
	memcpy(b->data + b->len, ptr, add);
	b->len += add;
	b->data[b->len] = 0;
	return add;
}

h_resp_t h_http(const char *method, const char *url, const char *body, const char *const headers[])
{
	h_resp_t r = {0};
	buf_t b = {calloc(1, 1), 0}, h = {calloc(1, 1), 0};
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	bool has_type = false;
	for (size_t i = 0; headers && headers[i]; i++) {
		hl = curl_slist_append(hl, headers[i]);
		has_type |= strncasecmp(headers[i], "Content-Type:", 13) == 0;
	}
	if (body && !has_type)
		hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	double t0 = h_now();
	CURLcode rc = curl_easy_perform(c);
	r.ms = (h_now() - t0) * 1000;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	r.body = b.data;
	r.len = b.len;
	r.headers = h.data;
	r.json = b.len ? json_loadb(b.data, b.len, 0, NULL) : NULL;
	return r;
}

void h_resp_free(h_resp_t *r)
{
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

long h_get_status(const h_proc_t *p, const char *path)
{
	h_resp_t r = h_http("GET", h_url(p, path), NULL, NULL);
	long status = r.status;
	h_resp_free(&r);
	return status;
}

const char *h_header(const h_resp_t *r, const char *name)
{
	static __thread char value[1024];
	size_t n = strlen(name);
	for (const char *line = r->headers; line && *line;) {
		const char *eol = strstr(line, "\r\n");
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (len > n && line[n] == ':' && strncasecmp(line, name, n) == 0) {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			size_t vlen = len - (size_t)(v - line);
			snprintf(value, sizeof(value), "%.*s", (int)vlen, v);
			return value;
		}
		line = eol ? eol + 2 : line + len;
	}
	return NULL;
}

static size_t discard(char *ptr, size_t size, size_t n, void *arg)
{
	return size * n;
}

void h_http_many(const char *method, const char *url, int n, long *out)
{
	h_http_many_bodies(method, url, NULL, n, out);
}

void h_http_many_bodies(const char *method, const char *url, char *const *bodies, int n, long *out)
{
	CURLM *m = curl_multi_init();
	CURL **easy = calloc((size_t)n, sizeof(CURL *));
	struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n);
	for (int i = 0; i < n; i++) {
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_CUSTOMREQUEST, method);
		if (bodies) {
			curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, bodies[i]);
			curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hl);
		}
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(easy[i], CURLOPT_TIMEOUT, 60L);
		curl_easy_setopt(easy[i], CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(easy[i], CURLOPT_PRIVATE, (char *)&out[i]);
		out[i] = 0;
		curl_multi_add_handle(m, easy[i]);
	}
	int running = 1;
	while (running) {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	for (int i = 0; i < n; i++) {
		curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &out[i]);
		curl_multi_remove_handle(m, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	curl_slist_free_all(hl);
	free(easy);
	curl_multi_cleanup(m);
}

int h_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define TEST_JWT_SECRET "test-jwt-secret-0123456789abcdef0123456789abcdef"
#define TEST_ENC_KEY	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

const char *h_job_queue(void)
{
	static char queue[32];
	snprintf(queue, sizeof(queue), "test-%d", (int)getpid()); /* criterion forks per test */
	return queue;
}

bool h_server_start(h_proc_t *p, const char *const extra_env[])
{
	static char port_env[32];
	int port = h_free_port();
	snprintf(port_env, sizeof(port_env), "PORT=%d", port);
	const char *env[64] = {port_env, "JWT_SECRET=" TEST_JWT_SECRET,
			       "ENCRYPTION_KEY=" TEST_ENC_KEY, "LOG_LEVEL=info", "BIND=127.0.0.1"};
	size_t n = 5;
	for (size_t i = 0; extra_env && extra_env[i] && n < 63; i++)
		env[n++] = extra_env[i];
	/* The janitor claims due work of every account in the shared database, with this
	 * server's settings and marketsim: another test's account would be synced or refreshed
	 * against the wrong marketsim. Its token and sync sweeps wait an hour, and the Tiny
	 * channel's ERP sweep is off, unless a test asks for them. */
	/* Every test's servers read their own job stream: on the shared one, a server of another
	 * test (or one pointed at a private database) took entries of this test's jobs and
	 * claimed them in vain, and they waited for the sweeper's re-dispatch (30 s). */
	static char queue_env[64];
	snprintf(queue_env, sizeof(queue_env), "JOB_QUEUE=%s", h_job_queue());
	/* Alerts too: a server hands out every tenant's due alert deliveries, on its own queue. */
	const char *const quiet[] = {"SYNC_SWEEP_MS=3600000", "TOKEN_SWEEP_MS=3600000",
				     "TINY_SWEEP_MS=0", queue_env, "ALERT_SWEEP_MS=3600000",
				     "ALERT_OUTBOX_MS=0",
				     /* the tests' webhook sinks listen on 127.0.0.1 */
				     "ALERT_WEBHOOK_ALLOW_PRIVATE=1"};
	for (size_t q = 0; q < sizeof(quiet) / sizeof(quiet[0]) && n < 63; q++) {
		bool given = false;
		size_t klen = strcspn(quiet[q], "=") + 1;
		for (size_t i = 0; extra_env && extra_env[i]; i++)
			given |= strncmp(extra_env[i], quiet[q], klen) == 0;
		if (!given)
			env[n++] = quiet[q];
	}
	env[n] = NULL;
	const char *argv[] = {h_env("SELLERHUBD"), "serve", NULL};
	return h_proc_start(p, argv, env, port);
}

void h_server_stop_clean(h_proc_t *p)
{
	int status = h_proc_stop(p, SIGTERM);
	char *log = h_proc_log(p);
	cr_expect_eq(status, 0, "sellerhubd exited %d:\n%s", status, log);
	free(log);
}

bool h_marketsim_start(h_proc_t *p, const char *const extra_args[])
{
	static char port_arg[16];
	int port = h_free_port();
	snprintf(port_arg, sizeof(port_arg), "%d", port);
	const char *argv[64] = {h_env("MARKETSIM"), "--port", port_arg};
	size_t n = 3;
	for (size_t i = 0; extra_args && extra_args[i] && n < 63; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;
	return h_proc_start(p, argv, NULL, port);
}

const char *h_url(const h_proc_t *p, const char *path)
{
	static __thread char bufs[8][2048];
	static __thread int next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof(bufs[0]), "http://127.0.0.1:%d%s", p->port, path);
	return b;
}

json_t *h_json_path(json_t *root, const char *path)
{
	char key[128];
	json_t *cur = root;
	while (cur && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(key))
					 : json_object_get(cur, key);
		path += n + (path[n] == '.');
	}
	return cur;
}

static char *sql_run(const char *url, const char *sql)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/sql-%d.txt", h_env("SH_TEST_DIR"), (int)getpid());
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(sql, f);
	fclose(f);
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "psql -X -q -tA '%s' -f '%s' 2>&1", url, path);
	FILE *p = popen(cmd, "r");
	char *out = calloc(1, 65536);
	size_t n = fread(out, 1, 65535, p);
	out[n] = 0;
	pclose(p);
	out[strcspn(out, "\n")] = 0;
	return out;
}

char *h_sql_text(const char *fmt, ...)
{
	char sql[65536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return sql_run(h_env("DATABASE_URL"), sql);
}

static long long sql_int(const char *url, const char *fmt, va_list ap)
{
	char sql[65536];
	vsnprintf(sql, sizeof(sql), fmt, ap);
	char *out = sql_run(url, sql);
	char *end;
	long long v = strtoll(out, &end, 10);
	if (end == out)
		v = -1;
	free(out);
	return v;
}

long long h_sql_int(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	long long v = sql_int(h_env("DATABASE_URL"), fmt, ap);
	va_end(ap);
	return v;
}

long long h_sql_int_at(const char *database_url, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	long long v = sql_int(database_url, fmt, ap);
	va_end(ap);
	return v;
}

long long h_redis_int(const char *fmt, ...)
{
	char args[2048], cmd[2600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "redis-cli -u '%s' %s 2>&1", h_env("REDIS_URL"), args);
	FILE *p = popen(cmd, "r");
	char out[256] = "";
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	pclose(p);
	char *end;
	long long v = strtoll(out, &end, 10);
	return end == out || (*end && *end != '\n') ? -1 : v;
}

/* A new empty database on the shared PostgreSQL, named for this process and prefix: its URL
 * (the shared one's with the name replaced) into url. */
static void database_new(const char *prefix, char *url, size_t size)
{
	static int seq;
	char name[64];
	snprintf(name, sizeof(name), "%s_%d_%ld_%d", prefix, (int)getpid(), (long)time(NULL),
		 ++seq);
	char *made = h_sql_text("CREATE DATABASE %s", name);
	cr_assert_str_eq(made, "", "CREATE DATABASE %s: %s", name, made);
	free(made);
	const char *shared = h_env("DATABASE_URL");
	const char *slash = strrchr(shared, '/');
	cr_assert_not_null(slash, "DATABASE_URL %s has no database name", shared);
	const char *query = strchr(slash, '?');
	snprintf(url, size, "%.*s%s%s", (int)(slash + 1 - shared), shared, name,
		 query ? query : "");
}

/* sellerhubd migrate on database_url with the migrations of sql_dir, its output in a log under
 * $SH_TEST_DIR: the exit status. */
static int migrate_with(const char *database_url, const char *sql_dir)
{
	static int seq;
	return h_sh("DATABASE_URL='%s' SQL_DIR='%s' '%s' migrate >'%s/migrate-%d-%d.log' 2>&1",
		    database_url, sql_dir, h_env("SELLERHUBD"), h_env("SH_TEST_DIR"), (int)getpid(),
		    ++seq);
}

int h_migrate(const char *database_url)
{
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/sql", h_env("SH_ROOT"));
	return migrate_with(database_url, dir);
}

const char *h_database_private(void)
{
	static char url[512];
	database_new("sh_own", url, sizeof(url));
	cr_assert_eq(h_migrate(url), 0, "sellerhubd migrate on %s failed", url);
	setenv("DATABASE_URL", url, 1);
	return url;
}

const char *h_private_db_at(int version)
{
	static __thread char url[512];
	database_new("sh_at", url, sizeof(url));
	/* The migrations up to version, copied beside each other as sellerhubd finds them. */
	char src[600], dir[600];
	snprintf(src, sizeof(src), "%s/sql", h_env("SH_ROOT"));
	snprintf(dir, sizeof(dir), "%s/sql-%04d-%d", h_env("SH_TEST_DIR"), version, (int)getpid());
	cr_assert_eq(h_sh("rm -rf '%s' && mkdir -p '%s'", dir, dir), 0);
	DIR *d = opendir(src);
	cr_assert_not_null(d, "%s: %s", src, strerror(errno));
	int copied = 0;
	for (struct dirent *e; (e = readdir(d));) {
		int v;
		if (!migrate_parse_name(e->d_name, &v) || v > version)
			continue;
		cr_assert_eq(h_sh("cp '%s/%s' '%s/'", src, e->d_name, dir), 0);
		copied++;
	}
	closedir(d);
	cr_assert_eq(copied, version, "sql/ has not every migration up to %04d", version);
	cr_assert_eq(migrate_with(url, dir), 0, "sellerhubd migrate to %04d on %s failed", version,
		     url);
	cr_assert_eq(h_sql_int_at(url, "SELECT max(version) FROM schema_migrations"), version);
	return url;
}

void h_private_db_drop(const char *database_url)
{
	const char *slash = strrchr(database_url, '/'), *query = strchr(slash, '?');
	int len = query ? (int)(query - slash - 1) : (int)strlen(slash + 1);
	char *out = h_sql_text("DROP DATABASE %.*s", len, slash + 1);
	cr_assert_str_eq(out, "", "DROP DATABASE %.*s: %s", len, slash + 1, out);
	free(out);
}

void h_services_start(h_services_t *s)
{
	static int seq;
	snprintf(s->dir, sizeof(s->dir), "%s/services-%d-%d", h_env("SH_TEST_DIR"), (int)getpid(),
		 ++seq);
	for (int attempt = 0; attempt < 3; attempt++) {
		s->pg_port = h_free_port();
		s->redis_port = h_free_port();
		if (h_sh("cd '%s' && SERVICES_DIR='%s' PG_PORT=%d REDIS_PORT=%d REDIS_AOF=no "
			 "PG_FSYNC=off PG_DB=sellerhub scripts/services start >/dev/null 2>&1",
			 h_env("SH_ROOT"), s->dir, s->pg_port, s->redis_port) == 0)
			break;
		h_services(s, "stop", "");
	}
	snprintf(s->database_url, sizeof(s->database_url),
		 "postgresql://sellerhub@127.0.0.1:%d/sellerhub", s->pg_port);
	snprintf(s->redis_url, sizeof(s->redis_url), "redis://127.0.0.1:%d", s->redis_port);
}

int h_services(const h_services_t *s, const char *verb, const char *which)
{
	return h_sh("cd '%s' && SERVICES_DIR='%s' PG_PORT=%d REDIS_PORT=%d REDIS_AOF=no "
		    "scripts/services %s %s >/dev/null 2>&1",
		    h_env("SH_ROOT"), s->dir, s->pg_port, s->redis_port, verb, which);
}

void h_redis_start(h_redis_t *r)
{
	if (!r->port) {
		r->port = h_free_port();
		snprintf(r->url_env, sizeof(r->url_env), "REDIS_URL=redis://127.0.0.1:%d", r->port);
	}
	char port[16];
	snprintf(port, sizeof(port), "%d", r->port);
	const char *argv[] = {"/usr/bin/redis-server", "--port", port,	   "--save",	"",
			      "--appendonly",	       "no",	 "--bind", "127.0.0.1", NULL};
	cr_assert(h_proc_start(&r->proc, argv, NULL, r->port), "redis-server did not start");
}

void h_sql_ok(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	char *out = h_sql_text("%s", buf);
	cr_assert_not_null(out, "%s", buf);
	cr_assert_null(strstr(out, "ERROR"), "%s: %s", buf, out);
	free(out);
}

const char *h_fmt(const char *fmt, ...)
{
	static __thread char bufs[4][1024];
	static __thread int next;
	char *b = bufs[next++ % 4];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}
