/* JSON-lines logging. Lines collect in one buffer that the loop flushes once per turn, so a busy
 * server makes one write() per turn rather than one per request. Warnings and errors flush at once.
 */
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_BUF (64 * 1024)

static enum log_level min_level = LOG_INFO;
static char buf[LOG_BUF];
static size_t buf_len;
static void (*flush_hook)(void);
static const char *const level_names[] = {"debug", "info", "warn", "error"};

bool log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_LEN(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return true;
	}
	return false;
}

void log_set_level(enum log_level min)
{
	min_level = min;
}

bool log_enabled(enum log_level lvl)
{
	return lvl >= min_level;
}

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w <= 0)
			return; /* stderr gone: nothing sensible left to do */
		p += w;
		n -= (size_t)w;
	}
}

void log_flush(void)
{
	if (buf_len) {
		write_all(buf, buf_len);
		buf_len = 0;
	}
}

void log_raw(const char *line, size_t len)
{
	if (buf_len + len > sizeof(buf))
		log_flush();
	if (len > sizeof(buf)) {
		write_all(line, len);
		return;
	}
	if (buf_len == 0 && flush_hook)
		flush_hook();
	memcpy(buf + buf_len, line, len);
	buf_len += len;
}

void log_set_flush_hook(void (*hook)(void))
{
	flush_hook = hook;
}

size_t log_escape(char *out, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
#define PUT(c)                                                                                     \
	do {                                                                                       \
		if (n + 1 < size)                                                                  \
			out[n] = (c);                                                              \
		n++;                                                                               \
	} while (0)
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c == '\n') {
			PUT('\\');
			PUT('n');
		} else if (c < 0x20 || c == 0x7f) {
			PUT('\\');
			PUT('u');
			PUT('0');
			PUT('0');
			PUT(hex[c >> 4]);
			PUT(hex[c & 15]);
		} else {
			PUT((char)c);
		}
	}
#undef PUT
	if (size)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

static void emit(enum log_level lvl, const char *msg, json_t *fields)
{
	char ts[32], line[8192];
	iso8601_utc(wall_ms(), ts, sizeof(ts));
	int n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
			 level_names[lvl]);
	size_t len = (size_t)n;
	len += log_escape(line + len, sizeof(line) - len, msg);
	if (len >= sizeof(line) - 64)
		len = sizeof(line) - 64; /* truncated message: keep the line valid JSON */
	line[len++] = '"';
	if (fields) {
		const char *key;
		json_t *val;
		json_object_foreach(fields, key, val)
		{
			char *v = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
			if (!v)
				continue;
			size_t need = strlen(key) + strlen(v) + 8;
			if (len + need < sizeof(line) - 3)
				len += (size_t)snprintf(line + len, sizeof(line) - len,
							",\"%s\":%s", key, v);
			free(v);
		}
	}
	line[len++] = '}';
	line[len++] = '\n';
	log_raw(line, len);
	if (lvl >= LOG_WARN)
		log_flush();
}

void log_printf(enum log_level lvl, const char *fmt, ...)
{
	if (lvl < min_level)
		return;
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(lvl, msg, NULL);
}

void log_fields(enum log_level lvl, const char *msg, json_t *fields)
{
	if (lvl >= min_level)
		emit(lvl, msg, fields);
	json_decref(fields);
}

void log_library(enum log_level lvl, const char *library, const char *msg)
{
	static int64_t window_ms;
	static unsigned in_window, suppressed;
	int64_t now = now_ms();
	if (now - window_ms >= LOG_LIBRARY_INTERVAL_MS) {
		if (suppressed)
			log_fields(LOG_WARN, "log: library messages suppressed",
				   json_pack("{s:I, s:I}", "suppressed", (json_int_t)suppressed,
					     "intervalMs", (json_int_t)LOG_LIBRARY_INTERVAL_MS));
		window_ms = now;
		in_window = suppressed = 0;
	}
	if (++in_window > LOG_LIBRARY_BURST) {
		suppressed++;
		return;
	}
	log_fields(lvl, msg, json_pack("{s:s}", "library", library));
}
