/* The ERP loop back (issue 19) against marketsim's Tiny: a pedido's situation and invoice come
 * back by webhook and by poll and show on GET /api/orders/:id; malformed webhooks change nothing
 * and duplicates are harmless; a marketplace cancellation reaches Tiny once and a Tiny cancel
 * shows; held orders are retried with backoff and failed after the allowed tries; a refused
 * token expires the account and a new one resumes; the pedido carries payment, shipping and the
 * buyer's address; POST /api/erp/forward is for owners and admins. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiny_helpers.h"

static h_proc_t sim, srv;
static char env[512];

static void start(void)
{
	const char *args[] = {"--tiny-companies", "1", "--tiny-limit", "6000", NULL};
	msh_start(&sim, NULL, args);
	snprintf(env, sizeof(env), "TINY_API_URL=%s", h_url(&sim, "/api2/"));
	const char *e[] = {env, NULL};
	cr_assert(h_server_start(&srv, e), "sellerhubd did not start");
}

static void stop(void)
{
	cr_expect_eq(h_proc_stop(&srv, 15), 0);
	msh_stop(&sim);
}

TestSuite(tiny_status, .init = start, .fini = stop, .timeout = 120);

/* A server of the test's own with the ERP sweep on, over a private database (the sweep serves
 * every tenant of its database). */
static void loop_server(h_proc_t *p, const char *extra1, const char *extra2)
{
	h_database_private();
	const char *e[] = {env, "TINY_SWEEP_MS=100", extra1, extra2, NULL};
	cr_assert(h_server_start(p, e), "sellerhubd did not start");
}

static long long company_id(void)
{
	json_t *c = tnh_company(&sim, 0);
	long long id = json_integer_value(json_object_get(c, "id"));
	json_decref(c);
	return id;
}

