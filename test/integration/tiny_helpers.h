/* Helpers of the suites that run against marketsim's Tiny (tiny_forward.c, discrepancies.c): its
 * seeded companies, a plain product of one, a tenant's Tiny account and plain account rows. */
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

#endif
