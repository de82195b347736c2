/* GET /api/products/:sku, PUT /api/products/:sku and bulk-update: the caller's tenant's SKU
 * master, read and changed by src/products.c (the list: products_list.c). Every parameter and
 * field is checked here, before any SQL. */
#include "api.h"
#include "inventory.h"
#include "listing.h"
#include "permissions.h"
#include "products.h"
#include "validate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOCK_MAX 1000000000 /* as /api/inventory: far below int's limit */

static void detail(req_t *r)
{
	if (!perm_require(r, "inventory.view"))
		return;
	const char *sku = http_param(r, "sku");
	if (!sku || !*sku || !validate_utf8_text(sku, 100)) {
		http_error(r, 404, "NOT_FOUND", "No such SKU.", NULL);
		return;
	}
	products_detail(r->app, r->tenant_id, sku, list_one_done, list_ctx(r, "SKU", NULL));
}

/* body[field] when present: null, or an integer lo..STOCK_MAX. */
static void count_field(req_t *r, json_t *body, const char *field, long long lo, json_t **details)
{
	json_t *v = json_object_get(body, field);
	if (!v || json_is_null(v))
		return;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > STOCK_MAX)
		*details =
		    http_problem(*details, field,
				 arena_printf(r->arena, "must be a whole number from %lld to %d",
					      lo, STOCK_MAX));
}

/* body[field] when present: null, or a number lo..hi. */
static void number_field(req_t *r, json_t *body, const char *field, double lo, double hi,
			 json_t **details)
{
	json_t *v = json_object_get(body, field);
	if (!v || json_is_null(v))
		return;
	if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
		*details =
		    http_problem(*details, field,
				 arena_printf(r->arena, "must be a number from %g to %g", lo, hi));
}

static void text_fields(json_t *body, json_t **d)
{
	json_t *notes = json_object_get(body, "notes");
	if (notes && !json_is_null(notes) &&
	    (!json_is_string(notes) || !validate_utf8_text(json_string_value(notes), 500)))
		*d = http_problem(*d, "notes", "must be text of at most 500 characters");
	json_t *tags = json_object_get(body, "tags"), *t;
	size_t i;
	if (tags && (!json_is_array(tags) || json_array_size(tags) > 10))
		*d = http_problem(*d, "tags", "must be a list of at most 10 tags");
	else if (tags)
		json_array_foreach(tags, i, t)
		{
			const char *s = json_string_value(t);
			if (!s || !*s || !validate_utf8_text(s, 50)) {
				*d = http_problem(*d, "tags",
						  "each must be text of 1 to 50 characters");
				break;
			}
		}
	json_t *custom = json_object_get(body, "customFields");
	if (custom && !json_is_object(custom))
		*d = http_problem(*d, "customFields", "must be an object");
}

json_t *product_settings_check(req_t *r, json_t *body, const char *prefix, json_t *d)
{
	static const char *const fields[] = {"minStockAlert", "maxStock", "targetMargin", "cost",
					     "notes",	      "tags",	  "customFields", NULL};
	if (!json_is_object(body))
		return http_problem(d, *prefix ? "updates" : "body", "must be a JSON object");
	json_t *mine = NULL, *v;
	const char *key;
	json_object_foreach(body, key, v)
	{
		size_t i = 0;
		while (fields[i] && strcmp(fields[i], key) != 0)
			i++;
		if (!fields[i])
			mine = http_problem(mine, key, "is not a field of this request");
	}
	if (!mine && json_object_size(body) == 0)
		mine = http_problem(mine, *prefix ? "updates" : "body",
				    "must hold at least one field");
	count_field(r, body, "minStockAlert", 0, &mine);
	count_field(r, body, "maxStock", 1, &mine);
	number_field(r, body, "targetMargin", 0, 100, &mine);
	number_field(r, body, "cost", 0, PRODUCTS_COST_MAX, &mine);
	text_fields(body, &mine);
	json_t *min = json_object_get(body, "minStockAlert");
	json_t *max = json_object_get(body, "maxStock");
	if (!mine && json_is_integer(min) && json_is_integer(max) &&
	    json_integer_value(max) <= json_integer_value(min))
		mine = http_problem(mine, "maxStock", "must be greater than minStockAlert");
	size_t i;
	json_array_foreach(mine, i, v)
	{
		const char *field = json_string_value(json_object_get(v, "field"));
		const char *problem = json_string_value(json_object_get(v, "problem"));
		d = http_problem(d,
				 *prefix && strcmp(field, "updates") != 0
				     ? arena_printf(r->arena, "%s%s", prefix, field)
				     : field,
				 problem);
	}
	json_decref(mine);
	return d;
}

