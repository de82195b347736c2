/* The seller's SKU master (products, sql/0015_products.sql) as GET/PUT /api/products read and
 * change it: the filtered, sorted list with its aggregations, and the seller's own settings of a
 * SKU. A product's margin is (price - cost) / price × 100, rounded to 2 places; none without a
 * price above 0 and a cost. */
#ifndef SH_PRODUCTS_H
#define SH_PRODUCTS_H

#include "app.h"
#include "paging.h"

#define PRODUCTS_COST_MAX 1e11 /* a price or cost: numeric(14, 2) holds less than 1e12 */

/* ?sortBy= and ?sortOrder= values. */
extern const char *const products_sorts[];
extern const char *const products_orders[];

/* A list's filters and order, all text as the query gave them (checked); NULL is no filter.
 * search matches the SKU or the title (substring, any case); active is "true" or "false";
 * level one of inventory_levels; channel keeps the SKUs with a listing on it; the bounds decimal
 * text. sort NULL: by SKU; sales and profit are the SKU's since its first order (product_sales,
 * sql/0029: not a window that slides). */
typedef struct products_filter {
	const char *search, *category, *brand, *active, *level, *channel;
	const char *price_min, *price_max, *margin_min, *margin_max;
	const char *sort, *order;
} products_filter_t;

/* Whether f has any filter (the aggregations then are over the filtered products). */
bool products_filtered(const products_filter_t *f);

/* The tenant's products that pass f, the page after page->after_key/after_id (a cursor: the
 * last row's sort key and SKU) or at page->offset: cb gets one row of seven columns: the page's
 * products as a JSON array (each with its sales {units, revenue, profit}); the count of the
 * tenant's products and their aggregations as a JSON object {totalProducts, totalValue
 * (Σ on_hand × cost), avgMargin, lowStockCount (available at or under the min stock alert,
 * default 5)}, both unfiltered (kept at write time, sql/0033); the page's row count; its last
 * row's sort key and SKU (the next cursor); and the version of the tenant's products (text: it
 * differs after any change a list's filters or aggregations can see). */
void products_list(app_t *app, const char *tenant_id, const products_filter_t *f,
		   const page_t *page, pg_cb cb, void *arg);

/* The aggregations over the tenant's products that pass f (one pass over them): cb gets one
 * row: their count, the aggregations' JSON, and the version they were read at. */
void products_aggregations(app_t *app, const char *tenant_id, const products_filter_t *f, pg_cb cb,
			   void *arg);

/* Applies changes (a JSON object, already checked, of minStockAlert, maxStock, targetMargin,
 * cost, notes, tags, customFields: a key present is set, null clears) to the tenant's SKU: cb
 * gets one row whose one column is the product's JSON after the change, or no row when the
 * tenant has no such SKU; a breach of max_stock > min_stock_alert fails with SQLSTATE 23514. */
void products_update(app_t *app, const char *tenant_id, const char *sku, const char *changes,
		     pg_cb cb, void *arg);

/* POST /api/products/bulk-update: changes (as products_update's) to each of skus (a JSON array of
 * text, checked) the tenant has: cb gets one row, one column: {updated (how many changed),
 * failed: [{sku, code, error}]} (an unknown SKU: NOT_FOUND; one whose stored bounds the changes
 * would cross: VALIDATION_FAILED). */
void products_bulk_update(app_t *app, const char *tenant_id, const char *skus, const char *changes,
			  pg_cb cb, void *arg);

/* GET /api/products/:sku: cb gets one row whose one column is {product, metrics, history,
 * listings, recommendations} (see src/products.c), or no row when the tenant has no such SKU. */
void products_detail(app_t *app, const char *tenant_id, const char *sku, pg_cb cb, void *arg);

#endif
