/* Amazon's documents into the channel-neutral tables, channel 'amazon': orders with their
 * lines, listings (a SKU offered on the account) and FBA stock. Each upsert takes a JSON array
 * text of documents and answers how many rows it wrote. */
#ifndef SH_AMAZON_DATA_H
#define SH_AMAZON_DATA_H

#include "app.h"

typedef void (*amazon_store_cb)(const char *err, long written, void *arg);

/* Orders as getOrders shapes them, each with its OrderItems (getOrderItems' shape) when known;
 * a report's orders have the same shape (report.h). */
void amazon_orders_upsert(app_t *app, const char *tenant_id, const char *account_id,
			  const char *docs, amazon_store_cb cb, void *arg);
/* GET_MERCHANT_LISTINGS_ALL_DATA rows (report.h). */
void amazon_listings_upsert(app_t *app, const char *tenant_id, const char *account_id,
			    const char *docs, amazon_store_cb cb, void *arg);
/* getInventorySummaries' inventorySummaries (with details). */
void amazon_inventory_upsert(app_t *app, const char *tenant_id, const char *account_id,
			     const char *docs, amazon_store_cb cb, void *arg);

/* listFinancialEvents' events as {kind: shipment|refund, event}: payments of their orders. */
void amazon_finances_upsert(app_t *app, const char *tenant_id, const char *account_id,
			    const char *docs, amazon_store_cb cb, void *arg);
/* Product Pricing's own offers and Catalog Items' items onto the account's listings. */
void amazon_pricing_upsert(app_t *app, const char *tenant_id, const char *account_id,
			   const char *docs, amazon_store_cb cb, void *arg);
void amazon_catalog_upsert(app_t *app, const char *tenant_id, const char *account_id,
			   const char *docs, amazon_store_cb cb, void *arg);
/* The account's listings: rows of (SellerSKU, ASIN or NULL), by SKU. */
void amazon_skus(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb, void *arg);
/* A backfill's events read before its orders are stored: held, then released (stored as
 * amazon_finances_upsert would, with every event the account has held) once they are. */
void amazon_finances_hold(app_t *app, const char *tenant_id, const char *account_id,
			  const char *docs, amazon_store_cb cb, void *arg);
void amazon_finances_release(app_t *app, const char *tenant_id, const char *account_id,
			     amazon_store_cb cb, void *arg);

#endif