static void hooks_to(const h_proc_t *p)
{
	char path[64], body[256];
	snprintf(path, sizeof(path), "/_sim/tiny/companies/%lld", company_id());
	snprintf(body, sizeof(body), "{\"webhook_url\":\"%s\"}", h_url(p, "/webhooks/tiny"));
	h_resp_t r = msh_sim(&sim, "POST", path, body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

/* A change made in the ERP itself: a new situation, or an invoice ("nota"). */
static void in_erp(long long pedido, const char *what, const char *body)
{
	char path[96];
	snprintf(path, sizeof(path), "/_sim/tiny/orders/%lld/%s", pedido, what);
	h_resp_t r = msh_sim(&sim, "POST", path, body);
	cr_assert(r.status == 200 || r.status == 201, "%s", r.body);
	h_resp_free(&r);
}

/* marketsim's truth of a pedido (new reference). */
static json_t *truth_order(long long pedido)
{
	json_t *c = tnh_company(&sim, 0);
	size_t i;
	json_t *o, *found = NULL;
	json_array_foreach(json_object_get(c, "orders"), i,
			   o) if (json_integer_value(json_object_get(o, "id")) == pedido) found =
	    json_incref(o);
	json_decref(c);
	cr_assert(found, "no pedido %lld at marketsim", pedido);
	return found;
}

static json_t *truth_invoice(long long pedido)
{
	json_t *c = tnh_company(&sim, 0);
	size_t i;
	json_t *o, *found = NULL;
	json_array_foreach(json_object_get(c, "invoices"), i,
			   o) if (json_integer_value(json_object_get(o, "idPedido")) == pedido)
	    found = json_incref(o);
	json_decref(c);
	cr_assert(found, "no invoice of pedido %lld at marketsim", pedido);
	return found;
}

static bool row_is(const char *ext, const char *col, const char *want)
{
	char *v = tiny_row(ext, col);
	bool same = strcmp(v, want) == 0;
	free(v);
	return same;
}

/* GET /api/orders/:id's erp object (new reference). */
static json_t *order_erp(const tiny_shop_t *s, const char *ext)
{
	char *id = h_sql_text("SELECT id FROM orders WHERE external_id = '%s'", ext);
	h_resp_t r = ident_call(&srv, "GET", h_fmt("/api/orders/%s", id), s->owner.access, NULL);
	free(id);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *erp = json_incref(h_json_path(r.json, "data.erp"));
	h_resp_free(&r);
	cr_assert(json_is_object(erp));
	return erp;
}

static long webhook(const char *body)
{
	const char *hd[] = {"Content-Type: application/json", NULL};
	h_resp_t r = h_http("POST", h_url(&srv, "/webhooks/tiny"), body, hd);
	long status = r.status;
	h_resp_free(&r);
	return status;
}

/* A sent order of a new tenant; its pedido's id at marketsim. */
static long long sent_order(tiny_shop_t *s, int sku_ix, char *ext)
{
	char a[64];
	(void)tnh_plain_product(&sim, sku_ix, a, sizeof(a));
	tiny_erp_product(s, a);
	tiny_ml_order(s, a, NULL, ext);
	json_t *d = tiny_forward_now(&srv, s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	long long pedido = 0;
	cr_assert_eq(tiny_pedidos_for(&sim, ext, &pedido), 1);
	return pedido;
}

Test(tiny_status, situation_and_invoice_come_back_by_webhook_and_show_on_the_order)
{
	tiny_shop_t s;
	tiny_shop_at(&srv, &sim, &s);
	char ext[64];
	long long pedido = sent_order(&s, 0, ext);
	cr_assert(row_is(ext, "situacao", "em_aberto"));
	hooks_to(&srv);

	in_erp(pedido, "situacao", "{\"situacao\":\"aprovado\"}");
	cr_assert(H_WAIT_UNTIL(row_is(ext, "situacao", "aprovado"), 10000), "no situation back");
	in_erp(pedido, "nota", "{}");
	cr_assert(H_WAIT_UNTIL(row_is(ext, "situacao", "faturado"), 10000), "no faturado back");

	/* The webhook brought the read forward: the pass reads the pedido and its invoice. */
	json_t *d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "invoices")), 1);
	json_decref(d);
	json_t *inv = truth_invoice(pedido);
	json_t *erp = order_erp(&s, ext);
	cr_assert_str_eq(msh_str(erp, "situacao"), "faturado");
	json_t *mine = json_object_get(erp, "invoice");
	cr_assert(json_is_object(mine), "no invoice on the order");
	cr_assert_str_eq(msh_str(mine, "numero"), msh_str(inv, "numero"));
	cr_assert_str_eq(msh_str(mine, "serie"), msh_str(inv, "serie"));
	cr_assert_str_eq(msh_str(mine, "chave"), msh_str(inv, "chaveAcesso"));
	cr_assert_eq(strlen(msh_str(mine, "chave")), 44);
	cr_assert_eq(atoll(msh_str(mine, "id")), json_integer_value(json_object_get(inv, "id")));
	cr_assert(*msh_str(mine, "emittedAt"));
	json_decref(erp);
	json_decref(inv);

	/* Duplicates and a late, older webhook: the read that follows is Tiny's truth. */
	char old[256], now[256];
	snprintf(old, sizeof(old),
		 "{\"tipo\":\"situacao_pedido\",\"versao\":\"2\",\"dados\":{\"idVendaTiny\":%lld,"
		 "\"idPedidoEcommerce\":\"%s\",\"situacao\":\"aprovado\"}}",
		 pedido, ext);
	snprintf(
	    now, sizeof(now),
	    "{\"tipo\":\"situacao_pedido\",\"versao\":\"2\",\"dados\":{\"idVendaTiny\":\"%lld\","
	    "\"idPedidoEcommerce\":\"%s\",\"situacao\":\"Faturado\"}}",
	    pedido, ext);
	cr_assert_eq(webhook(now), 200);
	cr_assert_eq(webhook(now), 200);
	cr_assert(row_is(ext, "situacao", "faturado"));
	cr_assert_eq(webhook(old), 200);
	d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "invoices")), 0, "invoice read again");
	json_decref(d);
	cr_assert(row_is(ext, "situacao", "faturado"), "a late webhook won over Tiny's truth");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM erp_orders WHERE account_id = '%s'"
			       " AND invoice_numero IS NOT NULL",
			       s.tiny),
		     1);

	/* Malformed: 400 and nothing changed. Another company's pedido: 200, nothing changed. */
	char *before = tiny_row(ext, "updated_at");
	const char *bad[] = {
	    "{\"tipo\":\"situacao_pedido\"}",
	    "{\"tipo\":\"situacao_pedido\",\"dados\":{\"idVendaTiny\":\"abc\","
	    "\"situacao\":\"cancelado\"}}",
	    h_fmt("{\"tipo\":\"situacao_pedido\",\"dados\":{\"idVendaTiny\":%lld,"
		  "\"situacao\":\"voando\"}}",
		  pedido),
	    h_fmt("{\"tipo\":\"situacao_pedido\",\"dados\":{\"idVendaTiny\":%lld,"
		  "\"situacao\":\"cancelado\",\"idPedidoEcommerce\":{}}}",
		  pedido),
	    "[1,2]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(webhook(bad[i]), 400, "%s", bad[i]);
	cr_assert_eq(webhook("{\"tipo\":\"situacao_pedido\",\"dados\":{\"idVendaTiny\":42,"
			     "\"situacao\":\"cancelado\"}}"),
		     200);
	cr_assert_eq(webhook(h_fmt("{\"tipo\":\"situacao_pedido\",\"dados\":{\"idVendaTiny\":%lld,"
				   "\"idPedidoEcommerce\":\"other\",\"situacao\":\"cancelado\"}}",
				   pedido)),
		     200);
	char *after = tiny_row(ext, "updated_at");
	cr_assert_str_eq(before, after, "a refused or foreign webhook changed the order");
	cr_assert(row_is(ext, "situacao", "faturado"));
	free(before);
	free(after);
}

