/* /api/items: the synced listings of the caller's tenant, every channel's (?channel= one), with
 * their variations and SKUs. One fixed statement per sort order (updated, price, sold, stock),
 * each with a keyset cursor on (sort key, id). */
#include "api.h"
#include "listing.h"
#include "permissions.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

// clang-format off
#define ITEM_JSON                                                                                  \
	"json_build_object('id', i.id, 'accountId', i.account_id, 'channel', i.channel,"           \
	" 'mlItemId', i.external_id,"                                                              \
	" 'title', i.title, 'status', i.status, 'subStatus', i.sub_status, 'price', i.price,"      \
	" 'currency', i.currency, 'availableQuantity', i.available_quantity,"                      \
	" 'soldQuantity', i.sold_quantity, 'sku', i.sku, 'categoryId', i.category_id,"             \
	" 'listingType', i.listing_type, 'logisticType', i.logistic_type,"                         \
	" 'permalink', i.permalink, 'thumbnail', i.thumbnail,"                                     \
	" 'variationCount', i.variation_count, 'dateCreated', " SQL_TS(                            \
	    "i.date_created") ", 'lastUpdated', " SQL_TS("i.last_updated") ", "                    \
									   "'syncedAt', " SQL_TS(  \
									       "i.synced_at") ")"

#define ITEM_FILTERS                                                                               \
	" WHERE i.tenant_id = $1 AND ($2::uuid IS NULL OR i.account_id = $2::uuid)"                \
	" AND ($3::text IS NULL OR i.status = $3)"                                                 \
	" AND ($4::text IS NULL OR i.title ILIKE '%' || $4 || '%' OR i.external_id = upper($4)"    \
	"  OR i.sku = $4 OR EXISTS (SELECT 1 FROM listing_variations v WHERE v.listing_id = i.id"  \
	"  AND v.tenant_id = i.tenant_id AND v.sku = $4))"                                         \
	" AND ($5::text IS NULL OR i.channel = $5)"

/* The page is chosen first and only its rows are rendered (see questions.c). */
#define ITEM_LIST(key, type)                                                                       \
	"SELECT " ITEM_JSON "::text, (" key ")::text, i.id"                                        \
	" FROM (SELECT i.* FROM listings i" ITEM_FILTERS                                           \
	" AND ($6::text IS NULL OR ((" key "), i.id) < ($6::" type ", $7::uuid))"                  \
	" ORDER BY (" key ") DESC, i.id DESC LIMIT $8 OFFSET $9) i"                                \
	" ORDER BY (" key ") DESC, i.id DESC"

static const char *const sorts[] = {"updated", "price", "sold", "stock", NULL};
static const char *const list_sql[] = {
    ITEM_LIST("i.last_updated", "timestamptz"),
    ITEM_LIST("coalesce(i.price, 0)", "numeric"),
    ITEM_LIST("i.sold_quantity", "int"),
    ITEM_LIST("i.available_quantity", "int"),
};

static const char count_sql[] = "SELECT count(*) FROM listings i" ITEM_FILTERS;

static const char get_sql[] =
    "SELECT json_build_object('item', " ITEM_JSON ","
    " 'variations', coalesce((SELECT json_agg(json_build_object('id', " SQL_ID("v.external_id") ","
    "   'sku', v.sku, 'price', v.price, 'availableQuantity', v.available_quantity,"
    "   'soldQuantity', v.sold_quantity, 'attributes', v.attributes)"
    "   ORDER BY length(v.external_id), v.external_id)" /* numeric ids in numeric order */
    "   FROM listing_variations v WHERE v.listing_id = i.id AND v.tenant_id = i.tenant_id), '[]'))"
    "::text FROM listings i WHERE i.id = $1 AND i.tenant_id = $2";

static const char stats_sql[] =
    "SELECT json_build_object('total', count(*),"
    " 'byStatus', coalesce((SELECT json_object_agg(status, n) FROM (SELECT status, count(*) n"
    "   FROM listings WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid)"
    "   GROUP BY status) s), '{}'),"
    " 'withVariations', count(*) FILTER (WHERE variation_count > 0),"
    " 'variations', coalesce(sum(variation_count), 0),"
    " 'outOfStock', count(*) FILTER (WHERE available_quantity = 0),"
    " 'lowStock', count(*) FILTER (WHERE available_quantity BETWEEN 1 AND 5),"
    " 'stock', coalesce(sum(available_quantity), 0), 'sold', coalesce(sum(sold_quantity), 0),"
    " 'stockValue', coalesce(sum(price * available_quantity), 0),"
    " 'currency', coalesce(max(currency), 'BRL'))::text"
    " FROM listings WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid)";

// clang-format on

static void items_list(req_t *r)
{
	if (!perm_require(r, "listings.view"))
		return;
	json_t *d = NULL;
	list_req_t l;
	list_parse(r, &l, &d);
	const char *account = list_uuid_param(r, "accountId", &d);
	const char *status = list_text_param(r, "status", 40, &d);
	const char *q = list_text_param(r, "q", 100, &d);
	const char *sort = list_text_param(r, "sort", 16, &d);
	const char *channel = list_channel_param(r, &d);
	int which = 0;
	if (sort) {
		for (which = 0; sorts[which] && strcmp(sorts[which], sort) != 0; which++)
			;
		if (!sorts[which])
			d = http_problem(d, "sort", "must be one of updated, price, sold, stock");
	}
	if (d) {
		http_invalid(r, d);
		return;
	}
	const char *p[] = {r->tenant_id, account,     status,	 q,	  channel,
			   l.cursor_key, l.cursor_id, l.limit_s, l.offset};
	pg_stmt_t stmts[] = {{list_sql[which], 9, p}, {count_sql, 5, p}};
	list_page(r, "items", &l, stmts);
}

static void items_get(req_t *r)
{
	const char *id;
	if (!perm_require(r, "listings.view") || !(id = list_id(r, "item")))
		return;
	const char *p[] = {id, r->tenant_id};
	list_one(r, "item", get_sql, 2, p);
}

static void items_stats(req_t *r)
{
	list_stats(r, "listings.view", "items: stats", stats_sql);
}

void api_items_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/items", items_list, ROUTE_AUTH,
		   "Synced listings of every channel (accountId, channel, status, q; "
		   "sort=updated|price|sold|stock; page/limit or cursor)");
	http_route(s, "GET", "/api/items/stats", items_stats, ROUTE_AUTH,
		   "Listing counts by status, stock, sold and stock value");
	http_route(s, "GET", "/api/items/:id", items_get, ROUTE_AUTH,
		   "One listing with its variations and SKUs");
}
