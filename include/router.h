/* Path routing: patterns with literal segments and `:name` parameters, one handler per method.
 * A literal segment beats a parameter at the same depth (`/accounts/sync-all` before
 * `/accounts/:id`). Pure and allocation-free on the match path. */
#ifndef SH_ROUTER_H
#define SH_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTER_MAX_PARAMS  8
#define ROUTER_MAX_METHODS 8

typedef struct router router_t;

typedef struct route_method {
	const char *method; /* "GET", ... */
	void *handler;
	unsigned flags;
	const char *summary; /* one line for the API reference */
} route_method_t;

/* One path pattern and its handlers. `data` is for the owner (the HTTP layer keeps metrics). */
typedef struct route {
	char *pattern;
	route_method_t methods[ROUTER_MAX_METHODS];
	size_t nmethods;
	void *data;
} route_t;

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED };

typedef struct route_match {
	route_t *route;		      /* set for FOUND and METHOD_NOT_ALLOWED */
	const route_method_t *method; /* set for FOUND */
	size_t nparams;
	const char *names[ROUTER_MAX_PARAMS];
	char *values[ROUTER_MAX_PARAMS]; /* point into the caller's path buffer, percent-decoded */
} route_match_t;

router_t *router_new(void);
void router_free(router_t *r);
/* Register method + pattern; aborts on a duplicate or malformed pattern (a programming error). */
route_t *router_add(router_t *r, const char *method, const char *pattern, void *handler,
		    unsigned flags, const char *summary);
/* Match `path` (modified in place: split and percent-decoded) for `method`. HEAD matches GET. */
enum router_result router_match(const router_t *r, const char *method, char *path,
				route_match_t *m);
/* "GET, PUT" for the Allow header. */
void router_allow(const route_t *route, char *buf, size_t size);
/* Visit every route (for the OpenAPI document and metrics). */
void router_each(const router_t *r, void (*fn)(route_t *route, void *arg), void *arg);
/* Decode %XX in place; false on a malformed escape or an encoded NUL. */
bool url_decode_inplace(char *s);

#endif
