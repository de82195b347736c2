/* The Mercado Livre data sellerhub keeps (items.c, orders.c, shipments.c,
 * questions.c, claims.c): one module per resource, each with its upsert and its
 * notification fetcher.
 *
 * An upsert takes a JSON array of documents exactly as Mercado Livre sent them (text) and maps
 * them in one SQL statement: the columns the API queries, the child rows (variations, order
 * lines, payments) and the raw document. A document older than the stored row (by the
 * provider's last_updated) changes nothing, so replays and late pages are harmless. */
#ifndef SH_ML_DATA_H
#define SH_ML_DATA_H

#include <stdbool.h>

#include "app.h"
#include "client.h"

/* The limiter operation every sync call of an account goes through: one bucket per account, so
 * the backfill, the scheduled sync and the webhook fetchers share ML_RATE. */
#define ML_SYNC_OP "sync"

/* err NULL on success; written = documents that changed a row (older ones did not). */
typedef void (*ml_store_cb)(const char *err, long written, void *arg);

void ml_items_upsert(app_t *app, const char *tenant_id, const char *account_id, const char *docs,
		     ml_store_cb cb, void *arg);
void ml_orders_upsert(app_t *app, const char *tenant_id, const char *account_id, const char *docs,
		      ml_store_cb cb, void *arg);
void ml_shipments_upsert(app_t *app, const char *tenant_id, const char *account_id,
			 const char *docs, ml_store_cb cb, void *arg);
/* {status, expected_date, last_updated} of /shipments/{id}/sla onto a stored shipment. */
void ml_shipments_sla(app_t *app, const char *tenant_id, const char *account_id,
		      const char *shipment_id, const char *sla_doc, ml_store_cb cb, void *arg);
void ml_questions_upsert(app_t *app, const char *tenant_id, const char *account_id,
			 const char *docs, ml_store_cb cb, void *arg);
void ml_claims_upsert(app_t *app, const char *tenant_id, const char *account_id, const char *docs,
		      ml_store_cb cb, void *arg);

/* channel_t.resync_shipment: GET the shipment and its SLA, store both. */
void ml_shipments_resync(app_t *app, const char *tenant_id, const char *account_id,
			 const char *external_id, channel_resync_cb done, void *arg);

/* Whether a shipment status still has an SLA worth asking for (not delivered or cancelled). */
bool ml_shipment_open(const char *status);

/* Fetch one resource as the account and upsert it: GET path, then upsert (the answer wrapped
 * in an array). Shared by the fetchers and POST /api/shipments/:id/sync. done(err, retry,
 * note, arg) runs once: 404 is a note (retry false), 429/5xx/network are retry true. */
typedef void (*ml_fetch_done_fn)(const char *err, bool retry, const char *note, void *arg);
typedef void (*ml_upsert_fn)(app_t *app, const char *tenant_id, const char *account_id,
			     const char *docs, ml_store_cb cb, void *arg);
void ml_fetch_one(app_t *app, const char *tenant_id, const char *account_id, const char *path,
		  ml_upsert_fn upsert, ml_fetch_done_fn done, void *arg);

/* Internal to this folder: run an upsert whose first column of its one row counts what it wrote;
 * the fetcher registration of each module. */
void ml_store_run(app_t *app, const char *sql, int nparams, const char *const *params,
		  ml_store_cb cb, void *arg);
void ml_items_register_fetcher(void);
void ml_orders_register_fetcher(void);
void ml_shipments_register_fetcher(void);
void ml_questions_register_fetcher(void);
void ml_claims_register_fetcher(void);

#endif
