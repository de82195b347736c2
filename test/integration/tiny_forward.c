/* Marketplace orders forwarded to Tiny (issue 19) against marketsim's Tiny v2: an ML order of a
 * tenant with a Tiny account becomes one pedido keyed by numero_ecommerce, whatever repeats the
 * pass (the same process, a second one, an outcome lost after sending); a claimed row is left
 * alone; a SKU Tiny does not know holds the order with the reason; GET /api/erp/pending lists
 * what is not in the ERP yet. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiny_helpers.h"

static h_proc_t sim, srv, srv2;
static char env[512];

static void start(void)
{
	const char *args[] = {"--tiny-companies", "1", "--tiny-limit", "6000", NULL};
	msh_start(&sim, NULL, args);
	snprintf(env, sizeof(env), "TINY_API_URL=%s", h_url(&sim, "/api2/"));
	const char *e[] = {env, NULL};
	cr_assert(h_server_start(&srv, e), "sellerhubd did not start");
	cr_assert(h_server_start(&srv2, e), "the second sellerhubd did not start");
}

static void stop(void)
{
	cr_expect_eq(h_proc_stop(&srv2, 15), 0);
	cr_expect_eq(h_proc_stop(&srv, 15), 0);
	msh_stop(&sim);
}

TestSuite(tiny_forward, .init = start, .fini = stop, .timeout = 120);

static void shop_new(tiny_shop_t *s)
{
	tiny_shop_at(&srv, &sim, s);
}

Test(tiny_forward, an_order_becomes_one_pedido_whatever_repeats_the_pass)
{
	tiny_shop_t s;
	shop_new(&s);
	char a[64], b[64], ext[64];
	(void)tnh_plain_product(&sim, 0, a, sizeof(a));
	(void)tnh_plain_product(&sim, 1, b, sizeof(b));
	tiny_erp_product(&s, a);
	tiny_erp_product(&s, b);
	tiny_ml_order(&s, a, b, ext);
	cr_assert_eq(tiny_pedidos_for(&sim, ext, NULL), 0);

	json_t *d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	long long pedido = 0;
	cr_assert_eq(tiny_pedidos_for(&sim, ext, &pedido), 1, "one pedido with numero_ecommerce %s",
		     ext);
	char *v = tiny_row(ext, "status");
	cr_assert_str_eq(v, "sent");
	free(v);
	v = tiny_row(ext, "pedido_id");
	cr_assert_eq(atoll(v), pedido, "%s vs %lld", v, pedido);
	free(v);

	/* The pass again, here and in a second process: nothing new is sent. */
	d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 0);
	json_decref(d);
	d = tiny_forward_now(&srv2, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 0);
	json_decref(d);
	cr_assert_eq(tiny_pedidos_for(&sim, ext, NULL), 1);

	/* An outcome lost after sending (a crash before the row was stored): the pass finds the
	 * pedido by numeroEcommerce instead of sending it again. */
	cr_assert_eq(
	    h_sql_int("WITH u AS (UPDATE erp_orders e SET status = 'pending',"
		      " pedido_id = NULL, numero = NULL FROM orders o WHERE o.id = e.order_id"
		      " AND o.external_id = '%s' RETURNING 1) SELECT count(*) FROM u",
		      ext),
	    1);
	d = tiny_forward_now(&srv2, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	cr_assert_eq(tiny_pedidos_for(&sim, ext, NULL), 1, "sent twice after a lost outcome");
	v = tiny_row(ext, "pedido_id");
	cr_assert_eq(atoll(v), pedido);
	free(v);
	v = tiny_row(ext, "numero");
	cr_assert(*v, "the numero was looked up");
	free(v);

	/* The order's ERP state on GET /api/orders/:id. */
	char *order_id = h_sql_text("SELECT id FROM orders WHERE external_id = '%s'", ext);
	char path[96];
	snprintf(path, sizeof(path), "/api/orders/%s", order_id);
	free(order_id);
	h_resp_t r = ident_call(&srv, "GET", path, s.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *erp = h_json_path(r.json, "data.erp");
	cr_assert(json_is_object(erp), "%s", r.body);
	cr_assert_eq(atoll(msh_str(erp, "pedidoId")), pedido, "%s", r.body);
	cr_assert(*msh_str(erp, "numero"), "%s", r.body);
	cr_assert(*msh_str(erp, "situacao"), "%s", r.body);
	cr_assert(json_is_null(json_object_get(erp, "lastError")), "%s", r.body);
	cr_assert(json_object_get(erp, "invoice"), "%s", r.body);
	h_resp_free(&r);
}

typedef struct racer {
	const h_proc_t *p;
	const tiny_shop_t *s;
	long long sent;
} racer_t;

static void *race(void *arg)
{
	racer_t *x = arg;
	h_resp_t r = ident_call(x->p, "POST", "/api/erp/forward", x->s->owner.access, "{}");
	x->sent = r.status == 200 ? json_integer_value(h_json_path(r.json, "data.sent")) : -1;
	h_resp_free(&r);
	return NULL;
}

Test(tiny_forward, two_processes_at_once_send_each_order_once)
{
	tiny_shop_t s;
	shop_new(&s);
	char a[64], ext[6][64];
	(void)tnh_plain_product(&sim, 4, a, sizeof(a));
	tiny_erp_product(&s, a);
	for (int i = 0; i < 6; i++)
		tiny_ml_order(&s, a, NULL, ext[i]);
	racer_t x[2] = {{&srv, &s, 0}, {&srv2, &s, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, race, &x[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_assert(x[0].sent >= 0 && x[1].sent >= 0);
	/* Whatever one pass left leased to the other, a later pass finishes. */
	json_decref(tiny_forward_now(&srv, &s));
	long long total = x[0].sent + x[1].sent;
	for (int i = 0; i < 6; i++)
		cr_assert_eq(tiny_pedidos_for(&sim, ext[i], NULL), 1, "order %s: not one pedido",
			     ext[i]);
	cr_assert_eq(total, 6, "the two passes sent %lld + %lld", x[0].sent, x[1].sent);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM erp_orders WHERE account_id = '%s'"
			       " AND status = 'sent'",
			       s.tiny),
		     6);
}

/* The janitor's scheduled sync of the Tiny account imports its products and then forwards:
 * no call of ours sends the order. */
Test(tiny_forward, the_scheduled_sync_forwards_with_the_imported_products)
{
	h_database_private();
	const char *e[] = {env, "SYNC_SWEEP_MS=200", NULL};
	h_proc_t own;
	cr_assert(h_server_start(&own, e), "sellerhubd did not start");
	tiny_shop_t s;
	tiny_shop_at(&own, &sim, &s);
	char a[64], ext[64];
	(void)tnh_plain_product(&sim, 5, a, sizeof(a));
	tiny_ml_order(&s, a, NULL, ext);
	bool sent = H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM erp_orders e JOIN orders o"
					   " ON o.id = e.order_id WHERE o.external_id = '%s'"
					   " AND e.status = 'sent'",
					   ext) == 1,
				 20000);
	cr_assert(sent, "the order was not forwarded by the scheduled sync");
	cr_assert_eq(tiny_pedidos_for(&sim, ext, NULL), 1);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM products WHERE tenant_id = '%s' AND sku = '%s'"
			       " AND source = 'erp' AND erp_account_id = '%s'",
			       s.owner.tenant_id, a, s.tiny),
		     1);
	cr_expect_eq(h_proc_stop(&own, 15), 0);
}

