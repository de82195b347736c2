/* A segment trie. Each node has literal children and at most one parameter child; matching
 * tries the literal child first and backtracks to the parameter, so the most specific pattern
 * wins whatever the registration order. */
#include "router.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16

typedef struct node {
	char *segment; /* literal text, or the parameter name without ':' */
	bool is_param;
	struct node **children;
	size_t nchildren;
	struct node *param;
	route_t *route; /* a pattern ends here */
} node_t;

struct router {
	node_t root;
	route_t **routes;
	size_t nroutes;
};

router_t *router_new(void)
{
	return xcalloc(1, sizeof(router_t));
}

static void node_free(node_t *n)
{
	for (size_t i = 0; i < n->nchildren; i++) {
		node_free(n->children[i]);
		free(n->children[i]);
	}
	if (n->param) {
		node_free(n->param);
		free(n->param);
	}
	free(n->children);
	free(n->segment);
}

void router_free(router_t *r)
{
	if (!r)
		return;
	node_free(&r->root);
	for (size_t i = 0; i < r->nroutes; i++) {
		free(r->routes[i]->pattern);
		free(r->routes[i]);
	}
	free(r->routes);
	free(r);
}

static node_t *child(node_t *n, const char *seg, size_t len, const char *pattern)
{
	if (seg[0] == ':') {
		if (len < 2)
			die("router: empty parameter name in %s", pattern);
		if (n->param) {
			if (strlen(n->param->segment) != len - 1 ||
			    strncmp(n->param->segment, seg + 1, len - 1) != 0)
				die("router: conflicting parameter names in %s", pattern);
			return n->param;
		}
		n->param = xcalloc(1, sizeof(node_t));
		n->param->segment = strndup(seg + 1, len - 1);
		n->param->is_param = true;
		return n->param;
	}
	for (size_t i = 0; i < n->nchildren; i++)
		if (strlen(n->children[i]->segment) == len &&
		    memcmp(n->children[i]->segment, seg, len) == 0)
			return n->children[i];
	n->children = xrealloc(n->children, (n->nchildren + 1) * sizeof(node_t *));
	node_t *c = xcalloc(1, sizeof(node_t));
	c->segment = strndup(seg, len);
	n->children[n->nchildren++] = c;
	return c;
}

route_t *router_add(router_t *r, const char *method, const char *pattern, void *handler,
		    unsigned flags, const char *summary)
{
	if (pattern[0] != '/')
		die("router: pattern must start with '/': %s", pattern);
	node_t *n = &r->root;
	size_t depth = 0, params = 0;
	for (const char *p = pattern + 1; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0)
			die("router: empty segment in %s", pattern);
		if (p[0] == ':')
			params++;
		n = child(n, p, len, pattern);
		if (++depth > MAX_DEPTH || params > ROUTER_MAX_PARAMS)
			die("router: pattern too deep: %s", pattern);
		p += len + (slash != NULL);
	}
	if (!n->route) {
		n->route = xcalloc(1, sizeof(route_t));
		n->route->pattern = xstrdup(pattern);
		r->routes = xrealloc(r->routes, (r->nroutes + 1) * sizeof(route_t *));
		r->routes[r->nroutes++] = n->route;
	}
	route_t *rt = n->route;
	for (size_t i = 0; i < rt->nmethods; i++)
		if (strcmp(rt->methods[i].method, method) == 0)
			die("router: %s %s registered twice", method, pattern);
	if (rt->nmethods == ROUTER_MAX_METHODS)
		die("router: too many methods on %s", pattern);
	rt->methods[rt->nmethods++] = (route_method_t){method, handler, flags, summary};
	return rt;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool url_decode_inplace(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (*p != '%') {
			*w++ = *p;
			continue;
		}
		int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return false;
		*w++ = (char)(hi * 16 + lo);
		p += 2;
	}
	*w = '\0';
	return true;
}

/* Depth-first over the split segments; literal children first, then the parameter. */
static route_t *walk(const node_t *n, char **segs, size_t nsegs, route_match_t *m)
{
	if (nsegs == 0)
		return n->route;
	for (size_t i = 0; i < n->nchildren; i++)
		if (strcmp(n->children[i]->segment, segs[0]) == 0) {
			route_t *rt = walk(n->children[i], segs + 1, nsegs - 1, m);
			if (rt)
				return rt;
		}
	if (n->param && segs[0][0]) {
		size_t saved = m->nparams;
		m->names[m->nparams] = n->param->segment;
		m->values[m->nparams] = segs[0];
		m->nparams++;
		route_t *rt = walk(n->param, segs + 1, nsegs - 1, m);
		if (rt)
			return rt;
		m->nparams = saved;
	}
	return NULL;
}

enum router_result router_match(const router_t *r, const char *method, char *path, route_match_t *m)
{
	memset(m, 0, sizeof(*m));
	if (path[0] != '/')
		return ROUTER_NOT_FOUND;
	char *segs[MAX_DEPTH];
	size_t nsegs = 0;
	char *p = path + 1;
	size_t plen = strlen(p);
	if (plen && p[plen - 1] == '/')
		p[plen - 1] = '\0'; /* "/health/" is "/health" */
	while (*p) {
		if (nsegs == MAX_DEPTH)
			return ROUTER_NOT_FOUND;
		segs[nsegs++] = p;
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
		if (!*p)
			return ROUTER_NOT_FOUND; /* empty segment */
	}
	for (size_t i = 0; i < nsegs; i++)
		if (!url_decode_inplace(segs[i]))
			return ROUTER_NOT_FOUND;
	route_t *rt = walk(&r->root, segs, nsegs, m);
	if (!rt || rt->nmethods == 0)
		return ROUTER_NOT_FOUND;
	m->route = rt;
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	for (size_t i = 0; i < rt->nmethods; i++)
		if (strcmp(rt->methods[i].method, want) == 0 ||
		    strcmp(rt->methods[i].method, method) == 0) {
			m->method = &rt->methods[i];
			return ROUTER_FOUND;
		}
	return ROUTER_METHOD_NOT_ALLOWED;
}

void router_allow(const route_t *route, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < route->nmethods && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
				      route->methods[i].method);
}

void router_each(const router_t *r, void (*fn)(route_t *route, void *arg), void *arg)
{
	for (size_t i = 0; i < r->nroutes; i++)
		fn(r->routes[i], arg);
}
