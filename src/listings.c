/* Every channel's synced listings: see the header. One fixed statement per sort order, each
 * with a keyset cursor on (sort key, id). */
#include "listings.h"
#include "sql_json.h"

// clang-format off
#define LISTING_JSON                                                                               \
	"json_build_object('id', i.id, 'accountId', i.account_id, 'channel', i.channel,"           \
	" 'mlItemId', " SQL_ML_ONLY("i.channel", "i.external_id") ", 'externalId', i.external_id," \
	" 'title', i.title, 'status', i.status, 'subStatus', i.sub_status, 'price', i.price,"      \
	" 'currency', i.currency, 'availableQuantity', i.available_quantity,"                      \
	" 'soldQuantity', i.sold_quantity, 'sku', i.sku, 'categoryId', i.category_id,"             \
	" 'listingType', i.listing_type, 'logisticType', i.logistic_type,"                         \
	" 'permalink', i.permalink, 'thumbnail', i.thumbnail,"                                     \
	" 'variationCount', i.variation_count, 'dateCreated', " SQL_TS("i.date_created") ","       \
	" 'lastUpdated', " SQL_TS("i.last_updated") ", 'syncedAt', " SQL_TS("i.synced_at") ")"

#define LISTING_FILTERS                                                                            \
	" WHERE i.tenant_id = $1 AND ($2::uuid IS NULL OR i.account_id = $2::uuid)"                \
	" AND ($3::text IS NULL OR i.status = $3)"                                                 \
	" AND ($4::text IS NULL OR i.title ILIKE '%' || $4 || '%' OR i.external_id = upper($4)"    \
	"  OR i.sku = $4 OR EXISTS (SELECT 1 FROM listing_variations v WHERE v.listing_id = i.id"  \
	"  AND v.tenant_id = i.tenant_id AND v.sku = $4))"                                         \
	" AND ($5::text IS NULL OR i.channel = $5)"

/* The page is chosen first and only its rows are rendered. */
#define LISTING_PAGE(key, type)                                                                    \
	"SELECT " LISTING_JSON "::text, (" key ")::text, i.id"                                     \
	" FROM (SELECT i.* FROM listings i" LISTING_FILTERS                                        \
	" AND ($6::text IS NULL OR ((" key "), i.id) < ($6::" type ", $7::uuid))"                  \
	" ORDER BY (" key ") DESC, i.id DESC LIMIT $8 OFFSET $9) i"                                \
	" ORDER BY (" key ") DESC, i.id DESC"

static const char *const list_sql[LISTINGS_NSORTS] = {
    [LISTINGS_BY_UPDATED] = LISTING_PAGE("i.last_updated", "timestamptz"),
    [LISTINGS_BY_PRICE] = LISTING_PAGE("coalesce(i.price, 0)", "numeric"),
    [LISTINGS_BY_SOLD] = LISTING_PAGE("i.sold_quantity", "int"),
    [LISTINGS_BY_STOCK] = LISTING_PAGE("i.available_quantity", "int"),
};

static const char count_sql[] = "SELECT count(*) FROM listings i" LISTING_FILTERS;

static const char get_sql[] =
    "SELECT json_build_object('item', " LISTING_JSON ","
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

const char *const listings_sort_names[LISTINGS_NSORTS] = {
    [LISTINGS_BY_UPDATED] = "updated",
    [LISTINGS_BY_PRICE] = "price",
    [LISTINGS_BY_SOLD] = "sold",
    [LISTINGS_BY_STOCK] = "stock",
};

void listings_list(app_t *app, const char *tenant_id, const listings_filter_t *f,
		   const page_t *page, paging_cb cb, void *arg)
{
	page_params_t pp;
	paging_params(page, &pp);
	const char *p[] = {tenant_id,	    f->account_id,  f->status, f->q,	 f->channel,
			   page->after_key, page->after_id, pp.limit,  pp.offset};
	pg_stmt_t stmts[] = {{list_sql[f->sort], 9, p}, {count_sql, 5, p}};
	paging_read(app->pg, stmts, cb, arg);
}

void listings_get(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg)
{
	const char *p[] = {id, tenant_id};
	pg_query_prepared(app->pg, get_sql, 2, p, cb, arg);
}

void listings_stats(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, account_id};
	pg_query_prepared(app->pg, stats_sql, 2, p, cb, arg);
}
