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
#define MARGIN "product_margin(p.price, p.cost)" /* sql/0033 */
#define PRODUCT_FIELDS                                                                             \
	"'sku', p.sku, 'title', p.title, 'brand', p.brand,"                                       \
	" 'category', p.category, 'price', p.price, 'cost', p.cost, 'margin', " MARGIN ","        \
	" 'currency', p.currency, 'onHand', p.on_hand, 'reserved', p.reserved,"                   \
	" 'available', p.available, 'isKit', p.is_kit, 'minStockAlert', p.min_stock_alert,"      \
	" 'maxStock', p.max_stock, 'targetMargin', p.target_margin, 'notes', p.notes,"           \
	" 'tags', to_json(p.tags), 'customFields', p.custom_fields, 'isActive', p.active,"       \
	" 'updatedAt', " SQL_TS("p.updated_at")
#define PRODUCT_JSON "json_build_object(" PRODUCT_FIELDS ")"
/* The list's rows add the SKU's sales since its first order (product_sales, sql/0029, copied on
 * the product's row by sql/0033). */
#define LISTED_JSON                                                                                \
	"json_build_object(" PRODUCT_FIELDS ", 'sales', json_build_object('units',"               \
	" p.sales_units, 'revenue', p.sales_revenue, 'profit', p.sales_profit))"

/* $1 the tenant; $2..$11 the filters (NULL: none); $12 limit, $13 offset; $14, $15 the cursor
 * (the last row's key and SKU; NULL: none); $16 whether any filter is set. The statement is sent
 * unprepared, so each is planned with its values: the filters absent fold away and the page is
 * read from its sort key's index (sql/0033). */
#define FILTERS                                                                                    \
	" p.tenant_id = $1"                                                                        \
	" AND ($2::text IS NULL OR p.sku ILIKE '%' || $2 || '%' OR p.title ILIKE '%' || $2 || '%')" \
	" AND ($3::text IS NULL OR p.category = $3) AND ($4::text IS NULL OR p.brand = $4)"       \
	" AND ($5::boolean IS NULL OR p.active = $5::boolean)"                                    \
	INVENTORY_LEVEL_SQL("$6")                                                                   \
	" AND ($7::numeric IS NULL OR p.price >= $7::numeric)"                                     \
	" AND ($8::numeric IS NULL OR p.price <= $8::numeric)"                                     \
	" AND ($9::numeric IS NULL OR " MARGIN " >= $9::numeric)"                                  \
	" AND ($10::numeric IS NULL OR " MARGIN " <= $10::numeric)"                                \
	" AND ($11::text IS NULL OR p.sku IN (SELECT l.sku COLLATE \"C\" FROM listings l"          \
	"  WHERE l.tenant_id = $1 AND l.channel = $11 AND l.sku IS NOT NULL))"

/* The aggregations: with a filter, one pass over the filtered rows in float8 (rounded to the
 * cent); without, the tenant's totals kept by sql/0033's triggers. One row (count, JSON). */
#define FILTERED_AGGS                                                                              \
	"SELECT count(*) AS n, json_build_object('totalProducts', count(*), 'totalValue',"        \
	" round(coalesce(sum(p.on_hand * coalesce(p.cost, 0)::float8), 0)::numeric, 2),"           \
	" 'avgMargin', round(avg(" MARGIN "::float8)::numeric, 2), 'lowStockCount', count(*)"      \
	" FILTER (WHERE p.available <= " INVENTORY_LOW_MARK ")) AS j FROM products p"               \
	" WHERE $16::boolean AND" FILTERS " HAVING $16::boolean"
#define TOTAL_AGGS                                                                                 \
	"SELECT coalesce(sum(products), 0) AS n, json_build_object('totalProducts',"              \
	" coalesce(sum(products), 0), 'totalValue', coalesce(sum(value), 0), 'avgMargin',"        \
	" round(sum(margin_sum) / nullif(sum(margins), 0), 2), 'lowStockCount',"                  \
	" coalesce(sum(low), 0)) AS j FROM product_totals WHERE tenant_id = $1 AND NOT $16::boolean"\
	" HAVING NOT $16::boolean"

/* A page ordered by KEY then SKU, after the cursor AFTER; only its rows are rendered. */
#define LIST_SQL(KEY, ORDER, AFTER)                                                                \
	"WITH page AS MATERIALIZED (SELECT p.sku, " KEY " AS k FROM products p WHERE" FILTERS     \
	"  AND ($14::numeric IS NULL OR " AFTER ") ORDER BY " ORDER                                \
	"  LIMIT $12::bigint OFFSET $13::bigint),"                                                 \
	" last AS (SELECT k, sku FROM page ORDER BY k DESC, sku DESC LIMIT 1),"                   \
	" agg AS (" FILTERED_AGGS " UNION ALL " TOTAL_AGGS ")"                                    \
	" SELECT coalesce((SELECT json_agg(" LISTED_JSON " ORDER BY g.k, g.sku) FROM page g"      \
	"  JOIN products p ON p.tenant_id = $1 AND p.sku = g.sku), '[]')::text,"                  \
	" (SELECT n FROM agg), (SELECT j::text FROM agg),"                                         \
	" (SELECT count(*) FROM page), (SELECT k::text FROM last), (SELECT sku FROM last)"
#define SORTED_SQL(KEY)                                                                            \
	LIST_SQL(KEY, KEY ", p.sku", "(" KEY ", p.sku) > ($14::numeric, $15::text COLLATE \"C\")")

/* Each sort's key, ascending and descending (the value negated; none last either way): the
 * expressions of sql/0033's indexes, which the page is read from. */
static const char *const list_sqls[][2] = {
    {SORTED_SQL("p.sales_revenue"), SORTED_SQL("(-p.sales_revenue)")},
    {SORTED_SQL("p.sales_profit"), SORTED_SQL("(-p.sales_profit)")},
    {SORTED_SQL("(p.available::numeric)"), SORTED_SQL("(-p.available::numeric)")},
    {SORTED_SQL("coalesce(" MARGIN ", 1e20)"), SORTED_SQL("coalesce(-" MARGIN ", 1e20)")},
    {SORTED_SQL("product_epoch(p.updated_at)"), SORTED_SQL("(-product_epoch(p.updated_at))")},
    {SORTED_SQL("coalesce(p.price, 1e20)"), SORTED_SQL("coalesce(-p.price, 1e20)")},
};
/* No sort: by SKU (the primary key), the cursor's key 0. */
static const char by_sku_sql[] =
    LIST_SQL("0::numeric", "p.sku", "p.sku > $15::text COLLATE \"C\"");

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
	bool filtered = f->search || f->category || f->brand || f->active || f->level ||
			f->price_min || f->price_max || f->margin_min || f->margin_max ||
			f->channel;
	const char *p[] = {
	    tenant_id,	   f->search,	    f->category,    f->brand,
	    f->active,	   f->level,	    f->price_min,   f->price_max,
	    f->margin_min, f->margin_max,   f->channel,	    pp.limit,
	    pp.offset,	   page->after_key, page->after_id, filtered ? "true" : "false"};
	const char *sql = by_sku_sql;
	for (int i = 0; f->sort && products_sorts[i]; i++)
		if (strcmp(f->sort, products_sorts[i]) == 0)
			sql = list_sqls[i][f->order && strcmp(f->order, "desc") == 0];
	pg_query(app->pg, sql, 16, p, cb, arg);
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
