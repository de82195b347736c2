/* /api/inventory/discrepancies and /api/inventory/reconcile: the caller's tenant's SKUs whose
 * truth, ERP balance and listings disagree, and the reconciles that fix them (src/discrepancies.c
 * holds the statements). */
#include "api.h"
#include "discrepancies.h"
#include "listing.h"
#include "permissions.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>

static void list(req_t *r)
{
	if (!perm_require(r, "inventory.view"))
		return;
	json_t *d = NULL;
	list_req_t l;
	list_parse_offset(r, &l, &d);
	discrepancy_filter_t f = {
	    .sku = list_text_param(r, "sku", 100, &d),
	    .channel = list_channel_param(r, &d),
	    .kind = validate_query_enum(r, "kind", discrepancy_kinds, &d),
	};
	if (d) {
		http_invalid(r, d);
		return;
	}
	page_t page = list_page_of(&l);
	discrepancies_list(r->app, r->tenant_id, &f, &page, list_page_done,
			   list_ctx(r, "discrepancies", &l));
}

/* body.skus: NULL when absent, else the array as JSON text (every element a SKU), else a
 * problem. */
static const char *skus_field(req_t *r, json_t **details)
{
	json_t *v = json_object_get(r->body, "skus");
	if (!v)
		return NULL;
	size_t n = json_array_size(v);
	if (!json_is_array(v) || n < 1 || n > RECONCILE_MAX_SKUS) {
		*details = http_problem(*details, "skus", "must be an array of 1 to 1000 SKUs");
		return NULL;
	}
	size_t i;
	json_t *s;
	json_array_foreach(v, i, s)
	{
		if (!json_is_string(s) || !*json_string_value(s) ||
		    !validate_utf8_text(json_string_value(s), 100)) {
			*details = http_problem(*details, "skus",
						"must hold SKUs: text of 1 to 100 characters");
			return NULL;
		}
	}
	char *text = json_dumps(v, JSON_COMPACT);
	const char *out = arena_printf(r->arena, "%s", text);
	free(text);
	return out;
}

static void queued(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		list_db_error(r, "inventory: reconcile", res, err);
		return;
	}
	http_ok(
	    r, 202,
	    json_pack("{s:I, s:s}", "jobId", (json_int_t)pg_int(res, 0, 0, 0), "status", "queued"),
	    "Reconcile queued");
}

static void reconcile(req_t *r)
{
	if (!perm_require(r, "inventory.reconcile"))
		return;
	if (!json_is_object(r->body)) {
		http_invalid(r, http_problem(NULL, "body", "must be a JSON object"));
		return;
	}
	json_t *d = NULL;
	const char *key;
	json_t *v;
	json_object_foreach(r->body, key, v)
	{
		if (strcmp(key, "skus") != 0 && strcmp(key, "all") != 0 &&
		    strcmp(key, "source") != 0)
			d = http_problem(d, key, "is not a field of this request");
	}
	const char *source = validate_enum(r, "source", V_REQUIRED, reconcile_sources, &d);
	bool has_all = false;
	bool all = validate_bool(r, "all", &d, &has_all);
	bool has_skus = json_object_get(r->body, "skus") != NULL;
	const char *skus = skus_field(r, &d);
	if (has_all && !all)
		d = http_problem(d, "all", "must be true when given");
	else if (all && has_skus)
		d = http_problem(d, "skus", "cannot be given with all: true");
	else if (!all && !has_skus)
		d = http_problem(d, "skus", "is required, or all: true");
	if (d) {
		http_invalid(r, d);
		return;
	}
	reconcile_enqueue(r->app, r->tenant_id, source, skus, r->user_id, queued, r);
}

static void read_one(req_t *r)
{
	if (!perm_require(r, "inventory.view"))
		return;
	const char *id = http_param(r, "jobId");
	size_t n = id ? strlen(id) : 0;
	if (n < 1 || n > 18 || strspn(id, "0123456789") != n) {
		http_error(r, 404, "NOT_FOUND", "No such reconcile.", NULL);
		return;
	}
	reconcile_read(r->app, r->tenant_id, id, list_one_done, list_ctx(r, "reconcile", NULL));
}

void api_discrepancies_routes(app_t *app)
{
	reconcile_register_jobs(app);
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/inventory/discrepancies", list, ROUTE_AUTH,
		   "SKUs whose truth, ERP balance and listings disagree, as the last detection saw "
		   "them (sku, channel, kind=erp|listing; page/limit)");
	http_route(s, "POST", "/api/inventory/reconcile", reconcile, ROUTE_AUTH,
		   "Reconcile {skus: [...] | all: true, source: erp|sellerhub}: 202 {jobId}");
	http_route(s, "GET", "/api/inventory/reconcile/:jobId", read_one, ROUTE_AUTH,
		   "A reconcile's status and report {counts, fixed, skipped, failed}");
}
