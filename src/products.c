/* The seller's SKU master: see the header. One statement answers a list page, its total and its
 * aggregations, so the three always agree. */
#include "products.h"
#include "inventory.h"
#include "sql_json.h"

#include <string.h>

const char *const products_sorts[] = {"sales",	 "profit", "stock", "margin",
				      "updated", "price",  NULL};
const char *const products_orders[] = {"asc", "desc", NULL};

// clang-format off
#define MARGIN                                                                                     \
	"(CASE WHEN p.price > 0 AND p.cost IS NOT NULL"                                            \
	" THEN round((p.price - p.cost) / p.price * 100, 2) END)"
#define PRODUCT_FIELDS                                                                             \
	"'sku', p.sku, 'title', p.title, 'brand', p.brand,"                                       \
	" 'category', p.category, 'price', p.price, 'cost', p.cost, 'margin', " MARGIN ","        \
	" 'currency', p.currency, 'onHand', p.on_hand, 'reserved', p.reserved,"                   \
	" 'available', p.available, 'isKit', p.is_kit, 'minStockAlert', p.min_stock_alert,"      \
	" 'maxStock', p.max_stock, 'targetMargin', p.target_margin, 'notes', p.notes,"           \
	" 'tags', to_json(p.tags), 'customFields', p.custom_fields, 'isActive', p.active,"       \
	" 'updatedAt', " SQL_TS("p.updated_at")
#define PRODUCT_JSON "json_build_object(" PRODUCT_FIELDS ")"
/* The list's rows add the SKU's sales since its first order (product_sales, sql/0029). */
#define LISTED_JSON                                                                                \
	"json_build_object(" PRODUCT_FIELDS ", 'sales', json_build_object('units',"               \
	" coalesce(s.units, 0), 'revenue', coalesce(s.revenue, 0), 'profit',"                     \
	" coalesce(s.profit, 0)))"
/* The sort value ($11 NULL: none, by SKU alone; SALES the SKU's sales, when joined) ... */
#define SORT_VALUE(SALES, PROFIT)                                                                  \
	"CASE $11 WHEN 'stock' THEN p.available::numeric WHEN 'margin' THEN " MARGIN              \
	" WHEN 'price' THEN p.price WHEN 'updated' THEN extract(epoch FROM p.updated_at)::numeric" \
	" WHEN 'sales' THEN " SALES " WHEN 'profit' THEN " PROFIT " ELSE 0 END"
/* ... and the key rows are ordered by, ascending, with the SKU: the value negated for desc, none
 * last either way. A cursor is the last row's (key, SKU). */
#define SORT_KEY(SALES, PROFIT)                                                                    \
	"coalesce(CASE WHEN $12 = 'desc' THEN -(" SORT_VALUE(SALES, PROFIT) ") ELSE "             \
	SORT_VALUE(SALES, PROFIT) " END, 1e20)"

/* The filtered SKUs (few columns: every one is read for the aggregations), the page's keys, its
 * last row; only the page's rows are rendered. JOIN brings product_sales in for its sorts. */
#define LIST_SQL(JOIN, SALES, PROFIT)                                                              \
	"WITH f AS (SELECT p.sku, " SORT_KEY(SALES, PROFIT) " AS k, p.on_hand, p.cost, p.price,"  \
	"  p.available, p.min_stock_alert FROM products p " JOIN " WHERE p.tenant_id = $1"          \
	" AND ($2::text IS NULL OR p.sku ILIKE '%' || $2 || '%' OR p.title ILIKE '%' || $2 || '%')" \
	" AND ($3::text IS NULL OR p.category = $3) AND ($4::text IS NULL OR p.brand = $4)"       \
	" AND ($5::boolean IS NULL OR p.active = $5::boolean)"                                    \
	INVENTORY_LEVEL_SQL("$6")                                                                   \
	" AND ($7::numeric IS NULL OR p.price >= $7::numeric)"                                     \
	" AND ($8::numeric IS NULL OR p.price <= $8::numeric)"                                     \
	" AND ($9::numeric IS NULL OR " MARGIN " >= $9::numeric)"                                  \
	" AND ($10::numeric IS NULL OR " MARGIN " <= $10::numeric)"                                \
	" AND ($15::text IS NULL OR EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = p.tenant_id" \
	"  AND l.sku = p.sku COLLATE \"default\" AND l.channel = $15))),"                          \
	" page AS (SELECT p.sku, p.k FROM f p WHERE $16::numeric IS NULL"                         \
	"  OR (p.k, p.sku) > ($16::numeric, $17::text COLLATE \"C\")"                              \
	"  ORDER BY p.k, p.sku LIMIT $13::bigint OFFSET $14::bigint),"                            \
	" last AS (SELECT k, sku FROM page ORDER BY k DESC, sku DESC LIMIT 1)"                    \
	" SELECT coalesce((SELECT json_agg(" LISTED_JSON " ORDER BY g.k, g.sku) FROM page g"      \
	"  JOIN products p ON p.tenant_id = $1 AND p.sku = g.sku"                                  \
	"  LEFT JOIN product_sales s ON s.tenant_id = $1 AND s.sku = g.sku), '[]')::text,"        \
	" count(*), json_build_object('totalProducts', count(*),"                                 \
	"  'totalValue', coalesce(sum(p.on_hand * coalesce(p.cost, 0)), 0),"                       \
	"  'avgMargin', round(avg(" MARGIN "), 2),"                                               \
	"  'lowStockCount', count(*) FILTER (WHERE p.available <= " INVENTORY_LOW_MARK "))::text,"\
	" (SELECT count(*) FROM page), (SELECT k::text FROM last), (SELECT sku FROM last)"       \
	" FROM f p"

