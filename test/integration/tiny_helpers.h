/* Helpers shared by the Tiny ERP suites (tiny_forward, tiny_status): marketsim's Tiny truth, a
 * tenant with its Tiny and ML accounts, products and orders of its own. */
#ifndef TINY_HELPERS_H
#define TINY_HELPERS_H

#include <stddef.h>

#include "ident.h"
#include "marketsim_helpers.h"

typedef struct tiny_shop {
	session_t owner;
	char tiny[40], ml[40];
} tiny_shop_t;

/* marketsim's first Tiny company as /_sim/tiny tells it (new reference). */
json_t *tiny_company(const h_proc_t *sim);
/* The pedidos at marketsim with this numero_ecommerce; the first one's id into id (or NULL). */
int tiny_pedidos_for(const h_proc_t *sim, const char *ext, long long *id);
/* The codigo of the want-th plain product (no variations, no kit). */
void tiny_plain_sku(const h_proc_t *sim, int want, char *out, size_t size);
/* A new tenant on srv with the company's Tiny account (by its current token) and an ML one. */
void tiny_shop_at(const h_proc_t *srv, const h_proc_t *sim, tiny_shop_t *s);
/* sku known to the tenant as a product of its Tiny account. */
void tiny_erp_product(const tiny_shop_t *s, const char *sku);
/* An ML order with lines sku1 (and sku2 when not NULL), 1 x 10.00 each; its external id into
 * ext (64 bytes). */
void tiny_ml_order(const tiny_shop_t *s, const char *sku1, const char *sku2, char *ext);
/* A column of the order's erp_orders row as text ("" when NULL or no row); free it. */
char *tiny_row(const char *ext, const char *col);
/* POST /api/erp/forward as the owner on p: its data (new reference). */
json_t *tiny_forward_now(const h_proc_t *p, const tiny_shop_t *s);

#endif
