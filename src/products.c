/* The seller's SKU master: see the header. One statement answers a list page, its total and its
 * aggregations, so the three always agree. */
#include "products.h"
#include "inventory.h"
#include "sql_json.h"
#include "util.h"

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

/* A list's statements are put together from the fragments below, one per filter set and each
 * "$?" numbered as its value's parameter: only the filters given are in the text, so the
 * planner sees each as it is (an index on it, the channel's EXISTS as a semi-join), and the
 * statement is prepared once per connection and text. Nothing of the input is in the text. */
#define LEVEL(name) INVENTORY_LEVEL_SQL("'" name "'::text") /* folded when planned */
static const char *const level_sqls[] = {LEVEL("critical"), LEVEL("low"), LEVEL("normal"),
					 LEVEL("high"), LEVEL("excess")}; /* inventory_levels */
#define CHANNEL_SQL                                                                                \
	" AND EXISTS (SELECT FROM listings l WHERE l.tenant_id = $1"                              \
	" AND l.sku = p.sku COLLATE \"default\" AND l.channel = $?)" /* listings_sku_idx */

/* The tenant's totals (sql/0033) as (version, count, aggregations). */
#define TOTALS_SQL                                                                                 \
	"SELECT count(*) || '.' || coalesce(max(id), 0) AS v, coalesce(sum(products), 0) AS n,"  \
	" json_build_object('totalProducts', coalesce(sum(products), 0), 'totalValue',"           \
	" coalesce(sum(value), 0), 'avgMargin', round(sum(margin_sum) / nullif(sum(margins), 0),"\
	" 2), 'lowStockCount', coalesce(sum(low), 0))::text AS j"                                  \
	" FROM product_totals WHERE tenant_id = $1"

/* The page (only its rows rendered), its last row (the next cursor), the totals. */
#define PAGE_HEAD "WITH page AS MATERIALIZED (SELECT p.sku, "
#define PAGE_TAIL                                                                                  \
	" last AS (SELECT k, sku FROM page ORDER BY k DESC, sku DESC LIMIT 1),"                   \
	" tot AS (" TOTALS_SQL ")"                                                                 \
	" SELECT coalesce((SELECT json_agg(" LISTED_JSON " ORDER BY g.k, g.sku) FROM page g"      \
	"  JOIN products p ON p.tenant_id = $1 AND p.sku = g.sku), '[]')::text,"                  \
	" tot.n, tot.j, (SELECT count(*) FROM page), (SELECT k::text FROM last),"                 \
	" (SELECT sku FROM last), tot.v FROM tot"

/* A filtered list's aggregations in one pass in float8 (rounded to the cent), with the version
 * read in the same snapshot. */
#define AGGS_HEAD                                                                                  \
	"SELECT count(*), json_build_object('totalProducts', count(*), 'totalValue',"             \
	" round(coalesce(sum(p.on_hand * coalesce(p.cost, 0)::float8), 0)::numeric, 2),"           \
	" 'avgMargin', round(avg(" MARGIN "::float8)::numeric, 2), 'lowStockCount', count(*)"      \
	" FILTER (WHERE p.available <= " INVENTORY_LOW_MARK "))::text,"                             \
	" (SELECT v FROM (" TOTALS_SQL ") t) FROM products p WHERE p.tenant_id = $1"

/* Each sort's key ascending and descending (the value negated; none last either way): the
 * expressions of sql/0033's indexes, which a page is read from in (key, SKU) order. In the
 * order of products_sorts. */
static const char *const sort_keys[][2] = {
    {"p.sales_revenue", "(-p.sales_revenue)"},
    {"p.sales_profit", "(-p.sales_profit)"},
    {"(p.available::numeric)", "(-p.available::numeric)"},
    {"coalesce(" MARGIN ", 1e20)", "coalesce(-" MARGIN ", 1e20)"},
    {"product_epoch(p.updated_at)", "(-product_epoch(p.updated_at))"},
    {"coalesce(p.price, 1e20)", "coalesce(-p.price, 1e20)"},
};

#define MAX_PARAMS 16

typedef struct statement {
	char text[8192];
	size_t len;
	const char *values[MAX_PARAMS];
	int n;
} statement_t;

