/* One JSON object per line on stderr: {"ts","level","msg",...}. Never pass a token, password,
 * secret or Authorization header to these functions. */
#ifndef SH_LOG_H
#define SH_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

bool log_level_parse(const char *s, enum log_level *out);
void log_set_level(enum log_level min);
bool log_enabled(enum log_level lvl);

/* A line with a printf-style msg. */
void log_printf(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line with msg and extra fields; `fields` is a JSON object, stolen (may be NULL). */
void log_fields(enum log_level lvl, const char *msg, json_t *fields);
/* Append s to buf as a JSON string body (no quotes), escaping as needed; returns bytes written
 * or the size needed when it does not fit (like snprintf). */
size_t log_escape(char *buf, size_t size, const char *s);
/* Write a pre-rendered line (must end in '\n'). Used by the access log, which renders its own
 * line to stay cheap on the hot path. */
void log_raw(const char *line, size_t len);
/* A message of a library that may repeat without bound (libevent's warnings: one per failed
 * accept, say). At most LOG_LIBRARY_BURST lines per LOG_LIBRARY_INTERVAL_MS; the rest are only
 * counted, and their number is logged with the next line after the interval. */
#define LOG_LIBRARY_BURST	10
#define LOG_LIBRARY_INTERVAL_MS 10000
void log_library(enum log_level lvl, const char *library, const char *msg);
/* Lines are buffered and written by one flush per loop turn (and at once for warnings/errors). */
void log_flush(void);
/* Called when the buffer goes from empty to non-empty, so the loop can schedule a flush. */
void log_set_flush_hook(void (*hook)(void));

#define log_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_printf(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_printf(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_printf(LOG_ERROR, __VA_ARGS__)

#endif