Test(tiny_status, a_marketplace_cancel_reaches_tiny_once_and_a_tiny_cancel_shows)
{
	tiny_shop_t s;
	tiny_shop_at(&srv, &sim, &s);
	char a_ext[64], b_ext[64];
	long long a = sent_order(&s, 1, a_ext);
	long long b = sent_order(&s, 2, b_ext);

	/* The marketplace cancels A after it was sent (as its sync stores it). */
	h_sql_ok("UPDATE orders SET status = 'cancelled' WHERE external_id = '%s'", a_ext);
	json_t *d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "cancelled")), 1);
	json_decref(d);
	json_t *o = truth_order(a);
	cr_assert_str_eq(msh_str(o, "situacao"), "cancelado");
	json_decref(o);
	cr_assert(row_is(a_ext, "cancel_state", "sent"));
	cr_assert(row_is(a_ext, "situacao", "cancelado"));
	d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "cancelled")), 0, "cancelled twice");
	json_decref(d);
	o = truth_order(b);
	cr_assert_str_eq(msh_str(o, "situacao"), "em_aberto", "the other order was cancelled");
	json_decref(o);

	/* Tiny cancels B: it shows on the order, and the order is no longer followed. */
	hooks_to(&srv);
	in_erp(b, "situacao", "{\"situacao\":\"cancelado\"}");
	cr_assert(H_WAIT_UNTIL(row_is(b_ext, "situacao", "cancelado"), 10000), "no cancel back");
	json_t *erp = order_erp(&s, b_ext);
	cr_assert_str_eq(msh_str(erp, "situacao"), "cancelado");
	cr_assert(json_is_null(json_object_get(erp, "cancellation")), "we did not cancel it");
	json_decref(erp);
	d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "read")), 1);
	json_decref(d);
	cr_assert(row_is(b_ext, "poll_at", ""), "a cancelled pedido is still polled");
}

