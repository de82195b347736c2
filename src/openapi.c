/* The API reference, built from the routes themselves so it can never miss an endpoint: every
 * registered method and pattern becomes an OpenAPI operation with its summary, its path
 * parameters and, for authenticated routes, the bearer security requirement. */
#include "api.h"
#include "util.h"

#include <string.h>

typedef struct build {
	json_t *paths;
} build_t;

static char *openapi_path(const char *pattern)
{
	/* "/api/users/:id" -> "/api/users/{id}" */
	size_t n = strlen(pattern);
	char *out = xmalloc(n * 2 + 1), *w = out;
	for (const char *p = pattern; *p;) {
		if (*p == ':' && (p == pattern || p[-1] == '/')) {
			size_t len = strcspn(p + 1, "/");
			w += sprintf(w, "{%.*s}", (int)len, p + 1);
			p += len + 1;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	return out;
}

static void add_route(route_t *route, void *arg)
{
	build_t *b = arg;
	char *path = openapi_path(route->pattern);
	json_t *item = json_object();
	for (size_t i = 0; i < route->nmethods; i++) {
		const route_method_t *m = &route->methods[i];
		json_t *op = json_pack("{s:s}", "summary", m->summary ? m->summary : "");
		json_t *params = json_array();
		for (const char *p = route->pattern; (p = strchr(p, ':'));) {
			size_t len = strcspn(p + 1, "/");
			json_array_append_new(
			    params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1, len, "in",
					      "path", "required", 1, "schema", "type", "string"));
			p += len + 1;
		}
		if (json_array_size(params))
			json_object_set_new(op, "parameters", params);
		else
			json_decref(params);
		if (m->flags & ROUTE_AUTH)
			json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearerAuth"));
		json_object_set_new(op, "responses",
				    json_pack("{s:{s:s, s:{s:{s:{s:s}}}}}", "default",
					      "description", "Envelope: success/data or error",
					      "content", "application/json", "schema", "$ref",
					      "#/components/schemas/Envelope"));
		char lower[16];
		size_t k = 0;
		for (; m->method[k] && k < sizeof(lower) - 1; k++)
			lower[k] = (char)(m->method[k] | 0x20);
		lower[k] = '\0';
		json_object_set_new(item, lower, op);
	}
	json_object_set_new(b->paths, path, item);
	free(path);
}

json_t *openapi_document(const app_t *app)
{
	build_t b = {json_object()};
	router_each(http_router(app->http), add_route, &b);
	return json_pack(
	    "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s, s:s}}, s:{s:{s:s, s:{s:{s:s}, "
	    "s:{}, s:{s:s}, s:{s:s}, s:{s:s, s:{s:s}}}}}}}",
	    "openapi", "3.0.3", "info", "title", "sellerhub API", "version", "0.1.0", "description",
	    "Envelope: {success, data, message} or {success:false, message, code, details}.",
	    "paths", b.paths, "components", "securitySchemes", "bearerAuth", "type", "http",
	    "scheme", "bearer", "bearerFormat", "JWT", "schemas", "Envelope", "type", "object",
	    "properties", "success", "type", "boolean", "data", "message", "type", "string", "code",
	    "type", "string", "details", "type", "array", "items", "type", "object");
}
