/* Per-request memory: many small allocations, one free. Owned by whoever created it (the
 * request context for HTTP requests); everything allocated from it dies with arena_free(). */
#ifndef SH_ARENA_H
#define SH_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena_t;

arena_t *arena_new(void);
void arena_free(arena_t *a);
/* Never returns NULL: aborts on out-of-memory like every allocation in sellerhub. */
void *arena_alloc(arena_t *a, size_t size);
void *arena_calloc(arena_t *a, size_t n, size_t size);
char *arena_strdup(arena_t *a, const char *s);
char *arena_strndup(arena_t *a, const char *s, size_t n);
char *arena_printf(arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena_t *a, const char *fmt, va_list ap);
/* Bytes handed out so far (for tests and metrics). */
size_t arena_used(const arena_t *a);

#endif