static const char list_sql[] = LIST_SQL("", "0", "0");
static const char list_by_sales_sql[] =
    LIST_SQL("LEFT JOIN product_sales s ON s.tenant_id = p.tenant_id AND s.sku = p.sku",
	     "coalesce(s.revenue, 0)", "coalesce(s.profit, 0)");

#define SET(col, key, value)                                                                       \
	" " col " = CASE WHEN $3::jsonb ? '" key "' THEN " value " ELSE p." col " END"
#define SETTINGS                                                                                   \
	SET("min_stock_alert", "minStockAlert", "($3::jsonb->>'minStockAlert')::int") ","          \
	SET("max_stock", "maxStock", "($3::jsonb->>'maxStock')::int") ","                          \
	SET("target_margin", "targetMargin", "($3::jsonb->>'targetMargin')::numeric") ","          \
	SET("cost", "cost", "($3::jsonb->>'cost')::numeric") ","                                   \
	SET("notes", "notes", "$3::jsonb->>'notes'") ","                                           \
	SET("tags", "tags", "ARRAY(SELECT jsonb_array_elements_text($3::jsonb->'tags'))") ","      \
	SET("custom_fields", "customFields", "$3::jsonb->'customFields'")
static const char update_sql[] =
    "UPDATE products p SET" SETTINGS
    " WHERE p.tenant_id = $1 AND p.sku = $2 RETURNING " PRODUCT_JSON "::text";

/* $2 the SKUs (a JSON array), $3 the changes. A SKU the tenant lacks, or whose stored bounds the
 * changes would cross (max_stock > min_stock_alert), fails alone; the others change. */
static const char bulk_sql[] =
    "WITH req AS (SELECT DISTINCT x AS sku FROM jsonb_array_elements_text($2::jsonb) x),"
    " cur AS (SELECT p.sku, CASE WHEN $3::jsonb ? 'minStockAlert'"
    "  THEN ($3::jsonb->>'minStockAlert')::int ELSE p.min_stock_alert END AS lo,"
    "  CASE WHEN $3::jsonb ? 'maxStock' THEN ($3::jsonb->>'maxStock')::int"
    "  ELSE p.max_stock END AS hi"
    "  FROM products p JOIN req r ON r.sku = p.sku WHERE p.tenant_id = $1),"
    " ok AS (SELECT sku FROM cur WHERE lo IS NULL OR hi IS NULL OR hi > lo),"
    " done AS (UPDATE products p SET" SETTINGS " FROM ok"
    "  WHERE p.tenant_id = $1 AND p.sku = ok.sku RETURNING p.sku)"
    " SELECT json_build_object('updated', (SELECT count(*) FROM done),"
    " 'failed', coalesce((SELECT json_agg(json_build_object('sku', r.sku, 'code',"
    "  CASE WHEN c.sku IS NULL THEN 'NOT_FOUND' ELSE 'VALIDATION_FAILED' END, 'error',"
    "  CASE WHEN c.sku IS NULL THEN 'No such SKU.'"
    "  ELSE 'maxStock must be greater than minStockAlert.' END) ORDER BY r.sku)"
    "  FROM req r LEFT JOIN cur c ON c.sku = r.sku"
    "  WHERE c.sku IS NULL OR r.sku NOT IN (SELECT sku FROM ok)), '[]'))::text";

/* One SKU in detail. Days are the tenant's; the 30 days end today. velocity: units a day over
 * the last 30 days; daysOfStock: available / velocity. The restock day is when available falls
 * to the minimum (default 5) at that velocity; the quantity covers 30 more days above the
 * minimum, within maxStock. targetPrice: the price at the target margin over the cost. */
