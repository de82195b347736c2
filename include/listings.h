/* Every channel's synced listings (a channel's offers of a product, with their variations and
 * SKUs: listings, listing_variations, sql/0013_neutral_data.sql), as the tenant reads them.
 * (The list helper of the handlers is listing.h.) */
#ifndef SH_LISTINGS_H
#define SH_LISTINGS_H

#include "app.h"
#include "paging.h"

/* The orders a list can come in, each newest or largest first. */
typedef enum listings_sort {
	LISTINGS_BY_UPDATED, /* last_updated */
	LISTINGS_BY_PRICE,
	LISTINGS_BY_SOLD,
	LISTINGS_BY_STOCK, /* available quantity */
	LISTINGS_NSORTS
} listings_sort_t;

/* A list's filters; NULL is no filter. q matches a title (substring, any case), the channel's
 * id (in capitals) or a listing's or variation's SKU. */
typedef struct listings_filter {
	const char *account_id, *status, *q, *channel;
	listings_sort_t sort;
} listings_filter_t;

/* The name of each sort as the API takes it ("updated", "price", "sold", "stock"), by
 * listings_sort_t. */
extern const char *const listings_sort_names[LISTINGS_NSORTS];

/* The tenant's listings that pass f, in f's order: cb gets the page's rows, each with three
 * columns: the listing's JSON object, its sort key and its id (a keyset cursor's key and id),
 * and the count of every page's rows. */
void listings_list(app_t *app, const char *tenant_id, const listings_filter_t *f,
		   const page_t *page, paging_cb cb, void *arg);

/* One listing of the tenant: cb gets no row (no such listing) or one whose one column is its
 * JSON {item, variations}. */
void listings_get(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg);

/* The tenant's (or one account's, account_id not NULL) listings in figures: cb gets one row
 * whose one column is the JSON {total, byStatus, withVariations, variations, outOfStock,
 * lowStock, stock, sold, stockValue, currency}. */
void listings_stats(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb, void *arg);

#endif
