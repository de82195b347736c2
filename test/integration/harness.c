/* The integration-test harness: processes on free ports and blocking HTTP with libcurl. */
#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
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

int h_free_port(void)
{
	/* Bind port 0 and read the port back; the kernel does not hand it out again at once. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s", strerror(errno));
	socklen_t len = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	close(fd);
	return ntohs(sa.sin_port);
}

const char *h_env(const char *name)
{
	const char *v = getenv(name);
	cr_assert(v && *v,
		  "environment variable %s is not set (run the tests through scripts/test)", name);
	return v;
}

static bool port_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool h_proc_start(h_proc_t *p, const char *const argv[], const char *const env[], int port)
{
	static int seq;
	const char *dir = h_env("SH_TEST_DIR");
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	snprintf(p->log_path, sizeof(p->log_path), "%s/%s-%d-%d-%d.log", dir, base, port,
		 (int)getpid(), ++seq);
	p->port = port;
	size_t nenv = 0, nextra = 0;
	while (environ[nenv])
		nenv++;
	while (env && env[nextra])
		nextra++;
	char **envp = calloc(nenv + nextra + 1, sizeof(*envp));
	for (size_t i = 0; i < nenv; i++)
		envp[i] = environ[i];
	/* execve takes char *const[]: copy the pointers rather than cast const away. */
	if (nextra)
		memcpy(envp + nenv, env, nextra * sizeof(*envp));
	size_t nargs = 0;
	while (argv[nargs])
		nargs++;
	char **args = calloc(nargs + 1, sizeof(*args));
	memcpy(args, argv, nargs * sizeof(*args));
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
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
	p->pid = pid;
	double deadline = now_s() + 10;
	while (now_s() < deadline) {
		if (port_accepts(port))
			return true;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			p->pid = 0;
			return false;
		}
		usleep(10000);
	}
	h_proc_stop(p, SIGKILL);
	return false;
}

int h_proc_stop(h_proc_t *p, int sig)
{
	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	double deadline = now_s() + 15;
	int st = 0;
	pid_t got = 0;
	while ((got = waitpid(p->pid, &st, WNOHANG)) == 0 && now_s() < deadline)
		usleep(5000);
	if (got == 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &st, 0);
	}
	p->pid = 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

struct growbuf {
	char *data;
	size_t len;
};

static size_t collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct growbuf *b = arg;
	size_t add = size * n;
	char *d = realloc(b->data, b->len + add + 1);
	if (!d)
		return 0;
	memcpy(d + b->len, ptr, add);
	b->data = d;
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

h_resp_t h_http(const char *method, const char *url, const char *body, const char *const headers[])
{
	h_resp_t r = {0};
	struct growbuf b = {calloc(1, 1), 0}, h = {calloc(1, 1), 0};
	CURL *c = curl_easy_init();
	cr_assert(c, "curl_easy_init failed");
	struct curl_slist *list = NULL;
	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	if (body) /* no "Expect: 100-continue" round trip */
		list = curl_slist_append(list, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	}
	double t0 = now_s();
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	r.ms = (now_s() - t0) * 1000;
	curl_slist_free_all(list);
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

const char *h_header(const h_resp_t *r, const char *name)
{
	static __thread char value[1024];
	size_t n = strlen(name);
	for (const char *line = r->headers; line && *line;) {
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t vl = len - (size_t)(v - line);
			if (vl >= sizeof(value))
				vl = sizeof(value) - 1;
			memcpy(value, v, vl);
			value[vl] = '\0';
			return value;
		}
		line = end ? end + 2 : NULL;
	}
	return NULL;
}

bool h_marketsim_start(h_proc_t *p, const char *const extra_args[])
{
	const char *bin = h_env("MARKETSIM");
	int port = h_free_port();
	char port_s[16];
	snprintf(port_s, sizeof(port_s), "%d", port);
	const char *argv[64] = {bin, "--port", port_s};
	size_t n = 3;
	for (size_t i = 0; extra_args && extra_args[i] && n < 63; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;
	return h_proc_start(p, argv, NULL, port);
}

const char *h_url(const h_proc_t *p, const char *path)
{
	static __thread char url[2048];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", p->port, path);
	return url;
}

/* LeakSanitizer reads this hook in ASAN builds: Criterion's parallel runner (--jobs 2) leaks one
 * allocation of its own in the parent process, which is not ours to fix. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libcriterion.so\n";
}