static const char detail_sql[] =
    "WITH p AS (SELECT * FROM products WHERE tenant_id = $1 AND sku = $2),"
    " z AS (SELECT (now() AT TIME ZONE coalesce((SELECT timezone FROM tenants WHERE id = $1),"
    "  'UTC'))::date AS today),"
    " d AS (SELECT s.bucket AS day, sum(s.units) AS units, sum(s.revenue) AS revenue"
    "  FROM dashboard_skus s, z WHERE s.tenant_id = $1 AND s.sku = $2 AND s.grain = 'd'"
    "  AND s.bucket > z.today - 90 AND s.bucket <= z.today GROUP BY 1),"
    " m AS (SELECT coalesce(sum(d.revenue) FILTER (WHERE d.day > z.today - 30), 0) AS sales30,"
    "  coalesce(sum(d.revenue), 0) AS sales90,"
    "  coalesce(sum(d.units) FILTER (WHERE d.day > z.today - 30), 0) AS units30,"
    "  round(coalesce(sum(d.units) FILTER (WHERE d.day > z.today - 30), 0) / 30.0, 2) AS velocity"
    "  FROM z LEFT JOIN d ON true),"
    " r AS (SELECT m.*, CASE WHEN m.velocity > 0 THEN round(p.available / m.velocity, 1) END AS dos,"
    "  " INVENTORY_LOW_MARK " AS low FROM m, p)"
    " SELECT json_build_object('product', " PRODUCT_JSON ","
    " 'metrics', json_build_object('sales30d', r.sales30, 'sales90d', r.sales90,"
    "  'units30d', r.units30, 'velocity', r.velocity, 'daysOfStock', r.dos),"
    " 'history', json_build_object("
    "  'price', coalesce((SELECT json_agg(json_build_object('date', d.day,"
    "   'avgPrice', round(d.revenue / d.units, 2)) ORDER BY d.day) FROM d WHERE d.units > 0), '[]'),"
    "  'stock', coalesce((SELECT json_agg(json_build_object('at', " SQL_TS("c.at") ","
    "   'onHand', c.on_hand, 'available', c.available, 'delta', c.delta, 'cause', c.cause)"
    "   ORDER BY c.at, c.id) FROM stock_changes c, z WHERE c.tenant_id = $1 AND c.sku = $2"
    "   AND c.at > now() - interval '90 days'), '[]'),"
    "  'sales', coalesce((SELECT json_agg(json_build_object('date', d.day, 'units', d.units,"
    "   'revenue', d.revenue) ORDER BY d.day) FROM d), '[]')),"
    " 'listings', inventory_item_json(p)->'listings',"
    " 'recommendations', json_strip_nulls(json_build_object("
    "  'restockDate', CASE WHEN r.velocity > 0 THEN z.today"
    "   + greatest(floor((p.available - r.low) / r.velocity), 0)::int END,"
    "  'restockQuantity', CASE WHEN r.velocity > 0 THEN nullif(greatest(CASE WHEN p.max_stock"
    "   IS NULL THEN ceil(r.velocity * 30 + r.low - p.available) ELSE least(ceil(r.velocity * 30"
    "   + r.low - p.available), p.max_stock - p.available) END, 0), 0) END,"
    "  'targetPrice', CASE WHEN p.cost IS NOT NULL AND p.target_margin < 100"
    "   THEN round(p.cost / (1 - p.target_margin / 100), 2) END,"
    "  'warnings', to_json(array_remove(ARRAY["
    "   CASE WHEN p.available = 0 THEN 'OUT_OF_STOCK'"
    "    WHEN p.available <= r.low THEN 'LOW_STOCK' END,"
    "   CASE WHEN p.max_stock IS NOT NULL AND p.available > p.max_stock THEN 'OVERSTOCK' END,"
    "   CASE WHEN p.cost IS NULL THEN 'NO_COST' END,"
    "   CASE WHEN p.price < p.cost THEN 'PRICE_BELOW_COST' END,"
    "   CASE WHEN " MARGIN " < p.target_margin THEN 'BELOW_TARGET_MARGIN' END,"
    "   CASE WHEN r.units30 = 0 AND p.available > 0 THEN 'NO_SALES_30D' END], NULL)))))::text"
    " FROM p, r, z";
// clang-format on

void products_list(app_t *app, const char *tenant_id, const products_filter_t *f,
		   const page_t *page, pg_cb cb, void *arg)
{
	page_params_t pp;
	paging_params(page, &pp);
	const char *p[] = {tenant_id,	  f->search,	 f->category,  f->brand,
			   f->active,	  f->level,	 f->price_min, f->price_max,
			   f->margin_min, f->margin_max, f->sort,      f->order ? f->order : "asc",
			   pp.limit,	  pp.offset,	 f->channel,   page->after_key,
			   page->after_id};
	bool by_sales =
	    f->sort && (strcmp(f->sort, "sales") == 0 || strcmp(f->sort, "profit") == 0);
	pg_query_prepared(app->pg, by_sales ? list_by_sales_sql : list_sql, 17, p, cb, arg);
}

void products_update(app_t *app, const char *tenant_id, const char *sku, const char *changes,
		     pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, sku, changes};
	pg_query_prepared(app->pg, update_sql, 3, p, cb, arg);
}

void products_bulk_update(app_t *app, const char *tenant_id, const char *skus, const char *changes,
			  pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, skus, changes};
	pg_query_prepared(app->pg, bulk_sql, 3, p, cb, arg);
}

void products_detail(app_t *app, const char *tenant_id, const char *sku, pg_cb cb, void *arg)
{
	const char *p[] = {tenant_id, sku};
	pg_query_prepared(app->pg, detail_sql, 2, p, cb, arg);
}
