/* The alerts suite's HTTP and SMTP sinks (see the header): one connection at a time, with
 * deadlines on every read so a stuck client cannot hold the thread. */
#include "alert_sinks.h"
#include "harness.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_MAX (256 * 1024)

typedef struct conn {
	int fd;
	char *buf;
	size_t len;
} conn_t;

/* Read more into c->buf; false on EOF, error or 5 s of silence. */
static bool read_more(conn_t *c)
{
	struct pollfd p = {c->fd, POLLIN, 0};
	if (poll(&p, 1, 5000) != 1 || c->len + 4096 > BUF_MAX)
		return false;
	ssize_t n = read(c->fd, c->buf + c->len, 4096);
	if (n <= 0)
		return false;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return true;
}

static void say(int fd, const char *text)
{
	size_t n = strlen(text);
	while (n > 0) {
		ssize_t w = write(fd, text, n);
		if (w <= 0)
			return;
		text += w;
		n -= (size_t)w;
	}
}

static void keep(sink_t *s, char *head, char *body)
{
	pthread_mutex_lock(&s->lock);
	if (s->n < SINK_MAX) {
		s->heads[s->n] = head;
		s->bodies[s->n] = body;
		s->n++;
		head = body = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	free(head);
	free(body);
}

char *sink_header(const char *head, const char *name)
{
	size_t nl = strlen(name);
	for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			h += nl + 1;
			while (*h == ' ')
				h++;
			return strndup(h, strcspn(h, "\r\n"));
		}
	}
	return NULL;
}

static void serve_http(sink_t *s, conn_t *c)
{
	char *end;
	while (!(end = strstr(c->buf, "\r\n\r\n")))
		if (!read_more(c))
			return;
	size_t head_len = (size_t)(end - c->buf) + 4;
	char *head = strndup(c->buf, head_len);
	char *cl = sink_header(head, "Content-Length");
	size_t want = cl ? (size_t)atol(cl) : 0;
	free(cl);
	while (c->len - head_len < want)
		if (!read_more(c)) {
			free(head);
			return;
		}
	char *body = strndup(c->buf + head_len, want);
	pthread_mutex_lock(&s->lock);
	int status = s->n < SINK_MAX && s->statuses[s->n] ? s->statuses[s->n] : 200;
	pthread_mutex_unlock(&s->lock);
	keep(s, head, body);
	char answer[160];
	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 %d Sink\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
	say(c->fd, answer);
}

/* The next line (CRLF removed) from c, consumed; NULL on EOF. */
static char *next_line(conn_t *c)
{
	char *eol;
	while (!(eol = strstr(c->buf, "\r\n")))
		if (!read_more(c))
			return NULL;
	char *line = strndup(c->buf, (size_t)(eol - c->buf));
	size_t used = (size_t)(eol - c->buf) + 2;
	memmove(c->buf, c->buf + used, c->len - used + 1);
	c->len -= used;
	return line;
}

static void serve_smtp(sink_t *s, conn_t *c)
{
	say(c->fd, "220 sink ESMTP\r\n");
	char envelope[1024] = "";
	char *line;
	while ((line = next_line(c))) {
		if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "HELO", 4) == 0)
			say(c->fd, "250 sink\r\n");
		else if (strncasecmp(line, "MAIL FROM:", 10) == 0 ||
			 strncasecmp(line, "RCPT TO:", 8) == 0) {
			strncat(envelope, line, sizeof(envelope) - strlen(envelope) - 3);
			strcat(envelope, "\r\n");
			say(c->fd, "250 OK\r\n");
		} else if (strcasecmp(line, "DATA") == 0) {
			say(c->fd, "354 go on\r\n");
			char *end;
			while (!(end = strstr(c->buf, "\r\n.\r\n")) && strncmp(c->buf, ".\r\n", 3))
				if (!read_more(c)) {
					free(line);
					return;
				}
			size_t n = end ? (size_t)(end - c->buf) + 2 : 0;
			keep(s, strdup(envelope), strndup(c->buf, n));
			size_t used = end ? n + 3 : 3;
			memmove(c->buf, c->buf + used, c->len - used + 1);
			c->len -= used;
			envelope[0] = '\0';
			say(c->fd, "250 queued\r\n");
		} else if (strcasecmp(line, "QUIT") == 0) {
			say(c->fd, "221 bye\r\n");
			free(line);
			return;
		} else if (strcasecmp(line, "RSET") == 0 || strcasecmp(line, "NOOP") == 0)
			say(c->fd, "250 OK\r\n");
		else
			say(c->fd, "502 not here\r\n");
		free(line);
	}
}

static void *run(void *arg)
{
	sink_t *s = arg;
	while (!s->stop) {
		struct pollfd p = {s->fd, POLLIN, 0};
		if (poll(&p, 1, 100) != 1)
			continue;
		conn_t c = {accept(s->fd, NULL, NULL), malloc(BUF_MAX + 1), 0};
		c.buf[0] = '\0';
		if (c.fd >= 0) {
			if (s->smtp)
				serve_smtp(s, &c);
			else
				serve_http(s, &c);
			close(c.fd);
		}
		free(c.buf);
	}
	return NULL;
}

void sink_start(sink_t *s, bool smtp, const int *statuses)
{
	memset(s, 0, sizeof(*s));
	s->smtp = smtp;
	for (int i = 0; statuses && statuses[i] && i < SINK_MAX; i++)
		s->statuses[i] = statuses[i];
	pthread_mutex_init(&s->lock, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 16) != 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &len) != 0)
		cr_assert_fail("sink: cannot listen");
	s->port = ntohs(a.sin_port);
	pthread_create(&s->thread, NULL, run, s);
}

void sink_stop(sink_t *s)
{
	s->stop = true;
	pthread_join(s->thread, NULL);
	close(s->fd);
	for (int i = 0; i < s->n; i++) {
		free(s->heads[i]);
		free(s->bodies[i]);
	}
	pthread_mutex_destroy(&s->lock);
}

int sink_count(sink_t *s)
{
	pthread_mutex_lock(&s->lock);
	int n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static char *copy_of(sink_t *s, char **which, int i)
{
	pthread_mutex_lock(&s->lock);
	char *v = i < s->n && which[i] ? strdup(which[i]) : NULL;
	pthread_mutex_unlock(&s->lock);
	return v;
}

char *sink_head(sink_t *s, int i)
{
	return copy_of(s, s->heads, i);
}

char *sink_body(sink_t *s, int i)
{
	return copy_of(s, s->bodies, i);
}
