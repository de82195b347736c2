/* A bump allocator made of chunks. Requests allocate a few KiB; the first chunk is inline in
 * the arena's own allocation so a typical request costs one malloc. */
#include "arena.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 4096
#define ARENA_ALIGN 16

struct chunk {
	struct chunk *next;
	size_t size, used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena {
	struct chunk *head;
	size_t total;
	struct chunk first; /* must be last: its data[] runs to the end of the allocation */
};

arena_t *arena_new(void)
{
	arena_t *a = xmalloc(sizeof(*a) + ARENA_CHUNK);
	a->first.next = NULL;
	a->first.size = ARENA_CHUNK;
	a->first.used = 0;
	a->head = &a->first;
	a->total = 0;
	return a;
}

void arena_free(arena_t *a)
{
	if (!a)
		return;
	struct chunk *c = a->head;
	while (c != &a->first) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	free(a);
}

void *arena_alloc(arena_t *a, size_t size)
{
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < size)
		die("arena: allocation of %zu bytes overflows", size);
	struct chunk *c = a->head;
	if (c->size - c->used < need) {
		size_t csize = need > ARENA_CHUNK * 4 ? need : ARENA_CHUNK * 4;
		c = xmalloc(sizeof(*c) + csize);
		c->size = csize;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += need;
	a->total += size;
	return p;
}

void *arena_calloc(arena_t *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		die("arena: calloc %zu x %zu overflows", n, size);
	void *p = arena_alloc(a, n * size);
	memset(p, 0, n * size);
	return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(arena_t *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(arena_t *a, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		die("arena: bad format");
	char *p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *arena_printf(arena_t *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

size_t arena_used(const arena_t *a)
{
	return a->total;
}
