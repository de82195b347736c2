/* The seller's SKU master: see the header. One statement answers a list page, its total and its
 * aggregations, so the three always agree. */
#include "products.h"
#include "inventory.h"
#include "sql_json.h"

const char *const products_sorts[] = {"stock", "margin", "updated", "price", NULL};
const char *const products_orders[] = {"asc", "desc", NULL};

// clang-format off
#define MARGIN                                                                                     \
	"(CASE WHEN p.price > 0 AND p.cost IS NOT NULL"                                            \
	" THEN round((p.price - p.cost) / p.price * 100, 2) END)"
#define PRODUCT_JSON                                                                               \
	"json_build_object('sku', p.sku, 'title', p.title, 'brand', p.brand,"                     \
	" 'category', p.category, 'price', p.price, 'cost', p.cost, 'margin', " MARGIN ","        \
	" 'currency', p.currency, 'onHand', p.on_hand, 'reserved', p.reserved,"                   \
	" 'available', p.available, 'isKit', p.is_kit, 'minStockAlert', p.min_stock_alert,"      \
	" 'maxStock', p.max_stock, 'targetMargin', p.target_margin, 'notes', p.notes,"           \
	" 'tags', to_json(p.tags), 'customFields', p.custom_fields, 'isActive', p.active,"       \
	" 'updatedAt', " SQL_TS("p.updated_at") ")"
/* The sort key: NULL (no sortBy) leaves the SKU order. */
#define SORT_KEY                                                                                   \
	"CASE $11 WHEN 'stock' THEN p.available::numeric WHEN 'margin' THEN " MARGIN              \
	" WHEN 'price' THEN p.price WHEN 'updated' THEN extract(epoch FROM p.updated_at)::numeric END"

static const char list_sql[] =
    "WITH f AS (SELECT p.*, row_number() OVER (ORDER BY"
    "  CASE WHEN $12 = 'desc' THEN " SORT_KEY " END DESC NULLS LAST,"
    "  CASE WHEN $12 = 'asc' THEN " SORT_KEY " END ASC NULLS LAST, p.sku) AS rn"
    " FROM products p WHERE p.tenant_id = $1"
    " AND ($2::text IS NULL OR p.sku ILIKE '%' || $2 || '%' OR p.title ILIKE '%' || $2 || '%')"
    " AND ($3::text IS NULL OR p.category = $3) AND ($4::text IS NULL OR p.brand = $4)"
    " AND ($5::boolean IS NULL OR p.active = $5::boolean)"
    INVENTORY_LEVEL_SQL("$6")
    " AND ($7::numeric IS NULL OR p.price >= $7::numeric)"
    " AND ($8::numeric IS NULL OR p.price <= $8::numeric)"
    " AND ($9::numeric IS NULL OR " MARGIN " >= $9::numeric)"
    " AND ($10::numeric IS NULL OR " MARGIN " <= $10::numeric))"
    " SELECT coalesce((SELECT json_agg(" PRODUCT_JSON " ORDER BY p.rn) FROM f p"
    "  WHERE p.rn > $14::bigint AND p.rn <= $14::bigint + $13::bigint), '[]')::text,"
    " count(*), json_build_object('totalProducts', count(*),"
    "  'totalValue', coalesce(sum(p.on_hand * coalesce(p.cost, 0)), 0),"
    "  'avgMargin', round(avg(" MARGIN "), 2),"
    "  'lowStockCount', count(*) FILTER (WHERE p.available <= " INVENTORY_LOW_MARK "))::text"
    " FROM f p";

#define SET(col, key, value)                                                                       \
	" " col " = CASE WHEN $3::jsonb ? '" key "' THEN " value " ELSE p." col " END"
static const char update_sql[] =
    "UPDATE products p SET"
    SET("min_stock_alert", "minStockAlert", "($3::jsonb->>'minStockAlert')::int") ","
    SET("max_stock", "maxStock", "($3::jsonb->>'maxStock')::int") ","
    SET("target_margin", "targetMargin", "($3::jsonb->>'targetMargin')::numeric") ","
    SET("cost", "cost", "($3::jsonb->>'cost')::numeric") ","
    SET("notes", "notes", "$3::jsonb->>'notes'") ","
    SET("tags", "tags", "ARRAY(SELECT jsonb_array_elements_text($3::jsonb->'tags'))") ","
    SET("custom_fields", "customFields", "$3::jsonb->'customFields'")
    " WHERE p.tenant_id = $1 AND p.sku = $2 RETURNING " PRODUCT_JSON "::text";
// clang-format on

void products_list(app_t *app, const char *tenant_id, const products_filter_t *f,
		   const page_t *page, pg_cb cb, void *arg)
{
	page_params_t pp;
	paging_params(page, &pp);
	const char *p[] = {tenant_id,	  f->search,	 f->category,  f->brand,
			   f->active,	  f->level,	 f->price_min, f->price_max,
			   f->margin_min, f->margin_max, f->sort,      f->order ? f->order : "asc",
			   pp.limit,	  pp.offset};
	pg_query_prepared(app->pg, list_sql, 14, p, cb, arg);
}

void products_update(app_t *app, const char *tenant_id, const char *sku, const char *changes,
		     pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, sku, changes};
	pg_query_prepared(app->pg, update_sql, 3, p, cb, arg);
}
