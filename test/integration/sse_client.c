/* The tests' Server-Sent Events client: see the header. */
#include "sse_client.h"
#include "harness.h"

#include <stdbool.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sse_open(sse_t *s, int port, const char *path, const char *token)
{
	memset(s, 0, sizeof(*s));
	s->fd = h_connect(port);
	char req[4096];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
			 "%s%s%s\r\n",
			 path, token ? "Authorization: Bearer " : "", token ? token : "",
			 token ? "\r\n" : "");
	cr_assert(n > 0 && (size_t)n < sizeof(req));
	cr_assert_eq(write(s->fd, req, (size_t)n), n);
}

/* One read of what is there, waiting up to ms; false when the connection is closed. */
static bool read_some(sse_t *s, int ms)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	if (poll(&p, 1, ms) <= 0)
		return true;
	if (s->cap - s->len < 65536) {
		s->cap = s->cap * 2 + 65536;
		s->raw = realloc(s->raw, s->cap + 1);
		cr_assert_not_null(s->raw);
	}
	ssize_t n = read(s->fd, s->raw + s->len, s->cap - s->len);
	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR);
	s->len += (size_t)n;
	s->raw[s->len] = '\0';
	if (!s->status && strstr(s->raw, "\r\n\r\n")) {
		sscanf(s->raw, "HTTP/1.%*d %d", &s->status);
		s->body_from = (size_t)(strstr(s->raw, "\r\n\r\n") - s->raw) + 4;
	}
	return true;
}

const char *sse_text(sse_t *s)
{
	free(s->text);
	s->text = calloc(1, s->len + 1);
	cr_assert_not_null(s->text);
	if (!s->status)
		return s->text;
	const char *p = s->raw + s->body_from, *end = s->raw + s->len;
	bool chunked = strcasestr(s->raw, "transfer-encoding: chunked") != NULL;
	if (!chunked) {
		memcpy(s->text, p, (size_t)(end - p));
		return s->text;
	}
	size_t o = 0;
	while (p < end) {
		char *eol;
		unsigned long size = strtoul(p, &eol, 16);
		if (eol >= end || !(eol = strstr(eol, "\r\n")) || size == 0)
			break;
		p = eol + 2;
		size_t take = (size_t)(end - p) < size ? (size_t)(end - p) : size;
		memcpy(s->text + o, p, take);
		o += take;
		p += size + 2;
	}
	s->text[o] = '\0';
	return s->text;
}

bool sse_wait(sse_t *s, const char *needle, int deadline_ms)
{
	double until = h_now() + deadline_ms / 1000.0;
	for (;;) {
		if (strstr(sse_text(s), needle))
			return true;
		int left = (int)((until - h_now()) * 1000);
		if (left <= 0 || !read_some(s, left > 50 ? 50 : left))
			return strstr(sse_text(s), needle) != NULL;
	}
}

bool sse_wait_count(sse_t *s, const char *needle, int n, int deadline_ms)
{
	double until = h_now() + deadline_ms / 1000.0;
	for (;;) {
		if (sse_count(s, needle) >= n)
			return true;
		int left = (int)((until - h_now()) * 1000);
		if (left <= 0 || !read_some(s, left > 50 ? 50 : left))
			return sse_count(s, needle) >= n;
	}
}

int sse_wait_status(sse_t *s, int deadline_ms)
{
	double until = h_now() + deadline_ms / 1000.0;
	while (!s->status && h_now() < until)
		if (!read_some(s, 50))
			break;
	return s->status;
}

int sse_count(sse_t *s, const char *needle)
{
	int n = 0;
	for (const char *p = sse_text(s); (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

bool sse_wait_closed(sse_t *s, int deadline_ms)
{
	double until = h_now() + deadline_ms / 1000.0;
	while (h_now() < until)
		if (!read_some(s, 50))
			return true;
	return false;
}

void sse_close(sse_t *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->raw);
	free(s->text);
	s->raw = s->text = NULL;
}
