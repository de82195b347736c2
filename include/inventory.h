/* One stock truth per SKU (products, stock_changes, the listings linked by listings.sku;
 * sql/0015_products.sql, sql/0018_inventory.sql), as the tenant reads and changes it. Every
 * change of a SKU's stock goes through the SQL functions of 0018 (stock_set_on_hand,
 * inventory_adjust), which lock the SKU's row and recompute it and its kits. */
#ifndef SH_INVENTORY_H
#define SH_INVENTORY_H

#include "app.h"
#include "paging.h"

/* The stock levels ?stockLevel= takes (by available; the thresholds are the product's
 * min_stock_alert, default 5, and max_stock): critical (0), low (≤ min), normal, high (over 80%
 * of max), excess (over max). */
extern const char *const inventory_levels[];

/* SQL: " AND (<the row p is at level param>)", param a statement parameter ("$4") holding one
 * of inventory_levels or NULL (no filter). Shared by /api/inventory and /api/products. */
// clang-format off
#define INVENTORY_LOW_MARK "coalesce(p.min_stock_alert, 5)"
#define INVENTORY_LEVEL_SQL(param)                                                                 \
	" AND (" param "::text IS NULL OR CASE " param                                             \
	"  WHEN 'critical' THEN p.available = 0"                                                   \
	"  WHEN 'low' THEN p.available > 0 AND p.available <= " INVENTORY_LOW_MARK                 \
	"  WHEN 'excess' THEN p.available > p.max_stock"                                           \
	"  WHEN 'high' THEN p.available > " INVENTORY_LOW_MARK " AND p.available > 0.8 * p.max_stock"\
	"   AND p.available <= p.max_stock"                                                        \
	"  ELSE p.available > " INVENTORY_LOW_MARK " AND (p.max_stock IS NULL"                     \
	"   OR p.available <= 0.8 * p.max_stock) END)"
// clang-format on

/* A list's filters; NULL is no filter. q matches the SKU or the title (substring, any case);
 * channel keeps the SKUs with a listing on that channel. */
typedef struct inventory_filter {
	const char *sku, *q, *level, *channel;
} inventory_filter_t;

/* The tenant's SKUs that pass f, by SKU: cb gets the page's rows (column 0 the SKU's JSON,
 * column 1 NULL: no cursor) and the count of every page's rows. */
void inventory_list(app_t *app, const char *tenant_id, const inventory_filter_t *f,
		    const page_t *page, paging_cb cb, void *arg);

/* The SKU's stock changes, newest first: cb gets the page's rows (column 0 a change's JSON)
 * and their total, which is -1 when the tenant has no such SKU. */
void inventory_history(app_t *app, const char *tenant_id, const char *sku, const page_t *page,
		       paging_cb cb, void *arg);

/* A manual adjustment (on_hand, buffer: decimal text, NULL to leave as is) recorded as
 * 'manual' with ref (the user's id): cb gets one row whose one column is the SKU's JSON after
 * the change, NULL when the tenant has no such SKU. */
void inventory_adjust(app_t *app, const char *tenant_id, const char *sku, const char *on_hand,
		      const char *buffer, const char *ref, pg_cb cb, void *arg);

/* Links (link true) the tenant's listing listing_id to its SKU sku, or unlinks it from that
 * SKU: cb gets one row, one column: 1 when done, 0 when the tenant has no such SKU or listing
 * (or, unlinking, the listing is not linked to sku). */
void inventory_link(app_t *app, const char *tenant_id, const char *sku, const char *listing_id,
		    bool link, pg_cb cb, void *arg);

#endif
