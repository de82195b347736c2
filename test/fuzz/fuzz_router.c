/* The router as the HTTP layer drives it (http.c's dispatch): the request line's method and
 * target, the path cut at '?' or '#', a decoded copy checked, then matched against the API's
 * patterns (the table below: every http_route of src/, literal segments beside parameters), and
 * the Allow header of a 405. Input: "METHOD target" on the first line. */
#include "fuzz.h"

#include "router.h"

static const char *const routes[][2] = {
    {"GET", "/health"},
    {"GET", "/ready"},
    {"GET", "/metrics"},
    {"GET", "/openapi.json"},
    {"POST", "/webhooks/:channel"},
    {"POST", "/api/auth/register"},
    {"POST", "/api/auth/login"},
    {"POST", "/api/auth/refresh"},
    {"POST", "/api/auth/logout"},
    {"GET", "/api/auth/me"},
    {"GET", "/api/users"},
    {"POST", "/api/users"},
    {"GET", "/api/users/:id"},
    {"PUT", "/api/users/:id"},
    {"DELETE", "/api/users/:id"},
    {"GET", "/api/admin/jobs"},
    {"POST", "/api/admin/jobs/:id/retry"},
    {"GET", "/api/accounts"},
    {"POST", "/api/sync/start"},
    {"GET", "/api/sync/status"},
    {"GET", "/api/sync/history"},
    {"GET", "/api/items"},
    {"GET", "/api/items/stats"},
    {"GET", "/api/items/:id"},
    {"GET", "/api/orders"},
    {"GET", "/api/orders/stats"},
    {"GET", "/api/orders/:id"},
    {"GET", "/api/shipments"},
    {"GET", "/api/shipments/stats"},
    {"GET", "/api/shipments/:id"},
    {"POST", "/api/shipments/:id/sync"},
    {"GET", "/api/webhooks/stats"},
    {"GET", "/api/webhooks/pending"},
    {"POST", "/api/ml-accounts"},
    {"GET", "/api/ml-accounts"},
    {"POST", "/api/ml-accounts/sync-all"},
    {"GET", "/api/ml-accounts/:id"},
    {"PUT", "/api/ml-accounts/:id"},
    {"DELETE", "/api/ml-accounts/:id"},
    {"POST", "/api/ml-accounts/:id/sync"},
    {"PUT", "/api/ml-accounts/:id/pause"},
    {"PUT", "/api/ml-accounts/:id/resume"},
    {"PUT", "/api/ml-accounts/:id/refresh-token"},
    {"GET", "/api/ml-accounts/:id/token-info"},
    {"GET", "/api/ml/oauth/start"},
    {"GET", "/api/ml/oauth/callback"},
    {"GET", "/api/questions"},
    {"GET", "/api/questions/stats"},
    {"GET", "/api/questions/:id"},
    {"POST", "/api/questions/:id/answer"},
};

static router_t *router;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	router = router_new();
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		router_add(router, routes[i][0], routes[i][1], (void *)(uintptr_t)(i + 1), 0, "");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstr(data, size);
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	char *sp = strchr(line, ' ');
	const char *method = sp ? line : "GET";
	char *target = sp ? sp + 1 : line;
	if (sp)
		*sp = '\0';

	size_t plen = strcspn(target, "?#");
	char *path = strndup(target, plen);
	char *decoded = strdup(path);
	if (url_decode_inplace(decoded)) {
		route_match_t m;
		switch (router_match(router, method, path, &m)) {
		case ROUTER_FOUND:
			if (!m.route || !m.method || m.nparams > ROUTER_MAX_PARAMS)
				abort();
			for (size_t i = 0; i < m.nparams; i++)
				if (!m.names[i] || !m.values[i] || !m.values[i][0])
					abort(); /* a parameter is never empty */
			break;
		case ROUTER_METHOD_NOT_ALLOWED: {
			char allow[128];
			router_allow(m.route, allow, sizeof(allow));
			if (!allow[0])
				abort();
			break;
		}
		case ROUTER_NOT_FOUND:
			break;
		}
	}
	free(decoded);
	free(path);
	free(line);
	return 0;
}
