/* Helpers of the suites that run against marketsim's Tiny (tiny_forward, tiny_status,
 * discrepancies): its seeded companies, a plain product of one, a tenant's Tiny account and plain
 * account rows, a shop (a tenant with a Tiny and an ML account) with products and orders. */
#ifndef TINY_TEST_HELPERS_H
#define TINY_TEST_HELPERS_H

#include "ident.h"
#include "marketsim_helpers.h"

/* Company i of GET /_sim/tiny (a new reference; cr_asserts it exists). */
json_t *tnh_company(const h_proc_t *sim, size_t i);
/* The codigo (into sku) and Tiny balance of company 0's want-th plain product: no kit, no
 * variation, no parent. */
long long tnh_plain_product(const h_proc_t *sim, int want, char *sku, size_t size);
/* Connect company 0's token as owner's Tiny account (201); its id into id (40 bytes). */
void tnh_connect(const h_proc_t *srv, const h_proc_t *sim, const session_t *owner, char *id);
/* An account row of channel for the tenant (SQL: no connect flow, a token no key opens), with
 * an external id unique across test processes; its id into id (40 bytes). */
void tnh_account_row(const char *tenant_id, const char *channel, char *id);

typedef struct tiny_shop {
	session_t owner;
	char tiny[40], ml[40];
} tiny_shop_t;

/* The pedidos at marketsim with this numero_ecommerce; the first one's id into id (or NULL). */
int tiny_pedidos_for(const h_proc_t *sim, const char *ext, long long *id);
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
