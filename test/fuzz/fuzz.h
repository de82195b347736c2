/* What the harnesses share (one harness a file, fuzz_<name>.c; test/fuzz/README.md): the input
 * as a C string, and a request context without a connection. The validators read only the
 * context's arena, body and query, so a request built here goes through the same code as one
 * evhttp delivered. Everything a harness allocates is freed before it returns (leak checks). */
#ifndef SH_FUZZ_H
#define SH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* data[0..size) with a NUL after it (free it); inner NULs cut the string short, as they would
 * cut a C string the server handles. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The first line (up to '\n') as a C string in head (cut to headsize - 1), *rest after it. */
static inline void fuzz_split_line(const uint8_t *data, size_t size, char *head, size_t headsize,
				   const uint8_t **rest, size_t *restsize)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) : size;
	size_t keep = n < headsize - 1 ? n : headsize - 1;
	memcpy(head, data, keep);
	head[keep] = '\0';
	*rest = nl ? nl + 1 : data + size;
	*restsize = nl ? size - n - 1 : 0;
}

static inline req_t *fuzz_req_new(void)
{
	arena_t *a = arena_new();
	req_t *r = arena_calloc(a, 1, sizeof(*r));
	r->arena = a;
	r->method = "POST";
	return r;
}

static inline void fuzz_req_free(req_t *r)
{
	if (r->query_parsed && r->query)
		evhttp_clear_headers(&r->query_store);
	json_decref(r->body);
	arena_free(r->arena);
}

/* Quiet logs: a harness runs millions of inputs. */
static inline void fuzz_quiet(void)
{
	log_set_level(LOG_ERROR);
}

#endif
