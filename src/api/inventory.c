/* /api/inventory and the links of listings to SKUs (/api/products/:sku/listings/:listingId):
 * one stock truth per SKU of the caller's tenant, read and changed by src/inventory.c. */
#include "api.h"
#include "inventory.h"
#include "listing.h"
#include "permissions.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

#define STOCK_MAX 1000000000 /* far above any warehouse, far below int's limit */

/* The :sku parameter, or NULL after answering 404 (no SKU can be that text). */
static const char *sku_param(req_t *r)
{
	const char *sku = http_param(r, "sku");
	if (sku && validate_utf8_text(sku, 100) && *sku)
		return sku;
	http_error(r, 404, "NOT_FOUND", "No such SKU.", NULL);
	return NULL;
}

static void list(req_t *r)
{
	if (!perm_require(r, "inventory.view"))
		return;
	json_t *d = NULL;
	list_req_t l;
	list_parse_offset(r, &l, &d);
	inventory_filter_t f = {
	    .sku = list_text_param(r, "sku", 100, &d),
	    .q = list_text_param(r, "q", 100, &d),
	    .level = validate_query_enum(r, "stockLevel", inventory_levels, &d),
	    .channel = list_channel_param(r, &d),
	};
	if (d) {
		http_invalid(r, d);
		return;
	}
	page_t page = list_page_of(&l);
	inventory_list(r->app, r->tenant_id, &f, &page, list_page_done,
		       list_ctx(r, "inventory", &l));
}

typedef struct history_ctx {
	req_t *r;
	list_req_t l;
} history_ctx_t;

static void history_done(const PGresult *rows, long long total, const char *err, void *arg)
{
	history_ctx_t *c = arg;
	if (err)
		list_db_error(c->r, "inventory: history", rows, err);
	else if (total < 0)
		http_error(c->r, 404, "NOT_FOUND", "No such SKU.", NULL);
	else
		list_render(c->r, "changes", rows, total, &c->l);
}

static void history(req_t *r)
{
	const char *sku;
	if (!perm_require(r, "inventory.view") || !(sku = sku_param(r)))
		return;
	json_t *d = NULL;
	history_ctx_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	c->r = r;
	list_parse_offset(r, &c->l, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	page_t page = list_page_of(&c->l);
	inventory_history(r->app, r->tenant_id, sku, &page, history_done, c);
}

/* body[field]: absent (NULL), else an integer 0..STOCK_MAX as decimal text (else a problem). */
static const char *count_field(req_t *r, const char *field, json_t **details)
{
	json_t *v = json_object_get(r->body, field);
	if (!v)
		return NULL;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > STOCK_MAX) {
		*details =
		    http_problem(*details, field, "must be a whole number from 0 to 1000000000");
		return NULL;
	}
	return arena_printf(r->arena, "%lld", (long long)json_integer_value(v));
}

static void adjusted(const PGresult *res, const char *err, void *arg)
{
	req_t *r = arg;
	if (err) {
		list_db_error(r, "inventory: adjust", res, err);
		return;
	}
	if (PQntuples(res) != 1 || !pg_value(res, 0, 0)) {
		http_error(r, 404, "NOT_FOUND", "No such SKU.", NULL);
		return;
	}
	list_reply_json(r, pg_value(res, 0, 0));
}

static void adjust(req_t *r)
{
	const char *sku;
	if (!perm_require(r, "inventory.manage") || !(sku = sku_param(r)))
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
		if (strcmp(key, "onHand") != 0 && strcmp(key, "safetyBuffer") != 0)
			d = http_problem(d, key, "is not a field of this request");
	}
	const char *on_hand = count_field(r, "onHand", &d);
	const char *buffer = count_field(r, "safetyBuffer", &d);
	if (!d && !on_hand && !buffer)
		d = http_problem(d, "body", "must hold onHand, safetyBuffer or both");
	if (d) {
		http_invalid(r, d);
		return;
	}
	inventory_adjust(r->app, r->tenant_id, sku, on_hand, buffer, r->user_id, adjusted, r);
}

typedef struct link_ctx {
	req_t *r;
	const char *sku, *listing_id;
	bool link;
} link_ctx_t;

static void linked(const PGresult *res, const char *err, void *arg)
{
	link_ctx_t *c = arg;
	if (err) {
		list_db_error(c->r, "inventory: link", res, err);
		return;
	}
	const char *n = pg_value(res, 0, 0);
	if (!n || strcmp(n, "1") != 0) {
		http_error(c->r, 404, "NOT_FOUND",
			   c->link ? "No such SKU or listing." : "No such listing of this SKU.",
			   NULL);
		return;
	}
	http_ok(c->r, 200,
		json_pack("{s:s, s:s, s:b}", "sku", c->sku, "listingId", c->listing_id, "linked",
			  c->link),
		NULL);
}

static void link_change(req_t *r, bool link)
{
	const char *sku, *listing = http_param(r, "listingId");
	if (!perm_require(r, "inventory.manage") || !(sku = sku_param(r)))
		return;
	if (!validate_uuid(listing)) {
		http_error(r, 404, "NOT_FOUND", "No such listing.", NULL);
		return;
	}
	link_ctx_t *c = arena_calloc(r->arena, 1, sizeof(*c));
	*c = (link_ctx_t){.r = r, .sku = sku, .listing_id = listing, .link = link};
	inventory_link(r->app, r->tenant_id, sku, listing, link, linked, c);
}

static void link(req_t *r)
{
	link_change(r, true);
}

static void unlink_listing(req_t *r)
{
	link_change(r, false);
}

void api_inventory_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/inventory", list, ROUTE_AUTH,
		   "Stock per SKU with its linked listings (sku, q, stockLevel=critical|low|normal|"
		   "high|excess, channel; page/limit). listed is the quantity the listing shows");
	http_route(s, "GET", "/api/inventory/:sku/history", history, ROUTE_AUTH,
		   "A SKU's stock changes, newest first (page/limit)");
	http_route(s, "PUT", "/api/inventory/:sku", adjust, ROUTE_AUTH,
		   "Manual adjustment {onHand?, safetyBuffer?}, recorded as cause manual");
	http_route(s, "POST", "/api/products/:sku/listings/:listingId", link,
		   ROUTE_AUTH | ROUTE_NO_BODY, "Link a listing to the SKU (sets its sku)");
	http_route(s, "DELETE", "/api/products/:sku/listings/:listingId", unlink_listing,
		   ROUTE_AUTH, "Unlink a listing from the SKU");
}
