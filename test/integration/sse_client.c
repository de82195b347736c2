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
	sse_open_after(s, port, path, token, NULL);
}

void sse_open_after(sse_t *s, int port, const char *path, const char *token, const char *last_id)
{
	memset(s, 0, sizeof(*s));
	s->fd = h_connect(port);
	char req[4096];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
			 "%s%s%s%s%s%s\r\n",
			 path, token ? "Authorization: Bearer " : "", token ? token : "",
			 token ? "\r\n" : "", last_id ? "Last-Event-ID: " : "",
			 last_id ? last_id : "", last_id ? "\r\n" : "");
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

static void text_add(sse_t *s, const char *p, size_t n)
{
	if (s->tlen + n + 1 > s->tcap) {
		s->tcap = (s->tlen + n + 1) * 2;
		s->text = realloc(s->text, s->tcap);
		cr_assert_not_null(s->text);
	}
	memcpy(s->text + s->tlen, p, n);
	s->tlen += n;
	s->text[s->tlen] = '\0';
}

/* Dechunks what arrived since the last call (each byte once: a reader of megabytes keeps up). */
const char *sse_text(sse_t *s)
{
	if (!s->text)
		text_add(s, "", 0);
	if (!s->status)
		return s->text;
	if (!s->pos) {
		s->pos = s->body_from;
		s->chunked = strcasestr(s->raw, "transfer-encoding: chunked") != NULL;
	}
	while (s->pos < s->len && !s->ended) {
		const char *p = s->raw + s->pos;
		size_t avail = s->len - s->pos;
		if (!s->chunked) {
			text_add(s, p, avail);
			s->pos += avail;
		} else if (s->left > 2) { /* the chunk's data */
			size_t take = avail < s->left - 2 ? avail : s->left - 2;
			text_add(s, p, take);
			s->pos += take;
			s->left -= take;
		} else if (s->left) { /* its CRLF */
			size_t take = avail < s->left ? avail : s->left;
			s->pos += take;
			s->left -= take;
		} else { /* the next chunk's size line */
			const char *eol = memmem(p, avail, "\r\n", 2);
			if (!eol)
				break;
			unsigned long size = strtoul(p, NULL, 16);
			s->pos += (size_t)(eol - p) + 2;
			s->left = size + 2;
			s->ended = size == 0;
		}
	}
	return s->text;
}

bool sse_wait(sse_t *s, const char *needle, int deadline_ms)
{
	double until = h_now() + deadline_ms / 1000.0;
	size_t from = 0, nlen = strlen(needle);
	for (;;) {
		sse_text(s);
		if (strstr(s->text + from, needle))
			return true;
		from = s->tlen > nlen ? s->tlen - nlen : 0;
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
	s->len = s->cap = s->tlen = s->tcap = s->pos = s->left = 0;
}
