/* Marketplace orders into Tiny (issue 19): every order of a tenant with a Tiny account becomes
 * one pedido (pedido.incluir), exactly once, keyed by numero_ecommerce = the order's external id.
 * The state is erp_orders (sql/0020); a pass claims due rows with SKIP LOCKED and a lease, looks
 * each order up (pedidos.pesquisa by numeroEcommerce) before sending it, and holds an order whose
 * SKU Tiny does not know with the reason. */
#ifndef SH_TINY_FORWARD_H
#define SH_TINY_FORWARD_H

#include "app.h"
#include "paging.h"

typedef struct forward_counts {
	int sent, held, pending, failed;
} forward_counts_t;

/* err NULL on success (the pass ran; each order's outcome is in its row). */
typedef void (*forward_cb)(const forward_counts_t *counts, const char *err, void *arg);

#define FORWARD_BATCH	   20 /* rows a claim takes; a pass claims again while they fill it */
#define FORWARD_BATCH_TEXT "20"

enum forward_flags {
	FORWARD_BY_HAND = 1 << 0,   /* held and failed orders are tried again now */
	FORWARD_NO_ENLIST = 1 << 1, /* the caller enlisted the new orders (loop.c) */
	FORWARD_WAKE_HELD = 1 << 2, /* held orders are due now (their cause may have gone) */
};

/* One pass over the tenant's due orders (tenant_id), or the account's tenant (account_id): the
 * tenant's new orders enlisted, then the due rows claimed and sent, a batch at a time. */
void tiny_forward_run(app_t *app, const char *tenant_id, const char *account_id, int flags,
		      forward_cb cb, void *arg);

/* POST /api/erp/forward, GET /api/erp/pending. */
/* The tenant's marketplace orders not yet in the ERP, each with its reason (a page of JSON rows
 * and the total, newest first). */
void tiny_forward_pending(app_t *app, const char *tenant_id, const page_params_t *pp, paging_cb cb,
			  void *arg);
void tiny_forward_routes(app_t *app);

#endif
