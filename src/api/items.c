/* /api/items: the synced listings of the caller's tenant, every channel's (?channel= one), with
 * their variations and SKUs, read by src/listings.c. */
#include "api.h"
#include "listing.h"
#include "listings.h"
#include "permissions.h"

#include <string.h>

/* ?sort=: LISTINGS_BY_UPDATED when absent, else the sort it names (else a problem). */
static listings_sort_t sort_named(const char *sort, json_t **details)
{
	if (!sort)
		return LISTINGS_BY_UPDATED;
	for (int i = 0; i < LISTINGS_NSORTS; i++)
		if (strcmp(listings_sort_names[i], sort) == 0)
			return (listings_sort_t)i;
	*details = http_problem(*details, "sort", "must be one of updated, price, sold, stock");
	return LISTINGS_BY_UPDATED;
}

static void list(req_t *r)
{
	if (!perm_require(r, "listings.view"))
		return;
	json_t *d = NULL;
	list_req_t l;
	list_parse(r, &l, &d);
	listings_filter_t f = {
	    .account_id = list_uuid_param(r, "accountId", &d),
	    .status = list_text_param(r, "status", 40, &d),
	    .q = list_text_param(r, "q", 100, &d),
	};
	const char *sort = list_text_param(r, "sort", 16, &d);
	f.channel = list_channel_param(r, &d);
	f.sort = sort_named(sort, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	page_t page = list_page_of(&l);
	listings_list(r->app, r->tenant_id, &f, &page, list_page_done, list_ctx(r, "items", &l));
}

static void get(req_t *r)
{
	const char *id;
	if (!perm_require(r, "listings.view") || !(id = list_id(r, "item")))
		return;
	listings_get(r->app, r->tenant_id, id, list_one_done, list_ctx(r, "item", NULL));
}

static void stats(req_t *r)
{
	const char *account;
	if (list_stats_request(r, "listings.view", &account))
		listings_stats(r->app, r->tenant_id, account, list_value_done,
			       list_ctx(r, "items: stats", NULL));
}

void api_items_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/items", list, ROUTE_AUTH,
		   "Synced listings of every channel (accountId, channel, status, q; "
		   "sort=updated|price|sold|stock; page/limit or cursor)");
	http_route(s, "GET", "/api/items/stats", stats, ROUTE_AUTH,
		   "Listing counts by status, stock, sold and stock value");
	http_route(s, "GET", "/api/items/:id", get, ROUTE_AUTH,
		   "One listing with its variations and SKUs");
}
