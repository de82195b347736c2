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
static int seq;

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

static json_t *company(void)
{
	return tnh_company(&sim, 0);
}

/* The pedidos at marketsim with this numero_ecommerce; the first one's id into id. */
static int pedidos_for(const char *ext, long long *id)
{
	json_t *c = company();
	int n = 0;
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(c, "orders"), i, o)
	{
		const char *num = json_string_value(json_object_get(o, "numeroEcommerce"));
		if (num && strcmp(num, ext) == 0) {
			if (n++ == 0 && id)
				*id = json_integer_value(json_object_get(o, "id"));
		}
	}
	json_decref(c);
	return n;
}

/* The codigo of the i-th plain product (no variations, no kit). */
static void plain_sku(int want, char *out, size_t size)
{
	tnh_plain_product(&sim, want, out, size);
}

typedef struct shop {
	session_t owner;
	char tiny[40], ml[40];
} shop_t;

/* A tenant with the company's Tiny account and an ML account. */
static void shop_at(const h_proc_t *p, shop_t *s)
{
	ident_signup(p, &s->owner);
	tnh_connect(p, &sim, &s->owner, s->tiny);
	tnh_account_row(s->owner.tenant_id, "ml", s->ml);
}

static void shop_new(shop_t *s)
{
	shop_at(&srv, s);
}

/* sku known to the tenant as a product of its Tiny account. */
static void erp_product(const shop_t *s, const char *sku)
{
	cr_assert_eq(h_sql_int("WITH i AS (INSERT INTO products (tenant_id, sku, title, source,"
			       " erp_account_id, erp_id) VALUES ('%s', '%s', 'P', 'erp', '%s', '1')"
			       " RETURNING 1) SELECT count(*) FROM i",
			       s->owner.tenant_id, sku, s->tiny),
		     1);
}

/* An ML order with lines "sku" x qty at 10.00; its external id into ext (64 bytes). */
static void ml_order(const shop_t *s, const char *sku1, const char *sku2, char *ext)
{
	snprintf(ext, 64, "2000%d%04d", getpid(), ++seq);
	cr_assert_eq(
	    h_sql_int("WITH o AS (INSERT INTO orders (tenant_id, account_id, channel,"
		      " external_id, status, date_created, last_updated, total_amount,"
		      " buyer_nickname, raw) VALUES ('%s', '%s', 'ml', '%s', 'paid', now(),"
		      " now(), 30, 'COMPRADOR', '{}') RETURNING id, tenant_id),"
		      " i AS (INSERT INTO order_items (order_id, tenant_id, sku, title,"
		      " quantity, unit_price) SELECT id, tenant_id, s, 'T', 1, 10 FROM o,"
		      " unnest(ARRAY['%s', '%s']::text[]) s WHERE s <> '' RETURNING 1)"
		      " SELECT count(*) FROM i",
		      s->owner.tenant_id, s->ml, ext, sku1, sku2 ? sku2 : ""),
	    sku2 ? 2 : 1);
}

