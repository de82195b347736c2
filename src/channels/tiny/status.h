/* The ERP loop back (issue 19): a forwarded order's situation and invoice as Tiny reports them,
 * and a marketplace cancellation sent to Tiny once. A pass marks the sent orders the marketplace
 * cancelled since, claims the sent rows due a look (a webhook, a cancellation, the poll) with a
 * lease, and for each either cancels the pedido (pedido.alterar.situacao cancelado) or reads it
 * (pedido.obter) and, once it has an invoice, the invoice (nota.fiscal.obter: number, series,
 * access key). */
#ifndef SH_TINY_STATUS_H
#define SH_TINY_STATUS_H

#include <stdbool.h>

#include "app.h"

typedef struct status_counts {
	int read, invoices, cancelled, failed;
} status_counts_t;

/* err NULL when the pass ran (each row's outcome is in it). */
typedef void (*status_cb)(const status_counts_t *counts, const char *err, void *arg);

/* One pass over the tenant's (tenant_id) or the account's tenant's (account_id) sent orders. */
void tiny_status_run(app_t *app, const char *tenant_id, const char *account_id, status_cb cb,
		     void *arg);

/* Tiny's code of an order situation given as its code or label ("Em aberto" -> "em_aberto");
 * NULL when unknown. */
const char *tiny_situacao_code(const char *s);
/* Nothing more happens to an order in this situation. */
bool tiny_situacao_final(const char *code);

#endif
