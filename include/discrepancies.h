/* Stock discrepancies and their reconcile (sql/0024_discrepancies.sql): where sellerhub's truth
 * of a SKU (on hand, available), the ERP's last balance and each linked listing's quantity
 * disagree. The detection (SQL inventory_detect: set-based, stores the current ones with the time
 * each was first seen) runs from the janitor and after each reconcile; a reconcile is a durable
 * job (kind RECONCILE_JOB) whose report is kept beside the request. */
#ifndef SH_DISCREPANCIES_H
#define SH_DISCREPANCIES_H

#include "app.h"
#include "paging.h"

#define RECONCILE_JOB	   "inventory_reconcile"
#define RECONCILE_MAX_SKUS 1000

/* The reconcile sources: "erp" (on hand := the ERP's balance) and "sellerhub" (the truth pushed
 * to the channels). */
extern const char *const reconcile_sources[];
/* The kinds of a discrepancy (?kind=): "erp", "listing". */
extern const char *const discrepancy_kinds[];

/* A list's filters; NULL is no filter. channel and kind keep the SKUs with a discrepancy of that
 * channel (the ERP account's or a listing's) or kind; the entry still shows all of them. */
typedef struct discrepancy_filter {
	const char *sku, *channel, *kind;
} discrepancy_filter_t;

/* The tenant's SKUs with a discrepancy, by SKU: cb gets the page's rows (column 0 a SKU's JSON,
 * column 1 NULL: no cursor) and the count of every page's rows. */
void discrepancies_list(app_t *app, const char *tenant_id, const discrepancy_filter_t *f,
			const page_t *page, paging_cb cb, void *arg);

/* A detection of the tenant's SKUs (tenant_id NULL: every tenant's, skipped when another
 * process runs one): cb gets one row, one column: how many discrepancies there are now (-1:
 * skipped). */
void discrepancies_detect(app_t *app, const char *tenant_id, pg_cb cb, void *arg);

/* Queues a reconcile of the tenant's SKUs (skus_json: a JSON array of SKUs as text, NULL for
 * every mismatching SKU) from source, asked by user_id: the request and its job in one commit,
 * dispatched before cb, which gets one row whose column 0 is the job id. */
void reconcile_enqueue(app_t *app, const char *tenant_id, const char *source, const char *skus_json,
		       const char *user_id, pg_cb cb, void *arg);

/* The tenant's reconcile job_id (digits) as JSON text in column 0 of the one row; no row when
 * the tenant has no such reconcile. */
void reconcile_read(app_t *app, const char *tenant_id, const char *job_id, pg_cb cb, void *arg);

/* The job handler of RECONCILE_JOB (before jobs_start). */
void reconcile_register_jobs(app_t *app);

#endif