Test(tiny_status, held_orders_are_retried_with_backoff_and_failed_after_the_tries)
{
	h_proc_t own;
	loop_server(&own, "TINY_RETRY_BASE_MS=400", "TINY_HOLD_TRIES=3");
	tiny_shop_t s;
	tiny_shop_at(&own, &sim, &s);
	char later[64], ghost[64], x[64], y[64], z[64];
	(void)tnh_plain_product(&sim, 3, later, sizeof(later));
	snprintf(ghost, sizeof(ghost), "GHOST-%d", getpid());
	tiny_erp_product(&s, ghost); /* ours as Tiny's, but Tiny does not know it */
	tiny_ml_order(&s, h_fmt("NOPE-%d", getpid()), NULL, x);
	tiny_ml_order(&s, later, NULL, y);
	tiny_ml_order(&s, ghost, NULL, z);

	/* Y's SKU is imported after Y was held: a later try sends it. */
	cr_assert(H_WAIT_UNTIL(row_is(y, "status", "held"), 10000), "Y was not held");
	tiny_erp_product(&s, later);
	bool y_sent = H_WAIT_UNTIL(row_is(y, "status", "sent"), 10000);
	char *ys = tiny_row(y, "status || ' ' || attempts || ' ' || coalesce(last_error, '')");
	cr_assert(y_sent, "Y was not sent: %s", ys);
	free(ys);
	cr_assert_eq(tiny_pedidos_for(&sim, y, NULL), 1);

	/* X (a SKU nobody knows) and Z (Tiny's validation error 31) fail after 3 tries. */
	cr_assert(H_WAIT_UNTIL(row_is(x, "status", "failed"), 15000), "X did not fail");
	cr_assert(H_WAIT_UNTIL(row_is(z, "status", "failed"), 15000), "Z did not fail");
	char *v = tiny_row(x, "last_error");
	cr_assert(strstr(v, "gave up after 3 tries") && strstr(v, "NOPE-"), "%s", v);
	free(v);
	v = tiny_row(z, "last_error");
	cr_assert(strstr(v, "Tiny error 31") && strstr(v, "produto não encontrado"), "%s", v);
	free(v);
	cr_assert(row_is(x, "attempts", "3"));
	/* With backoff: 400 ms, then 800 ms between the tries. */
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM erp_orders e JOIN orders o ON o.id = e.order_id"
		      " WHERE o.external_id = '%s'"
		      " AND e.updated_at - e.created_at >= interval '1200 ms'",
		      x),
	    1, "failed without waiting between tries");
	cr_assert_eq(tiny_pedidos_for(&sim, x, NULL) + tiny_pedidos_for(&sim, z, NULL), 0);

	/* By hand (on a server without the sweep, so that only this pass tries them): both are
	 * tried again with a fresh count, held again, not failed. */
	cr_expect_eq(h_proc_stop(&own, 15), 0);
	const char *quiet[] = {env, NULL};
	cr_assert(h_server_start(&own, quiet), "sellerhubd did not start");
	h_resp_t r = ident_call(&own, "POST", "/api/erp/forward", s.owner.access, "{}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.held")), 2, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.failed")), 0, "%s", r.body);
	h_resp_free(&r);
	cr_expect_eq(h_proc_stop(&own, 15), 0);
}

Test(tiny_status, a_refused_token_expires_the_account_and_a_new_one_resumes)
{
	tiny_shop_t s;
	tiny_shop_at(&srv, &sim, &s);
	char first[64], second[64], a[64];
	sent_order(&s, 4, first);
	(void)tnh_plain_product(&sim, 4, a, sizeof(a));
	json_t *c = tnh_company(&sim, 0);
	char old_token[80];
	snprintf(old_token, sizeof(old_token), "%s", msh_str(c, "token"));
	json_decref(c);
	h_resp_t r = msh_sim(&sim, "POST", h_fmt("/_sim/tiny/companies/%lld", company_id()),
			     "{\"rotate_token\":true}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	tiny_ml_order(&s, a, NULL, second);
	json_t *d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "held")), 1);
	json_decref(d);
	cr_assert(row_is(second, "status", "held"));
	char *v = tiny_row(second, "last_error");
	cr_assert(strstr(v, "token"), "%s", v);
	free(v);
	cr_assert_eq(tiny_pedidos_for(&sim, second, NULL), 0);
	const char *path = h_fmt("/api/tiny-accounts/%s", s.tiny);
	r = ident_call(&srv, "GET", path, s.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.status")), "expired");
	h_resp_free(&r);
	/* Held, not failed, however often it is tried meanwhile; nothing sent. */
	d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 0);
	json_decref(d);
	cr_assert(row_is(second, "status", "held"));

	char tpath[96];
	snprintf(tpath, sizeof(tpath), "/api/tiny-accounts/%s/token", s.tiny);
	r = ident_call(&srv, "PUT", tpath, s.owner.access,
		       h_fmt("{\"apiToken\":\"%s\"}", old_token));
	cr_assert_eq(r.status, 400, "the refused token was taken: %s", r.body);
	h_resp_free(&r);
	c = tnh_company(&sim, 0);
	r = ident_call(&srv, "PUT", tpath, s.owner.access,
		       h_fmt("{\"apiToken\":\"%s\"}", msh_str(c, "token")));
	json_decref(c);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.status")), "active");
	cr_assert_null(strstr(r.body, old_token), "a token in the answer");
	h_resp_free(&r);

	d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	cr_assert_eq(tiny_pedidos_for(&sim, second, NULL), 1);
	cr_assert_eq(tiny_pedidos_for(&sim, first, NULL), 1);
}