/* Appends frag to st, each "$?" in it numbered as value, the next parameter (when not NULL). */
static void put(statement_t *st, const char *frag, const char *value)
{
	if (value)
		st->values[st->n++] = value;
	for (const char *c = frag; *c && st->len + 8 < sizeof(st->text); c++)
		if (c[0] == '$' && c[1] == '?') {
			st->len += (size_t)snprintf(st->text + st->len, sizeof(st->text) - st->len,
						    "$%d", st->n);
			c++;
		} else
			st->text[st->len++] = *c;
	st->text[st->len] = 0;
}

static void put_filters(statement_t *st, const products_filter_t *f)
{
	/* The SKUs of the listings whose id is the text (an item id, an ASIN) are one array,
	 * computed once (sql/0041's indexes), not a subquery per product. */
	if (f->search)
		put(st,
		    " AND (p.sku ILIKE '%' || $? || '%' OR p.title ILIKE '%' || $? || '%'"
		    " OR p.sku COLLATE \"default\" = ANY (ARRAY(SELECT l.sku FROM listings l"
		    " WHERE l.tenant_id = $1 AND l.sku IS NOT NULL"
		    " AND (l.external_id IN ($?, upper($?)) OR (l.raw ? 'ASIN'"
		    " AND l.raw->>'ASIN' = upper($?))))))",
		    f->search);
	if (f->category)
		put(st, " AND p.category = $?", f->category);
	if (f->brand)
		put(st, " AND p.brand = $?", f->brand);
	if (f->active)
		put(st, " AND p.active = $?::boolean", f->active);
	for (int i = 0; f->level && inventory_levels[i]; i++)
		if (strcmp(f->level, inventory_levels[i]) == 0)
			put(st, level_sqls[i], NULL);
	if (f->price_min)
		put(st, " AND p.price >= $?::numeric", f->price_min);
	if (f->price_max)
		put(st, " AND p.price <= $?::numeric", f->price_max);
	if (f->margin_min)
		put(st, " AND " MARGIN " >= $?::numeric", f->margin_min);
	if (f->margin_max)
		put(st, " AND " MARGIN " <= $?::numeric", f->margin_max);
	if (f->channel)
		put(st, CHANNEL_SQL, f->channel);
}

bool products_filtered(const products_filter_t *f)
{
	return f->search || f->category || f->brand || f->active || f->level || f->price_min ||
	       f->price_max || f->margin_min || f->margin_max || f->channel;
}

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
	const char *key = NULL; /* none: by SKU, the cursor's key 0 */
	for (int i = 0; f->sort && products_sorts[i]; i++)
		if (strcmp(f->sort, products_sorts[i]) == 0)
			key = sort_keys[i][f->order && strcmp(f->order, "desc") == 0];
	statement_t *st = xcalloc(1, sizeof(*st));
	put(st, PAGE_HEAD, tenant_id);
	put(st, key ? key : "0::numeric", NULL);
	put(st, " AS k FROM products p WHERE p.tenant_id = $1", NULL);
	put_filters(st, f);
	if (key && page->after_key) {
		put(st, " AND (", NULL);
		put(st, key, NULL);
		put(st, ", p.sku) > ($?::numeric,", page->after_key);
		put(st, " $?::text COLLATE \"C\")", page->after_id);
	} else if (page->after_key)
		put(st, " AND p.sku > $?::text COLLATE \"C\"", page->after_id);
	put(st, " ORDER BY ", NULL);
	if (key) {
		put(st, key, NULL);
		put(st, ", ", NULL);
	}
	put(st, "p.sku", NULL);
	put(st, " LIMIT $?::bigint", pp.limit);
	put(st, " OFFSET $?::bigint),", pp.offset);
	put(st, PAGE_TAIL, NULL);
	pg_query_prepared(app->pg, st->text, st->n, st->values, cb, arg);
	free(st);
}

void products_aggregations(app_t *app, const char *tenant_id, const products_filter_t *f, pg_cb cb,
			   void *arg)
{
	statement_t *st = xcalloc(1, sizeof(*st));
	put(st, AGGS_HEAD, tenant_id);
	put_filters(st, f);
	pg_query_prepared(app->pg, st->text, st->n, st->values, cb, arg);
	free(st);
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