Test(tiny_forward, a_claimed_order_is_left_to_its_claimer_until_the_lease_ends)
{
	tiny_shop_t s;
	shop_new(&s);
	char a[64], ext[64];
	(void)tnh_plain_product(&sim, 2, a, sizeof(a));
	tiny_erp_product(&s, a);
	tiny_ml_order(&s, a, NULL, ext);
	/* Another process holds it (its row enlisted and leased). */
	cr_assert_eq(h_sql_int("WITH i AS (INSERT INTO erp_orders (order_id, tenant_id, account_id,"
			       " lease_until) SELECT id, tenant_id, '%s', now() + interval '1 hour'"
			       " FROM orders WHERE external_id = '%s' RETURNING 1)"
			       " SELECT count(*) FROM i",
			       s.tiny, ext),
		     1);
	json_t *d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 0);
	json_decref(d);
	cr_assert_eq(tiny_pedidos_for(&sim, ext, NULL), 0);
	/* The lease runs out (its holder died): the next pass sends it, once. */
	h_sql_int("WITH u AS (UPDATE erp_orders SET lease_until = now() - interval '1 second'"
		  " WHERE account_id = '%s' RETURNING 1) SELECT count(*) FROM u",
		  s.tiny);
	d = tiny_forward_now(&srv2, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	cr_assert_eq(tiny_pedidos_for(&sim, ext, NULL), 1);
}

