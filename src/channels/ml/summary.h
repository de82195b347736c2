/* Sync of one Mercado Livre account's summary: the counts behind cachedData (products = items
 * total, orders = orders total, issues = unanswered questions + open claims) and the sync
 * bookkeeping (lastSync, nextSync, lastSyncStatus, lastSyncError, error history, status).
 * Many syncs run at once on the loop; each is one struct. */
#ifndef SH_ML_SUMMARY_H
#define SH_ML_SUMMARY_H

#include <stdint.h>

#include "app.h"
#include "client.h"

typedef struct ml_sync_result {
	const char *account_id;
	bool found;	       /* false: no such account (in that tenant) */
	bool ok;	       /* the counts were fetched and saved */
	enum ml_err err;       /* why not, when !ok and found */
	const char *error;     /* one line, no secrets */
	const char *synced_at; /* ISO-8601, when ok */
	long long products, orders, issues;
} ml_sync_result_t;

/* Everything in res is valid only during the callback. */
typedef void (*ml_sync_cb)(const ml_sync_result_t *res, void *arg);

/* Sync account_id now. tenant_id, when not NULL, must own it (else found = false). */
void ml_sync_account(app_t *app, const char *account_id, const char *tenant_id, ml_sync_cb cb,
		     void *arg);

#endif
