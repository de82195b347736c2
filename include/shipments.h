/* Every channel's synced shipments (shipments, sql/0013_neutral_data.sql), as the tenant reads
 * them, and syncing one again from its channel (channel_t.resync_shipment). */
#ifndef SH_SHIPMENTS_H
#define SH_SHIPMENTS_H

#include <stdbool.h>

#include "app.h"
#include "paging.h"

/* A list's filters; NULL is no filter. */
typedef struct shipments_filter {
	const char *account_id, *status, *logistic_type, *channel;
} shipments_filter_t;

/* The tenant's shipments that pass f, newest first (date_created, then id): cb gets the page's
 * rows, each with three columns: the shipment's JSON object, its date_created and its id (a
 * keyset cursor's key and id), and the count of every page's rows. */
void shipments_list(app_t *app, const char *tenant_id, const shipments_filter_t *f,
		    const page_t *page, paging_cb cb, void *arg);

/* One shipment of the tenant: cb gets no row (no such shipment) or one whose first column is
 * its JSON object (the list's). */
void shipments_get(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg);

/* The tenant's (or one account's, account_id not NULL) shipments in figures: cb gets one row
 * whose one column is the JSON {total, byStatus, byLogisticType, pending, inTransit,
 * delivered, delayed}. */
void shipments_stats(app_t *app, const char *tenant_id, const char *account_id, pg_cb cb,
		     void *arg);

/* What syncing one shipment again came to (valid only during the callback). In this order:
 * code set: its channel failed (code the envelope's code, error a sentence without secrets);
 * unsupported: its channel syncs no single shipment on demand; else res and err as pg_cb's for
 * reading the shipment (before the sync when that found no row or failed, else after it: one
 * row, shipments_get's) and channel_title the title of its channel. */
typedef struct shipment_resync {
	const char *code, *error;
	bool unsupported;
	const PGresult *res;
	const char *err;
	const char *channel_title;
} shipment_resync_t;
typedef void (*shipment_resync_cb)(const shipment_resync_t *out, void *arg);

/* Fetches the tenant's shipment id again from its channel, stores it and reads it back: cb
 * runs once. */
void shipments_resync(app_t *app, const char *tenant_id, const char *id, shipment_resync_cb cb,
		      void *arg);

#endif