/* pedido.obter of the pedido at marketsim, as the company (new reference). */
static json_t *pedido_at_tiny(long long pedido)
{
	json_t *c = tnh_company(&sim, 0);
	char body[256];
	snprintf(body, sizeof(body), "token=%s&formato=json&id=%lld", msh_str(c, "token"), pedido);
	json_decref(c);
	const char *hd[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	h_resp_t r = h_http("POST", h_url(&sim, "/api2/pedido.obter.php"), body, hd);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *p = json_incref(h_json_path(r.json, "retorno.pedido"));
	cr_assert(p, "%s", r.body);
	h_resp_free(&r);
	return p;
}

Test(tiny_status, the_pedido_carries_payment_shipping_and_the_buyers_address)
{
	tiny_shop_t s;
	tiny_shop_at(&srv, &sim, &s);
	char a[64], ext[64];
	(void)tnh_plain_product(&sim, 5, a, sizeof(a));
	tiny_erp_product(&s, a);
	tiny_ml_order(&s, a, NULL, ext);
	h_sql_ok("INSERT INTO payments (order_id, tenant_id, external_id, status, payment_type,"
		 " payment_method_id, installments, transaction_amount, total_paid_amount,"
		 " shipping_cost, currency) SELECT id, tenant_id, 'p1', 'approved', 'credit_card',"
		 " 'visa', 3, 40, 45.5, 5.5, 'BRL' FROM orders WHERE external_id = '%s'",
		 ext);
	h_sql_ok(
	    "INSERT INTO shipments (tenant_id, account_id, channel, external_id, status,"
	    " mode, logistic_type, shipping_cost, dest_city, dest_state, dest_zip,"
	    " receiver_name, last_updated, raw) VALUES ('%s', '%s', 'ml', 's-%s', 'ready_to_ship',"
	    " 'me2', 'cross_docking', 12, 'São Paulo', 'SP', '01001000', 'Maria Souza', now(),"
	    " '{}')",
	    s.owner.tenant_id, s.ml, ext);
	h_sql_ok("UPDATE orders SET shipment_external_id = 's-%s' WHERE external_id = '%s'", ext,
		 ext);
	json_t *d = tiny_forward_now(&srv, &s);
	cr_assert_eq(json_integer_value(json_object_get(d, "sent")), 1);
	json_decref(d);
	long long id = 0;
	cr_assert_eq(tiny_pedidos_for(&sim, ext, &id), 1);
	json_t *p = pedido_at_tiny(id);
	cr_assert_str_eq(msh_str(p, "forma_pagamento"), "credito");
	cr_assert_str_eq(msh_str(p, "meio_pagamento"), "visa");
	cr_assert_str_eq(msh_str(p, "forma_envio"), "cross_docking");
	cr_assert_str_eq(msh_str(p, "nome_transportador"), "me2");
	cr_assert_str_eq(msh_str(p, "frete_por_conta"), "R");
	cr_assert_float_eq(json_number_value(json_object_get(p, "valor_frete")), 5.5, 1e-9,
			   "the buyer's freight, not the shipment's cost");
	json_t *cli = json_object_get(p, "cliente");
	cr_assert_str_eq(msh_str(cli, "nome"), "Maria Souza");
	cr_assert_str_eq(msh_str(cli, "cidade"), "São Paulo");
	cr_assert_str_eq(msh_str(cli, "uf"), "SP");
	cr_assert_str_eq(msh_str(cli, "cep"), "01001000");
	json_t *parcela = h_json_path(p, "parcelas.0.parcela");
	cr_assert_str_eq(msh_str(parcela, "valor"), "45.50");
	cr_assert_str_eq(msh_str(parcela, "forma_pagamento"), "credito");
	json_t *item = h_json_path(p, "itens.0.item");
	cr_assert_str_eq(msh_str(item, "codigo"), a);
	cr_assert_float_eq(json_number_value(json_object_get(item, "valor_unitario")), 10, 1e-9);
	json_decref(p);
}

Test(tiny_status, forwarding_by_hand_is_for_owners_and_admins)
{
	tiny_shop_t s;
	tiny_shop_at(&srv, &sim, &s);
	session_t member, admin;
	ident_add_user(&srv, &s.owner, "member", &member);
	ident_add_user(&srv, &s.owner, "admin", &admin);
	char a[64], ext[64];
	(void)tnh_plain_product(&sim, 6, a, sizeof(a));
	tiny_erp_product(&s, a);
	tiny_ml_order(&s, a, NULL, ext);
	h_resp_t r = ident_call(&srv, "POST", "/api/erp/forward", member.access, "{}");
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert(strstr(r.body, "erp.forward"), "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(tiny_pedidos_for(&sim, ext, NULL), 0, "a member's call sent the order");
	r = ident_call(&srv, "GET", "/api/erp/pending", member.access, NULL);
	cr_assert_eq(r.status, 200, "members still see what is pending: %s", r.body);
	h_resp_free(&r);
	r = ident_call(&srv, "POST", "/api/erp/forward", admin.access, "{}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.sent")), 1);
	h_resp_free(&r);
	cr_assert_eq(tiny_pedidos_for(&sim, ext, NULL), 1);
}

