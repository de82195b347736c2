/* The seller's SKU master (products, sql/0015_products.sql) as GET/PUT /api/products read and
 * change it: the filtered, sorted list with its aggregations, and the seller's own settings of a
 * SKU. A product's margin is (price - cost) / price × 100, rounded to 2 places; none without a
 * price above 0 and a cost. */
#ifndef SH_PRODUCTS_H
#define SH_PRODUCTS_H

#include "app.h"
#include "paging.h"

/* ?sortBy= and ?sortOrder= values. */
extern const char *const products_sorts[];
extern const char *const products_orders[];

/* A list's filters and order, all text as the query gave them (checked); NULL is no filter.
 * search matches the SKU or the title (substring, any case); active is "true" or "false";
 * level one of inventory_levels; the bounds decimal text. sort NULL: by SKU. */
typedef struct products_filter {
	const char *search, *category, *brand, *active, *level;
	const char *price_min, *price_max, *margin_min, *margin_max;
	const char *sort, *order;
} products_filter_t;

/* The tenant's products that pass f: cb gets one row of three columns: the page's products as
 * a JSON array, the count of every page's products, and the aggregations over them all as a
 * JSON object {totalProducts, totalValue (Σ on_hand × cost), avgMargin, lowStockCount
 * (available at or under the min stock alert, default 5)}. */
void products_list(app_t *app, const char *tenant_id, const products_filter_t *f,
		   const page_t *page, pg_cb cb, void *arg);

/* Applies changes (a JSON object, already checked, of minStockAlert, maxStock, targetMargin,
 * cost, notes, tags, customFields: a key present is set, null clears) to the tenant's SKU: cb
 * gets one row whose one column is the product's JSON after the change, or no row when the
 * tenant has no such SKU; a breach of max_stock > min_stock_alert fails with SQLSTATE 23514. */
void products_update(app_t *app, const char *tenant_id, const char *sku, const char *changes,
		     pg_cb cb, void *arg);

#endif
