/* Small helpers every module uses: allocation that cannot fail, time, fatal exit. */
#ifndef SH_UTIL_H
#define SH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WARN_UNUSED  __attribute__((warn_unused_result))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Print "fatal: ..." on stderr and exit(1). For broken invariants and out-of-memory only. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Monotonic clock in microseconds / milliseconds; wall clock in milliseconds. */
int64_t now_us(void);
int64_t now_ms(void);
int64_t wall_ms(void);
/* ISO-8601 UTC with milliseconds and Z into buf (at least 25 bytes). */
void iso8601_utc(int64_t wall_millis, char *buf, size_t size);
/* Compare secrets without leaking where they differ. */
bool const_time_eq(const void *a, const void *b, size_t n);

#endif