Test(tiny_forward, an_unknown_sku_holds_the_order_with_the_reason_and_pending_lists_it)
{
	tiny_shop_t s, other;
	shop_new(&s);
	shop_new(&other);
	char a[64], held[64], ok[64], sku[64];
	(void)tnh_plain_product(&sim, 3, a, sizeof(a));
	tiny_erp_product(&s, a);
	snprintf(sku, sizeof(sku), "NOPE-%d", getpid());
	tiny_ml_order(&s, a, sku, held);
	tiny_ml_order(&s, a, NULL, ok);
	char cancelled[64];
	tiny_ml_order(&s, a, NULL, cancelled);
	h_sql_int("WITH u AS (UPDATE orders SET status = 'cancelled' WHERE external_id = '%s'"
		  " RETURNING 1) SELECT count(*) FROM u",
		  cancelled);

	/* Before any pass both are pending, waiting. */
	h_resp_t r = ident_call(&srv, "GET", "/api/erp/pending", s.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.orders")), 2, "%s", r.body);
	h_resp_free(&r);

	json_t *d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "held")), 1);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	cr_assert_eq(tiny_pedidos_for(&sim, held, NULL), 0, "a held order was sent");
	cr_assert_eq(tiny_pedidos_for(&sim, ok, NULL), 1);
	cr_assert_eq(tiny_pedidos_for(&sim, cancelled, NULL), 0, "a cancelled order was sent");
	char *v = tiny_row(held, "status");
	cr_assert_str_eq(v, "held");
	free(v);
	v = tiny_row(held, "last_error");
	cr_assert(strstr(v, sku), "the reason names the SKU: %s", v);
	free(v);

	/* Held again by the next pass, never dropped. */
	d = tiny_forward_now(&srv2, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "held")), 1);
	json_decref(d);

	r = ident_call(&srv, "GET", "/api/erp/pending?limit=1", s.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *rows = h_json_path(r.json, "data.orders");
	cr_assert_eq(json_array_size(rows), 1, "%s", r.body);
	json_t *first = json_array_get(rows, 0);
	cr_assert_str_eq(msh_str(first, "externalId"), held);
	cr_assert_str_eq(msh_str(first, "status"), "held");
	cr_assert(strstr(msh_str(first, "reason"), sku), "%s", r.body);
	cr_assert_null(strstr(r.body, ok), "a sent order is listed: %s", r.body);
	cr_assert_null(strstr(r.body, cancelled), "a cancelled order is listed: %s", r.body);
	h_resp_free(&r);

	/* Tenant-scoped: the other tenant has nothing pending. */
	r = ident_call(&srv, "GET", "/api/erp/pending", other.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.orders")), 0, "%s", r.body);
	cr_assert_null(strstr(r.body, held), "%s", r.body);
	h_resp_free(&r);
}