Test(tiny_status, the_sweep_sends_and_reads_back_without_a_call)
{
	h_proc_t own;
	loop_server(&own, "TINY_POLL_MS=1000", NULL);
	tiny_shop_t s;
	tiny_shop_at(&own, &sim, &s);
	char a[64], ext[64];
	(void)tnh_plain_product(&sim, 7, a, sizeof(a));
	tiny_erp_product(&s, a);
	tiny_ml_order(&s, a, NULL, ext);
	cr_assert(H_WAIT_UNTIL(row_is(ext, "status", "sent"), 10000), "not sent by the sweep");
	long long pedido = 0;
	cr_assert_eq(tiny_pedidos_for(&sim, ext, &pedido), 1);

	/* No webhook: the poll finds the new situation. */
	in_erp(pedido, "situacao", "{\"situacao\":\"preparando_envio\"}");
	cr_assert(H_WAIT_UNTIL(row_is(ext, "situacao", "preparando_envio"), 10000),
		  "the poll did not read the situation");

	/* With webhooks: the invoice arrives. */
	hooks_to(&own);
	in_erp(pedido, "nota", "{}");
	json_t *inv = truth_invoice(pedido);
	cr_assert(H_WAIT_UNTIL(row_is(ext, "invoice_numero", msh_str(inv, "numero")), 10000),
		  "the invoice did not come back");
	cr_assert(row_is(ext, "invoice_chave", msh_str(inv, "chaveAcesso")));
	json_decref(inv);

	/* The marketplace cancels it: the sweep cancels the pedido. */
	h_sql_ok("UPDATE orders SET status = 'cancelled' WHERE external_id = '%s'", ext);
	cr_assert(H_WAIT_UNTIL(row_is(ext, "cancel_state", "sent"), 10000), "not cancelled");
	json_t *o = truth_order(pedido);
	cr_assert_str_eq(msh_str(o, "situacao"), "cancelado");
	json_decref(o);
	cr_expect_eq(h_proc_stop(&own, 15), 0);
}
