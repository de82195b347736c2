/* The seeded orders of the orders_export and finance suites: two tenants, an ML and an Amazon
 * account, products with costs, orders with lines, payments, fees, a refund and shipments, all
 * written as the channels' upserts write them. The figures the tests check are worked out by
 * hand from this table (money_seed.c says how). */
#ifndef SH_TEST_MONEY_SEED_H
#define SH_TEST_MONEY_SEED_H

#include "ident.h"

typedef struct money_world {
	h_proc_t srv;
	session_t a, b;
	char ml[40], amazon[40]; /* tenant a's accounts */
} money_world_t;

/* A server (extra env may be NULL), two tenants and tenant a's orders of March 2026 (UTC). */
void money_world_make(money_world_t *w, const char *const extra_env[]);
/* n more orders of tenant a on 2026-02-DD (a bulk insert), total 10.00 each, paid. */
void money_world_bulk(money_world_t *w, int n);
/* GET path as tenant a (or b), expecting status; the response. */
h_resp_t money_get(const money_world_t *w, bool tenant_b, const char *path, long status);

#endif