static json_t *forward(const h_proc_t *p, const shop_t *s)
{
	h_resp_t r = ident_call(p, "POST", "/api/erp/forward", s->owner.access, "{}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *d = json_incref(json_object_get(r.json, "data"));
	h_resp_free(&r);
	return d;
}

static char *row(const char *ext, const char *col)
{
	return h_sql_text("SELECT coalesce(e.%s::text, '') FROM erp_orders e JOIN orders o"
			  " ON o.id = e.order_id WHERE o.external_id = '%s'",
			  col, ext);
}

Test(tiny_forward, an_order_becomes_one_pedido_whatever_repeats_the_pass)
{
	shop_t s;
	shop_new(&s);
	char a[64], b[64], ext[64];
	plain_sku(0, a, sizeof(a));
	plain_sku(1, b, sizeof(b));
	erp_product(&s, a);
	erp_product(&s, b);
	ml_order(&s, a, b, ext);
	cr_assert_eq(pedidos_for(ext, NULL), 0);

	json_t *d = forward(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	long long pedido = 0;
	cr_assert_eq(pedidos_for(ext, &pedido), 1, "one pedido with numero_ecommerce %s", ext);
	char *v = row(ext, "status");
	cr_assert_str_eq(v, "sent");
	free(v);
	v = row(ext, "pedido_id");
	cr_assert_eq(atoll(v), pedido, "%s vs %lld", v, pedido);
	free(v);

	/* The pass again, here and in a second process: nothing new is sent. */
	d = forward(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 0);
	json_decref(d);
	d = forward(&srv2, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 0);
	json_decref(d);
	cr_assert_eq(pedidos_for(ext, NULL), 1);

	/* An outcome lost after sending (a crash before the row was stored): the pass finds the
	 * pedido by numeroEcommerce instead of sending it again. */
	cr_assert_eq(
	    h_sql_int("WITH u AS (UPDATE erp_orders e SET status = 'pending',"
		      " pedido_id = NULL, numero = NULL FROM orders o WHERE o.id = e.order_id"
		      " AND o.external_id = '%s' RETURNING 1) SELECT count(*) FROM u",
		      ext),
	    1);
	d = forward(&srv2, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	cr_assert_eq(pedidos_for(ext, NULL), 1, "sent twice after a lost outcome");
	v = row(ext, "pedido_id");
	cr_assert_eq(atoll(v), pedido);
	free(v);
	v = row(ext, "numero");
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
	const shop_t *s;
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
	shop_t s;
	shop_new(&s);
	char a[64], ext[6][64];
	plain_sku(4, a, sizeof(a));
	erp_product(&s, a);
	for (int i = 0; i < 6; i++)
		ml_order(&s, a, NULL, ext[i]);
	racer_t x[2] = {{&srv, &s, 0}, {&srv2, &s, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, race, &x[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_assert(x[0].sent >= 0 && x[1].sent >= 0);
	/* Whatever one pass left leased to the other, a later pass finishes. */
	json_decref(forward(&srv, &s));
	long long total = x[0].sent + x[1].sent;
	for (int i = 0; i < 6; i++)
		cr_assert_eq(pedidos_for(ext[i], NULL), 1, "order %s: not one pedido", ext[i]);
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
	shop_t s;
	shop_at(&own, &s);
	char a[64], ext[64];
	plain_sku(5, a, sizeof(a));
	ml_order(&s, a, NULL, ext);
	bool sent = H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM erp_orders e JOIN orders o"
					   " ON o.id = e.order_id WHERE o.external_id = '%s'"
					   " AND e.status = 'sent'",
					   ext) == 1,
				 20000);
	cr_assert(sent, "the order was not forwarded by the scheduled sync");
	cr_assert_eq(pedidos_for(ext, NULL), 1);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM products WHERE tenant_id = '%s' AND sku = '%s'"
			       " AND source = 'erp' AND erp_account_id = '%s'",
			       s.owner.tenant_id, a, s.tiny),
		     1);
	cr_expect_eq(h_proc_stop(&own, 15), 0);
}

Test(tiny_forward, a_claimed_order_is_left_to_its_claimer_until_the_lease_ends)
{
	shop_t s;
	shop_new(&s);
	char a[64], ext[64];
	plain_sku(2, a, sizeof(a));
	erp_product(&s, a);
	ml_order(&s, a, NULL, ext);
	/* Another process holds it (its row enlisted and leased). */
	cr_assert_eq(h_sql_int("WITH i AS (INSERT INTO erp_orders (order_id, tenant_id, account_id,"
			       " lease_until) SELECT id, tenant_id, '%s', now() + interval '1 hour'"
			       " FROM orders WHERE external_id = '%s' RETURNING 1)"
			       " SELECT count(*) FROM i",
			       s.tiny, ext),
		     1);
	json_t *d = forward(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 0);
	json_decref(d);
	cr_assert_eq(pedidos_for(ext, NULL), 0);
	/* The lease runs out (its holder died): the next pass sends it, once. */
	h_sql_int("WITH u AS (UPDATE erp_orders SET lease_until = now() - interval '1 second'"
		  " WHERE account_id = '%s' RETURNING 1) SELECT count(*) FROM u",
		  s.tiny);
	d = forward(&srv2, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	cr_assert_eq(pedidos_for(ext, NULL), 1);
}

Test(tiny_forward, an_unknown_sku_holds_the_order_with_the_reason_and_pending_lists_it)
{
	shop_t s, other;
	shop_new(&s);
	shop_new(&other);
	char a[64], held[64], ok[64], sku[64];
	plain_sku(3, a, sizeof(a));
	erp_product(&s, a);
	snprintf(sku, sizeof(sku), "NOPE-%d", getpid());
	ml_order(&s, a, sku, held);
	ml_order(&s, a, NULL, ok);
	char cancelled[64];
	ml_order(&s, a, NULL, cancelled);
	h_sql_int("WITH u AS (UPDATE orders SET status = 'cancelled' WHERE external_id = '%s'"
		  " RETURNING 1) SELECT count(*) FROM u",
		  cancelled);

	/* Before any pass both are pending, waiting. */
	h_resp_t r = ident_call(&srv, "GET", "/api/erp/pending", s.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.orders")), 2, "%s", r.body);
	h_resp_free(&r);

	json_t *d = forward(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "held")), 1);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	cr_assert_eq(pedidos_for(held, NULL), 0, "a held order was sent");
	cr_assert_eq(pedidos_for(ok, NULL), 1);
	cr_assert_eq(pedidos_for(cancelled, NULL), 0, "a cancelled order was sent");
	char *v = row(held, "status");
	cr_assert_str_eq(v, "held");
	free(v);
	v = row(held, "last_error");
	cr_assert(strstr(v, sku), "the reason names the SKU: %s", v);
	free(v);

	/* Held again by the next pass, never dropped. */
	d = forward(&srv2, &s);
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
