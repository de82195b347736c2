/* The seeded orders of money_seed.h. Tenant a, March 2026 (UTC), products SKU-A cost 10 and
 * SKU-B cost 25:
 *   M-1 ml     paid      03-01  100  SKU-A x2 @50 fee 6/unit  payment 100 fee 12  ship Full  8
 *   M-2 ml     paid      03-02   75  SKU-B x1 @75 fee 9/unit  payment  75 fee  9  ship drop  0
 *   M-3 ml     cancelled 03-03   40  SKU-A x1 @40 fee 4/unit  no payment, no shipment
 *   Z-1 amazon Shipped   03-04  200  SKU-B x4 @50 (AFN)       event 200 fee 30
 *   Z-2 amazon Shipped   03-05   60  SKU-A x3 @20 (MFN)       event 60 fee 9, refund -20 fee -3
 *   M-9 ml     paid      04-10  500  SKU-A x1 @500            (outside March)
 * Tenant b: one ml order of 03-01, 999. */
#include "money_seed.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void account(const char *tenant, const char *channel, const char *ext, char *id)
{
	h_sql_ok("INSERT INTO accounts (tenant_id, channel, external_id, nickname,"
		 " access_token_sealed) VALUES ('%s', '%s', '%s', 'Loja', 'v1:k:x')",
		 tenant, channel, ext);
	char *v = h_sql_text("SELECT id FROM accounts WHERE tenant_id = '%s' AND channel = '%s'"
			     " AND external_id = '%s'",
			     tenant, channel, ext);
	snprintf(id, 40, "%s", v);
	free(v);
}

/* An order with one line; tags an SQL array literal. */
static void order(const char *tenant, const char *acct, const char *channel, const char *ext,
		  const char *status, const char *day, const char *total, const char *tags,
		  const char *sku, int qty, const char *price, const char *fee)
{
	h_sql_ok("INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
		 " date_created, last_updated, total_amount, currency, tags,"
		 " shipment_external_id, raw) VALUES ('%s', '%s', '%s', '%s', '%s',"
		 " '2026-%s 12:00:00Z', now(), %s, 'BRL', %s, 'S-%s', '{}')",
		 tenant, acct, channel, ext, status, day, total, tags, ext);
	h_sql_ok(
	    "INSERT INTO order_items (order_id, tenant_id, sku, title, quantity, unit_price,"
	    " sale_fee, currency) SELECT id, tenant_id, '%s', 'T', %d, %s, %s, 'BRL' FROM orders"
	    " WHERE tenant_id = '%s' AND external_id = '%s'",
	    sku, qty, price, fee, tenant, ext);
}

static void payment(const char *tenant, const char *ext, const char *pid, const char *status,
		    const char *amount, const char *fee)
{
	h_sql_ok("INSERT INTO payments (order_id, tenant_id, external_id, status,"
		 " transaction_amount, marketplace_fee, currency, date_approved)"
		 " SELECT id, tenant_id, '%s', '%s', %s, %s, 'BRL', date_created FROM orders"
		 " WHERE tenant_id = '%s' AND external_id = '%s'",
		 pid, status, amount, fee, tenant, ext);
}

static void shipment(const char *tenant, const char *acct, const char *ext, const char *logistic,
		     const char *cost)
{
	h_sql_ok("INSERT INTO shipments (tenant_id, account_id, channel, external_id, status,"
		 " logistic_type, shipping_cost, currency, last_updated, raw) VALUES ('%s', '%s',"
		 " 'ml', 'S-%s', 'shipped', '%s', %s, 'BRL', now(), '{}')",
		 tenant, acct, ext, logistic, cost);
}

void money_world_make(money_world_t *w, const char *const extra_env[])
{
	cr_assert(h_server_start(&w->srv, extra_env));
	ident_signup(&w->srv, &w->a);
	ident_signup(&w->srv, &w->b);
	const char *t = w->a.tenant_id;
	h_sql_ok("UPDATE tenants SET timezone = 'UTC' WHERE id = '%s'", t);
	h_sql_ok("INSERT INTO products (tenant_id, sku, title, category, cost) VALUES"
		 " ('%s', 'SKU-A', 'Caneca', 'cozinha', 10), ('%s', 'SKU-B', 'Prato', 'mesa', 25)",
		 t, t);
	account(t, "ml", "1001", w->ml);
	account(t, "amazon", "AZ1", w->amazon);
	order(t, w->ml, "ml", "M-1", "paid", "03-01", "100", "'{}'", "SKU-A", 2, "50", "6");
	payment(t, "M-1", "P1", "approved", "100", "12");
	shipment(t, w->ml, "M-1", "fulfillment", "8");
	order(t, w->ml, "ml", "M-2", "paid", "03-02", "75", "'{}'", "SKU-B", 1, "75", "9");
	payment(t, "M-2", "P2", "approved", "75", "9");
	shipment(t, w->ml, "M-2", "drop_off", "0");
	order(t, w->ml, "ml", "M-3", "cancelled", "03-03", "40", "'{}'", "SKU-A", 1, "40", "4");
	order(t, w->amazon, "amazon", "Z-1", "Shipped", "03-04", "200", "'{AFN}'", "SKU-B", 4, "50",
	      "NULL");
	payment(t, "Z-1", "shipment:Z-1", "shipment", "200", "30");
	order(t, w->amazon, "amazon", "Z-2", "Shipped", "03-05", "60", "'{MFN}'", "SKU-A", 3, "20",
	      "NULL");
	payment(t, "Z-2", "shipment:Z-2", "shipment", "60", "9");
	payment(t, "Z-2", "refund:Z-2", "refund", "-20", "-3");
	order(t, w->ml, "ml", "M-9", "paid", "04-10", "500", "'{}'", "SKU-A", 1, "500", "0");

	char other[40];
	account(w->b.tenant_id, "ml", "2002", other);
	order(w->b.tenant_id, other, "ml", "B-1", "paid", "03-01", "999", "'{}'", "SKU-A", 1, "999",
	      "0");
}

void money_world_bulk(money_world_t *w, int n)
{
	h_sql_ok("INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
		 " date_created, last_updated, total_amount, currency, raw)"
		 " SELECT '%s', '%s', 'ml', 'BULK-' || g, 'paid',"
		 " '2026-02-01T00:00:00Z'::timestamptz + (g %% 27) * interval '1 day'"
		 " + g * interval '1 second', now(), 10, 'BRL', '{}'"
		 " FROM generate_series(1, %d) g",
		 w->a.tenant_id, w->ml, n);
}

h_resp_t money_get(const money_world_t *w, bool tenant_b, const char *path, long status)
{
	h_resp_t r = ident_call(&w->srv, "GET", path, tenant_b ? w->b.access : w->a.access, NULL);
	cr_assert_eq(r.status, status, "GET %s: %ld %s", path, r.status, r.body ? r.body : "");
	return r;
}
