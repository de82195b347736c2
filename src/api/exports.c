/* GET /api/orders/export and GET /api/exports/:id: the caller's tenant's orders as a file
 * (exports.h). The parameters are checked here, before any SQL. */
#include "api.h"
#include "exports.h"
#include "listing.h"
#include "permissions.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

#define EXPORT_MAX_YEARS 3

/* ?format=csv|xlsx|json&startDate&endDate&fields=a,b,c */
json_t *export_query_check(req_t *r, export_spec_t *spec)
{
	json_t *d = NULL;
	const char *format = http_query(r, "format");
	if (!format || !*format)
		format = "csv";
	if (!export_format_parse(format, &spec->format))
		d = http_problem(d, "format", "must be csv, xlsx or json");
	char bad[64];
	const char *fields = http_query(r, "fields");
	if (!export_fields_parse(spec, fields, bad, sizeof(bad)))
		d = http_problem(d, "fields",
				 arena_printf(r->arena, "has an unknown field \"%s\" (known: %s)",
					      bad, export_field_names()));
	validate_query_days(r, "startDate", "endDate", EXPORT_MAX_YEARS, spec->start, spec->end,
			    &d);
	return d;
}

static void export_orders(req_t *r)
{
	if (!perm_require(r, "exports.run"))
		return;
	export_spec_t spec = {0};
	json_t *d = export_query_check(r, &spec);
	if (d) {
		http_invalid(r, d);
		return;
	}
	snprintf(spec.tenant_id, sizeof(spec.tenant_id), "%s", r->tenant_id);
	exports_answer(r, &spec);
}

static void export_status(req_t *r)
{
	const char *id;
	if (!perm_require(r, "exports.run") || !(id = list_id(r, "export")))
		return;
	exports_fetch(r, id);
}

void api_exports_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/orders/export", export_orders, ROUTE_AUTH,
		   "The tenant's orders of a period as a csv, xlsx or json download (format, "
		   "startDate, endDate, fields); past EXPORT_SYNC_MAX_ROWS a 202 with a jobId");
	http_route(s, "GET", "/api/exports/:id", export_status, ROUTE_AUTH,
		   "A background export's status, then its file while it is kept (24 h)");
}