static void updated(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err && res && strcmp(pg_sqlstate(res), "23514") == 0) {
		/* The stored bound the body left as it is. */
		http_invalid(r,
			     http_problem(NULL, "maxStock", "must be greater than minStockAlert"));
		return;
	}
	list_one_answer(r, "SKU", res, err);
}

static void update(req_t *r)
{
	if (!perm_require(r, "inventory.manage"))
		return;
	const char *sku = http_param(r, "sku");
	if (!sku || !*sku || !validate_utf8_text(sku, 100)) {
		http_error(r, 404, "NOT_FOUND", "No such SKU.", NULL);
		return;
	}
	json_t *d = product_settings_check(r, r->body, "", NULL);
	if (d) {
		http_invalid(r, d);
		return;
	}
	char *changes = json_dumps(r->body, JSON_COMPACT);
	const char *text = arena_printf(r->arena, "%s", changes);
	free(changes);
	products_update(r->app, r->tenant_id, sku, text, updated, r);
}

#define BULK_MAX 100

json_t *product_bulk_check(req_t *r, json_t **skus_out, json_t **updates_out)
{
	if (!json_is_object(r->body))
		return http_problem(NULL, "body", "must be a JSON object");
	json_t *d = NULL, *v;
	const char *key;
	json_object_foreach(r->body, key, v)
	{
		if (strcmp(key, "skus") != 0 && strcmp(key, "updates") != 0)
			d = http_problem(d, key, "is not a field of this request");
	}
	json_t *skus = json_object_get(r->body, "skus"), *sku;
	size_t i;
	if (!json_is_array(skus) || json_array_size(skus) == 0 || json_array_size(skus) > BULK_MAX)
		d = http_problem(d, "skus", "must be a list of 1 to 100 SKUs");
	else
		json_array_foreach(skus, i, sku)
		{
			const char *s = json_string_value(sku);
			if (!s || !*s || !validate_utf8_text(s, 100)) {
				d = http_problem(d, "skus",
						 "each must be text of 1 to 100 characters");
				break;
			}
		}
	json_t *updates = json_object_get(r->body, "updates");
	d = product_settings_check(r, updates, "updates.", d);
	*skus_out = skus;
	*updates_out = updates;
	return d;
}

static void bulk_update(req_t *r)
{
	if (!perm_require(r, "inventory.manage"))
		return;
	json_t *skus, *updates;
	json_t *d = product_bulk_check(r, &skus, &updates);
	if (d) {
		http_invalid(r, d);
		return;
	}
	char *a = json_dumps(skus, JSON_COMPACT), *b = json_dumps(updates, JSON_COMPACT);
	const char *skus_text = arena_printf(r->arena, "%s", a);
	const char *changes = arena_printf(r->arena, "%s", b);
	free(a);
	free(b);
	products_bulk_update(r->app, r->tenant_id, skus_text, changes, list_value_done,
			     list_ctx(r, "products: bulk update", NULL));
}

void api_products_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(
	    s, "GET", "/api/products", api_products_list, ROUTE_AUTH,
	    "The SKU master with aggregations (search: SKU, title or a linked listing's id or"
	    " ASIN; category, brand, isActive, stockLevel, channel, priceMin/Max, marginMin/Max,"
	    " sortBy=sales|profit|stock|margin|updated|price"
	    " (sales and profit: since the SKU's first order), sortOrder; page/limit or cursor)");
	http_route(
	    s, "GET", "/api/products/:sku", detail, ROUTE_AUTH,
	    "One SKU: the product, its 30/90-day sales and velocity, its price, stock and sales"
	    " history (90 days), its listings and a restock recommendation");
	http_route(
	    s, "POST", "/api/products/bulk-update", bulk_update, ROUTE_AUTH,
	    "The same settings as PUT for up to 100 SKUs {skus, updates} -> {updated, failed}");
	http_route(
	    s, "PUT", "/api/products/:sku", update, ROUTE_AUTH,
	    "The seller's settings of a SKU {minStockAlert?, maxStock?, targetMargin?, cost?,"
	    " notes?, tags?, customFields?}; null clears");
}
