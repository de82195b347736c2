/* Router: matching, parameters, precedence, methods, decoding. */
#include <criterion/criterion.h>
#include <string.h>

#include "router.h"

static router_t *rt;
static int h_list, h_one, h_sync_all, h_nested, h_root;

static void setup(void)
{
	rt = router_new();
	router_add(rt, "GET", "/api/ml-accounts", &h_list, 0, NULL);
	router_add(rt, "POST", "/api/ml-accounts", &h_list, 0, NULL);
	router_add(rt, "GET", "/api/ml-accounts/:id", &h_one, 1, NULL);
	router_add(rt, "PUT", "/api/ml-accounts/:id", &h_one, 1, NULL);
	router_add(rt, "POST", "/api/ml-accounts/sync-all", &h_sync_all, 0, NULL);
	router_add(rt, "PUT", "/api/ml-accounts/:id/pause", &h_nested, 0, NULL);
	router_add(rt, "GET", "/api/items/:item/questions/:qid", &h_nested, 0, NULL);
	router_add(rt, "GET", "/", &h_root, 0, NULL);
}

static void teardown(void)
{
	router_free(rt);
}

TestSuite(router, .init = setup, .fini = teardown);

static enum router_result match(const char *method, const char *path, route_match_t *m)
{
	static char buf[256];
	strcpy(buf, path);
	return router_match(rt, method, buf, m);
}

Test(router, literal_match)
{
	route_match_t m;
	cr_assert_eq(match("GET", "/api/ml-accounts", &m), ROUTER_FOUND);
	cr_assert_eq(m.method->handler, &h_list);
	cr_assert_eq(m.nparams, 0);
	cr_assert_eq(match("GET", "/", &m), ROUTER_FOUND);
	cr_assert_eq(m.method->handler, &h_root);
}

Test(router, parameter_is_captured)
{
	route_match_t m;
	cr_assert_eq(match("GET", "/api/ml-accounts/abc-123", &m), ROUTER_FOUND);
	cr_assert_eq(m.method->handler, &h_one);
	cr_assert_eq(m.method->flags, 1);
	cr_assert_eq(m.nparams, 1);
	cr_assert_str_eq(m.names[0], "id");
	cr_assert_str_eq(m.values[0], "abc-123");
}

Test(router, two_parameters)
{
	route_match_t m;
	cr_assert_eq(match("GET", "/api/items/MLB1/questions/77", &m), ROUTER_FOUND);
	cr_assert_eq(m.nparams, 2);
	cr_assert_str_eq(m.values[0], "MLB1");
	cr_assert_str_eq(m.values[1], "77");
}

Test(router, literal_beats_parameter_whatever_the_order)
{
	route_match_t m;
	cr_assert_eq(match("POST", "/api/ml-accounts/sync-all", &m), ROUTER_FOUND);
	cr_assert_eq(m.method->handler, &h_sync_all);
	cr_assert_eq(m.nparams, 0);
	/* The literal path is a known resource: a wrong method there is 405, not the :id route. */
	cr_assert_eq(match("GET", "/api/ml-accounts/sync-all", &m), ROUTER_METHOD_NOT_ALLOWED);
	char allow[32];
	router_allow(m.route, allow, sizeof(allow));
	cr_assert_str_eq(allow, "POST");
}

Test(router, wrong_method_is_405_with_allow)
{
	route_match_t m;
	cr_assert_eq(match("DELETE", "/api/ml-accounts/x", &m), ROUTER_METHOD_NOT_ALLOWED);
	char allow[64];
	router_allow(m.route, allow, sizeof(allow));
	cr_assert_str_eq(allow, "GET, PUT");
}

Test(router, head_matches_get)
{
	route_match_t m;
	cr_assert_eq(match("HEAD", "/api/ml-accounts", &m), ROUTER_FOUND);
	cr_assert_eq(m.method->handler, &h_list);
}

Test(router, unknown_paths)
{
	route_match_t m;
	cr_assert_eq(match("GET", "/api/nothing", &m), ROUTER_NOT_FOUND);
	cr_assert_eq(match("GET", "/api/ml-accounts/x/y/z", &m), ROUTER_NOT_FOUND);
	cr_assert_eq(match("GET", "/api//ml-accounts", &m), ROUTER_NOT_FOUND);
	cr_assert_eq(match("GET", "relative", &m), ROUTER_NOT_FOUND);
	cr_assert_eq(match("PUT", "/api/ml-accounts//pause", &m), ROUTER_NOT_FOUND);
}

Test(router, trailing_slash_is_tolerated)
{
	route_match_t m;
	cr_assert_eq(match("GET", "/api/ml-accounts/", &m), ROUTER_FOUND);
	cr_assert_eq(m.method->handler, &h_list);
}

Test(router, parameters_are_percent_decoded)
{
	route_match_t m;
	cr_assert_eq(match("GET", "/api/ml-accounts/a%20b%2Fc", &m), ROUTER_FOUND);
	cr_assert_str_eq(m.values[0], "a b/c");
	cr_assert_eq(match("GET", "/api/ml-accounts/bad%zz", &m), ROUTER_NOT_FOUND);
	cr_assert_eq(match("GET", "/api/ml-accounts/nul%00", &m), ROUTER_NOT_FOUND);
}

Test(router, url_decode)
{
	char s[] = "%41b%63+d";
	cr_assert(url_decode_inplace(s));
	cr_assert_str_eq(s, "Abc+d");
	char bad[] = "%4";
	cr_assert_not(url_decode_inplace(bad));
}

static void count_route(route_t *r, void *arg)
{
	int *n = arg;
	*n += (int)r->nmethods;
}

Test(router, each_visits_every_pattern)
{
	int n = 0;
	router_each(rt, count_route, &n);
	cr_assert_eq(n, 8);
}
