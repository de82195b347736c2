/* marketsim as Tiny ERP (v2 token API on the same port): the retorno envelope and its codigo_erro
 * answers (HTTP 200 all), per-minute and concurrency throttling with x-limit-api, paging, stock
 * moves per deposit, orders kept once per numero_ecommerce, invoices, webhooks to a receiver, and
 * Mercado Livre's side of the stock loop (a sale lowers the item's stock, PUT /items is read
 * back). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "marketsim_helpers.h"

static h_proc_t sim;
static msh_app_t app;
static json_t *tiny; /* GET /_sim/tiny */

static void load_truth(void)
{
	json_decref(tiny);
	h_resp_t r = msh_sim(&sim, "GET", "/_sim/tiny", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	tiny = json_incref(r.json);
	h_resp_free(&r);
}

static void start(void)
{
	const char *args[] = {"--now", "2026-03-01T12:00:00Z", "--tiny-companies", "2", NULL};
	msh_start(&sim, &app, args);
	tiny = NULL;
	load_truth();
}

static void stop(void)
{
	json_decref(tiny);
	tiny = NULL;
	msh_stop(&sim);
}

TestSuite(marketsim_tiny, .init = start, .fini = stop, .timeout = 60);

static json_t *company(size_t i)
{
	json_t *c = json_array_get(json_object_get(tiny, "companies"), i);
	cr_assert(c, "no company %zu", i);
	return c;
}

static const char *token(size_t i)
{
	return msh_str(company(i), "token");
}

static long long company_id(size_t i)
{
	return (long long)json_integer_value(json_object_get(company(i), "id"));
}

/* POST /api2/<service>.php with the form fields name, value, ... NULL (values URL-encoded). */
static h_resp_t tiny_post(const char *service, ...)
{
	char *form = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&form, &len);
	va_list ap;
	va_start(ap, service);
	const char *name;
	bool first = true;
	while ((name = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);
		char *esc = curl_easy_escape(NULL, value, 0);
		fprintf(f, "%s%s=%s", first ? "" : "&", name, esc);
		curl_free(esc);
		first = false;
	}
	va_end(ap);
	fclose(f);
	char path[128];
	snprintf(path, sizeof(path), "/api2/%s.php", service);
	const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	h_resp_t r = h_http("POST", h_url(&sim, path), form, headers);
	free(form);
	return r;
}

/* The same as company i, with formato=json. */
#define TINY(i, service, ...) tiny_post(service, "token", token(i), "formato", "json", __VA_ARGS__)

static json_t *retorno(const h_resp_t *r)
{
	cr_assert_eq(r->status, 200, "Tiny answers 200 even to errors: %ld %s", r->status, r->body);
	json_t *ret = json_object_get(r->json, "retorno");
	cr_assert(json_is_object(ret), "no retorno: %s", r->body);
	return ret;
}

static void assert_ok(const h_resp_t *r)
{
	json_t *ret = retorno(r);
	cr_assert_str_eq(msh_str(ret, "status"), "OK", "%s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(ret, "status_processamento")), 3);
	cr_assert_null(json_object_get(ret, "codigo_erro"));
}

static void assert_codigo(const h_resp_t *r, int codigo)
{
	json_t *ret = retorno(r);
	cr_assert_str_eq(msh_str(ret, "status"), "Erro", "%s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(ret, "codigo_erro")), codigo, "%s",
		     r->body);
	json_t *e = json_array_get(json_object_get(ret, "erros"), 0);
	cr_assert(json_string_length(json_object_get(e, "erro")) > 0, "%s", r->body);
}

static json_t *product_by_codigo(size_t co, const char *codigo)
{
	size_t k;
	json_t *p;
	json_array_foreach(json_object_get(company(co), "products"), k, p)
	{
		if (strcmp(msh_str(p, "codigo"), codigo) == 0)
			return p;
	}
	return NULL;
}

/* The first plain product (no kit, no variations) of company co. */
static json_t *plain_product(size_t co, size_t skip)
{
	size_t k;
	json_t *p;
	json_array_foreach(json_object_get(company(co), "products"), k, p)
	{
		if (strcmp(msh_str(p, "tipo"), "P") == 0 &&
		    strcmp(msh_str(p, "variacao"), "N") == 0 && skip-- == 0)
			return p;
	}
	cr_assert_fail("no plain product");
	return NULL;
}

static long long jid(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_integer(v), "expected an integer at %s", key);
	return (long long)json_integer_value(v);
}

static double stock_of(size_t co, long long id, double *reserved)
{
	char ids[24];
	snprintf(ids, sizeof(ids), "%lld", id);
	h_resp_t r = TINY(co, "produto.obter.estoque", "id", ids, NULL);
	assert_ok(&r);
	json_t *p = json_object_get(retorno(&r), "produto");
	double saldo = json_number_value(json_object_get(p, "saldo"));
	if (reserved)
		*reserved = json_number_value(json_object_get(p, "saldoReservado"));
	h_resp_free(&r);
	return saldo;
}

static double deposit_of(size_t co, long long id, const char *deposit)
{
	char ids[24];
	snprintf(ids, sizeof(ids), "%lld", id);
	h_resp_t r = TINY(co, "produto.obter.estoque", "id", ids, NULL);
	assert_ok(&r);
	size_t k;
	json_t *d;
	double v = -1;
	json_array_foreach(json_object_get(json_object_get(retorno(&r), "produto"), "depositos"), k,
			   d)
	{
		json_t *dep = json_object_get(d, "deposito");
		if (strcmp(msh_str(dep, "nome"), deposit) == 0)
			v = json_number_value(json_object_get(dep, "saldo"));
	}
	h_resp_free(&r);
	cr_assert_geq(v, 0, "no deposit %s", deposit);
	return v;
}

static void company_set(size_t co, const char *json)
{
	char path[64];
	snprintf(path, sizeof(path), "/_sim/tiny/companies/%lld", company_id(co));
	h_resp_t r = msh_sim(&sim, "POST", path, json);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

/* ---- the envelope ---- */

Test(marketsim_tiny, envelope_codigo_erro_and_companies_apart)
{
	json_t *p = plain_product(0, 0);
	char id[24];
	snprintf(id, sizeof(id), "%lld", jid(p, "id"));

	h_resp_t r = TINY(0, "produto.obter", "id", id, NULL);
	assert_ok(&r);
	cr_assert_str_eq(h_header(&r, "x-limit-api"), "60", "evoluir: 60 calls a minute");
	json_t *prod = json_object_get(retorno(&r), "produto");
	cr_assert_eq(jid(prod, "id"), jid(p, "id"));
	cr_assert_str_eq(msh_str(prod, "codigo"), msh_str(p, "codigo"));
	cr_assert_str_eq(msh_str(prod, "tipo"), "P");
	h_resp_free(&r);

	/* The query string of a POST is read as well. */
	char path[512];
	snprintf(path, sizeof(path), "/api2/produto.obter.php?token=%s&formato=json&id=%s",
		 token(0), id);
	r = h_http("POST", h_url(&sim, path), "", NULL);
	assert_ok(&r);
	h_resp_free(&r);

	/* "No records" is an error, and so is everything else, with HTTP 200. */
	r = TINY(0, "produtos.pesquisa", "pesquisa", "no-such-product-anywhere", NULL);
	assert_codigo(&r, 20);
	cr_assert_eq(json_integer_value(json_object_get(retorno(&r), "status_processamento")), 2);
	h_resp_free(&r);
	r = tiny_post("produto.obter", "formato", "json", "id", id, NULL);
	assert_codigo(&r, 1);
	cr_assert_null(h_header(&r, "x-limit-api"), "no company, no allowance");
	h_resp_free(&r);
	r = tiny_post("produto.obter", "token", "0000", "formato", "json", "id", id, NULL);
	assert_codigo(&r, 2);
	h_resp_free(&r);
	r = tiny_post("produto.obter", "token", token(0), "id", id, NULL);
	assert_codigo(&r, 10);
	h_resp_free(&r);
	r = TINY(0, "produto.obter", NULL);
	assert_codigo(&r, 10);
	h_resp_free(&r);
	r = TINY(0, "pedido.incluir", "pedido", "{not json", NULL);
	assert_codigo(&r, 3);
	h_resp_free(&r);
	r = TINY(0, "produtos.pesquisa", NULL);
	assert_codigo(&r, 10);
	h_resp_free(&r);
	/* An unknown service is not a Tiny answer at all. */
	r = TINY(0, "produto.apagar", NULL);
	cr_assert_eq(r.status, 404);
	h_resp_free(&r);

	/* Another company's product does not exist for this one. */
	r = TINY(1, "produto.obter", "id", id, NULL);
	assert_codigo(&r, 32);
	h_resp_free(&r);
	r = TINY(1, "produto.obter.estoque", "id", id, NULL);
	assert_codigo(&r, 32);
	h_resp_free(&r);

	/* A plan without the API. */
	company_set(1, "{\"plan\":\"comecar\"}");
	r = TINY(1, "produtos.pesquisa", "pesquisa", "", NULL);
	assert_codigo(&r, 5);
	cr_assert_str_eq(h_header(&r, "x-limit-api"), "0");
	h_resp_free(&r);

	/* A rotated token: the old one is unknown. */
	const char *old = token(0);
	char old_token[80];
	snprintf(old_token, sizeof(old_token), "%s", old);
	company_set(0, "{\"rotate_token\":true}");
	r = tiny_post("produto.obter", "token", old_token, "formato", "json", "id", id, NULL);
	assert_codigo(&r, 2);
	h_resp_free(&r);
	load_truth();
	cr_assert_str_neq(token(0), old_token);
	r = TINY(0, "produto.obter", "id", id, NULL);
	assert_ok(&r);
	h_resp_free(&r);
}

/* ---- limits ---- */

Test(marketsim_tiny, per_minute_limit_is_codigo_6_with_x_limit_api)
{
	msh_clock(&sim, "{\"frozen\":true}");
	/* Start at the beginning of a minute so the three calls share it. */
	h_resp_t c = msh_sim(&sim, "GET", "/_sim/clock", NULL);
	long long now = (long long)json_integer_value(json_object_get(c.json, "nowMs"));
	h_resp_free(&c);
	msh_clock_advance(&sim, 60000 - now % 60000);
	company_set(0, "{\"limit\":3}");
	json_t *p = plain_product(0, 0);
	char id[24];
	snprintf(id, sizeof(id), "%lld", jid(p, "id"));
	for (int i = 0; i < 3; i++) {
		h_resp_t r = TINY(0, "produto.obter", "id", id, NULL);
		assert_ok(&r);
		cr_assert_str_eq(h_header(&r, "x-limit-api"), "3");
		h_resp_free(&r);
	}
	h_resp_t r = TINY(0, "produto.obter", "id", id, NULL);
	assert_codigo(&r, 6);
	cr_assert_eq(json_integer_value(json_object_get(retorno(&r), "status_processamento")), 1);
	cr_assert_str_eq(h_header(&r, "x-limit-api"), "3");
	h_resp_free(&r);
	/* The other company has its own minute. */
	r = TINY(1, "produto.obter", "id", "710000000", NULL);
	cr_assert_neq(json_integer_value(json_object_get(retorno(&r), "codigo_erro")), 6);
	h_resp_free(&r);
	/* 59.999 s later it is the same minute; then a new one. */
	msh_clock_advance(&sim, 59999);
	r = TINY(0, "produto.obter", "id", id, NULL);
	assert_codigo(&r, 6);
	h_resp_free(&r);
	msh_clock_advance(&sim, 1);
	r = TINY(0, "produto.obter", "id", id, NULL);
	assert_ok(&r);
	h_resp_free(&r);

	/* Including and altering products are batch services with a limit of their own. */
	company_set(0, "{\"limit\":60,\"batch_limit\":1}");
	r = TINY(0, "produto.incluir", "produto",
		 "{\"produtos\":[{\"produto\":{\"sequencia\":1,\"nome\":\"Caneca "
		 "Azul\",\"codigo\":\"NEW-1\",\"preco\":19.9}}]}",
		 NULL);
	assert_ok(&r);
	h_resp_free(&r);
	r = TINY(0, "produto.alterar", "produto",
		 "{\"produtos\":[{\"produto\":{\"codigo\":\"NEW-1\",\"preco\":21}}]}", NULL);
	assert_codigo(&r, 6);
	h_resp_free(&r);
	r = TINY(0, "produto.obter", "id", id, NULL);
	assert_ok(&r);
	h_resp_free(&r);

	h_resp_t st = msh_sim(&sim, "GET", "/_sim/stats", NULL);
	cr_assert_eq(json_integer_value(json_object_get(st.json, "tiny_throttled_minute")), 3, "%s",
		     st.body);
	h_resp_free(&st);
}

Test(marketsim_tiny, concurrency_limit_is_codigo_11)
{
	/* Answers take 5 s, so calls overlap; 8 a minute allow 2 at a time. */
	h_resp_t r = msh_sim(&sim, "POST", "/_sim/reset",
			     "{\"now\":\"2026-03-01T12:00:00Z\",\"tiny_latency_ms\":5000,"
			     "\"tiny_limit\":8}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	load_truth();
	char *bodies[5];
	for (int i = 0; i < 5; i++) {
		char *esc = curl_easy_escape(NULL, token(0), 0);
		cr_assert(asprintf(&bodies[i], "token=%s&formato=json&id=700000000", esc) > 0);
		curl_free(esc);
	}
	long out[5];
	h_http_many_bodies("POST", h_url(&sim, "/api2/produto.obter.php"), bodies, 5, out);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(out[i], 200);
		free(bodies[i]);
	}
	h_resp_t st = msh_sim(&sim, "GET", "/_sim/stats", NULL);
	cr_assert_eq(json_integer_value(json_object_get(st.json, "tiny_throttled_concurrency")), 3,
		     "%s", st.body);
	h_resp_free(&st);
}

/* ---- paging ---- */

Test(marketsim_tiny, products_100_and_orders_50_a_page)
{
	h_resp_t r = msh_sim(&sim, "POST", "/_sim/reset",
			     "{\"now\":\"2026-03-01T12:00:00Z\",\"tiny_products\":250,"
			     "\"tiny_orders\":120}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	load_truth();
	cr_assert_eq(json_array_size(json_object_get(company(0), "products")), 250);
	json_t *seen = json_object();
	size_t sizes[3] = {100, 100, 50};
	for (int page = 1; page <= 3; page++) {
		char pg[16];
		snprintf(pg, sizeof(pg), "%d", page);
		r = TINY(0, "produtos.pesquisa", "pesquisa", "", "pagina", pg, NULL);
		assert_ok(&r);
		json_t *ret = retorno(&r);
		cr_assert_eq(json_integer_value(json_object_get(ret, "pagina")), page);
		cr_assert_eq(json_integer_value(json_object_get(ret, "numero_paginas")), 3);
		json_t *list = json_object_get(ret, "produtos");
		cr_assert_eq(json_array_size(list), sizes[page - 1]);
		size_t k;
		json_t *e;
		json_array_foreach(list, k, e)
		{
			json_t *p = json_object_get(e, "produto");
			json_object_set_new(seen, msh_str(p, "codigo"), json_true());
		}
		h_resp_free(&r);
	}
	cr_assert_eq(json_object_size(seen), 250, "every product once");
	json_decref(seen);
	r = TINY(0, "produtos.pesquisa", "pesquisa", "", "pagina", "4", NULL);
	assert_codigo(&r, 23);
	h_resp_free(&r);
	r = TINY(0, "produtos.pesquisa", "pesquisa", "KIT-", NULL);
	assert_ok(&r);
	cr_assert_geq(json_array_size(json_object_get(retorno(&r), "produtos")), 1);
	h_resp_free(&r);

	/* Orders: 50 a page, newest first with sort=DESC. */
	size_t total = 0;
	long long first_desc = 0;
	for (int page = 1;; page++) {
		char pg[16];
		snprintf(pg, sizeof(pg), "%d", page);
		r = TINY(0, "pedidos.pesquisa", "dataInicial", "01/01/2020", "sort", "DESC",
			 "pagina", pg, NULL);
		assert_ok(&r);
		json_t *ret = retorno(&r);
		json_t *list = json_object_get(ret, "pedidos");
		if (page == 1)
			first_desc = jid(json_object_get(json_array_get(list, 0), "pedido"), "id");
		total += json_array_size(list);
		cr_assert_leq(json_array_size(list), 50);
		long long pages = json_integer_value(json_object_get(ret, "numero_paginas"));
		h_resp_free(&r);
		if (page == pages)
			break;
	}
	cr_assert_eq(total, 120);
	json_t *orders = json_object_get(company(0), "orders");
	cr_assert_eq(first_desc, jid(json_array_get(orders, json_array_size(orders) - 1), "id"));
}

/* ---- stock ---- */

static h_resp_t move_stock(size_t co, long long id, const char *tipo, const char *qty,
			   const char *deposito)
{
	char js[512];
	snprintf(js, sizeof(js),
		 "{\"estoque\":{\"idProduto\":%lld,\"tipo\":\"%s\",\"data\":\"2026-03-01 "
		 "10:00:00\",\"quantidade\":\"%s\"%s%s%s,\"observacoes\":\"teste\"}}",
		 id, tipo, qty, deposito ? ",\"deposito\":\"" : "", deposito ? deposito : "",
		 deposito ? "\"" : "");
	return TINY(co, "produto.atualizar.estoque", "estoque", js, NULL);
}

Test(marketsim_tiny, stock_b_e_s_per_deposit)
{
	json_t *p = plain_product(0, 0);
	long long id = jid(p, "id");
	h_resp_t r = move_stock(0, id, "B", "10.00", NULL);
	assert_ok(&r);
	json_t *reg = json_object_get(json_array_get(json_object_get(retorno(&r), "registros"), 0),
				      "registro");
	cr_assert_str_eq(msh_str(reg, "status"), "OK");
	double loja = deposit_of(0, id, "Loja Física");
	cr_assert_float_eq(json_number_value(json_object_get(reg, "saldoEstoque")), 10 + loja,
			   1e-9);
	h_resp_free(&r);
	cr_assert_float_eq(deposit_of(0, id, "Geral"), 10, 1e-9);
	r = move_stock(0, id, "E", "5", NULL);
	assert_ok(&r);
	h_resp_free(&r);
	r = move_stock(0, id, "S", "3", NULL);
	assert_ok(&r);
	h_resp_free(&r);
	cr_assert_float_eq(deposit_of(0, id, "Geral"), 12, 1e-9);
	cr_assert_float_eq(stock_of(0, id, NULL), 12 + loja, 1e-9);
	/* Another deposit, and one that is not counted. */
	r = move_stock(0, id, "B", "4", "Loja Física");
	assert_ok(&r);
	h_resp_free(&r);
	r = move_stock(0, id, "B", "7", "Avarias");
	assert_ok(&r);
	h_resp_free(&r);
	cr_assert_float_eq(stock_of(0, id, NULL), 16, 1e-9, "Avarias is desconsiderar=S");
	cr_assert_float_eq(deposit_of(0, id, "Avarias"), 7, 1e-9);

	r = move_stock(0, id, "X", "1", NULL);
	assert_codigo(&r, 31);
	h_resp_free(&r);
	r = move_stock(0, id, "B", "-1", NULL);
	assert_codigo(&r, 31);
	h_resp_free(&r);
	r = move_stock(0, id, "B", "1", "Depósito Fantasma");
	assert_codigo(&r, 31);
	h_resp_free(&r);
	r = move_stock(1, id, "B", "1", NULL);
	assert_codigo(&r, 32);
	h_resp_free(&r);
	cr_assert_float_eq(stock_of(0, id, NULL), 16, 1e-9, "failed moves changed nothing");

	/* A kit has the stock its components make, and none of its own. */
	size_t k;
	json_t *kit = NULL, *x;
	json_array_foreach(json_object_get(company(0), "products"), k, x)
	{
		if (!kit && strcmp(msh_str(x, "tipo"), "K") == 0)
			kit = x;
	}
	cr_assert(kit, "a seeded kit");
	r = move_stock(0, jid(kit, "id"), "B", "1", NULL);
	assert_codigo(&r, 31);
	h_resp_free(&r);
	json_t *comps = json_object_get(kit, "kit");
	for (size_t c = 0; c < json_array_size(comps); c++) {
		json_t *comp = json_array_get(comps, c);
		double q = json_number_value(json_object_get(comp, "quantidade"));
		char qty[32];
		snprintf(qty, sizeof(qty), "%g", q * (c == 0 ? 3 : 5));
		r = move_stock(0, jid(comp, "id"), "B", qty, NULL);
		assert_ok(&r);
		h_resp_free(&r);
		r = move_stock(0, jid(comp, "id"), "B", "0", "Loja Física");
		assert_ok(&r);
		h_resp_free(&r);
	}
	cr_assert_float_eq(stock_of(0, jid(kit, "id"), NULL), 3, 1e-9, "3 whole kits");

	/* The truth for tests says the same. */
	char codigo[64];
	snprintf(codigo, sizeof(codigo), "%s", msh_str(p, "codigo"));
	load_truth();
	json_t *truth = product_by_codigo(0, codigo);
	cr_assert_float_eq(json_number_value(json_object_get(truth, "saldo")), 16, 1e-9);
	cr_assert_float_eq(
	    json_number_value(json_object_get(json_object_get(truth, "depositos"), "Avarias")), 7,
	    1e-9);
}

/* ---- orders and invoices ---- */

static h_resp_t include_order(size_t co, const char *numero, const char *codigo, int qty)
{
	char js[1024];
	snprintf(js, sizeof(js),
		 "{\"pedido\":{\"data_pedido\":\"01/03/2026\",\"cliente\":{\"nome\":\"Maria "
		 "Silva\",\"tipo_pessoa\":\"F\",\"cpf_cnpj\":\"12345678909\",\"uf\":\"SP\"},"
		 "\"itens\":[{\"item\":{\"codigo\":\"%s\",\"descricao\":\"x\",\"unidade\":\"UN\","
		 "\"quantidade\":\"%d\",\"valor_unitario\":\"49.90\"}}],\"valor_frete\":\"12.50\","
		 "\"numero_pedido_ecommerce\":\"%s\"}}",
		 codigo, qty, numero);
	return TINY(co, "pedido.incluir", "pedido", js, NULL);
}

static size_t orders_with_ecommerce(size_t co, const char *numero)
{
	h_resp_t r = TINY(co, "pedidos.pesquisa", "numeroEcommerce", numero, NULL);
	json_t *ret = retorno(&r);
	size_t n = json_integer_value(json_object_get(ret, "codigo_erro")) == 20
		       ? 0
		       : json_array_size(json_object_get(ret, "pedidos"));
	h_resp_free(&r);
	return n;
}

Test(marketsim_tiny, pedido_incluir_once_per_numero_ecommerce)
{
	json_t *p = plain_product(0, 1);
	long long pid = jid(p, "id");
	double reserved0, saldo0 = stock_of(0, pid, &reserved0);

	h_resp_t r = include_order(0, "2000008123456", msh_str(p, "codigo"), 2);
	assert_ok(&r);
	json_t *reg = json_object_get(json_object_get(retorno(&r), "registros"), "registro");
	long long id = jid(reg, "id");
	cr_assert_gt(jid(reg, "numero"), 0);
	h_resp_free(&r);
	double reserved1, saldo1 = stock_of(0, pid, &reserved1);
	cr_assert_float_eq(saldo1, saldo0, 1e-9, "an open order does not move stock");
	cr_assert_float_eq(reserved1, reserved0 + 2, 1e-9, "it reserves it");

	/* The same marketplace order again: a duplicate, and still one order. */
	r = include_order(0, "2000008123456", msh_str(p, "codigo"), 2);
	assert_codigo(&r, 30);
	h_resp_free(&r);
	cr_assert_eq(orders_with_ecommerce(0, "2000008123456"), 1);
	/* ...per company: another company may hold the same number. */
	json_t *q = plain_product(1, 0);
	r = include_order(1, "2000008123456", msh_str(q, "codigo"), 1);
	assert_ok(&r);
	h_resp_free(&r);
	/* An unknown SKU is a validation error with Tiny's message; nothing is created. */
	r = include_order(0, "2000008999999", "NO-SUCH-SKU", 1);
	assert_codigo(&r, 31);
	cr_assert(strstr(r.body, "NO-SUCH-SKU"), "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(orders_with_ecommerce(0, "2000008999999"), 0);

	char ids[24];
	snprintf(ids, sizeof(ids), "%lld", id);
	r = TINY(0, "pedido.obter", "id", ids, NULL);
	assert_ok(&r);
	json_t *o = json_object_get(retorno(&r), "pedido");
	cr_assert_str_eq(msh_str(o, "numero_ecommerce"), "2000008123456");
	cr_assert_str_eq(msh_str(o, "situacao"), "Em aberto");
	cr_assert_str_eq(msh_str(o, "data_pedido"), "01/03/2026");
	json_t *item = json_object_get(json_array_get(json_object_get(o, "itens"), 0), "item");
	cr_assert_str_eq(msh_str(item, "codigo"), msh_str(p, "codigo"));
	cr_assert_eq(jid(item, "id_produto"), pid);
	cr_assert_float_eq(json_number_value(json_object_get(o, "total_pedido")), 2 * 49.9 + 12.5,
			   1e-9);
	h_resp_free(&r);
	r = TINY(1, "pedido.obter", "id", ids, NULL);
	assert_codigo(&r, 32);
	h_resp_free(&r);

	/* Situation: changed by code; cancelled releases the reservation and is final. */
	r = TINY(0, "pedido.alterar.situacao", "id", ids, "situacao", "aprovado", NULL);
	assert_ok(&r);
	h_resp_free(&r);
	r = TINY(0, "pedidos.pesquisa", "situacao", "aprovado", "numeroEcommerce", "2000008123456",
		 NULL);
	assert_ok(&r);
	h_resp_free(&r);
	r = TINY(0, "pedido.alterar.situacao", "id", ids, "situacao", "voando", NULL);
	assert_codigo(&r, 31);
	h_resp_free(&r);
	r = TINY(0, "pedido.alterar.situacao", "id", ids, "situacao", "cancelado", NULL);
	assert_ok(&r);
	h_resp_free(&r);
	double reserved2;
	stock_of(0, pid, &reserved2);
	cr_assert_float_eq(reserved2, reserved0, 1e-9);
	r = TINY(0, "pedido.alterar.situacao", "id", ids, "situacao", "aprovado", NULL);
	assert_codigo(&r, 31);
	h_resp_free(&r);
	r = TINY(0, "gerar.nota.fiscal.pedido", "id", ids, NULL);
	assert_codigo(&r, 31);
	h_resp_free(&r);
}

Test(marketsim_tiny, invoice_from_order_and_read_back)
{
	json_t *p = plain_product(0, 2);
	long long pid = jid(p, "id");
	h_resp_t r = move_stock(0, pid, "B", "20", NULL);
	assert_ok(&r);
	h_resp_free(&r);
	double saldo0 = stock_of(0, pid, NULL);
	r = include_order(0, "2000008555000", msh_str(p, "codigo"), 3);
	assert_ok(&r);
	long long id =
	    jid(json_object_get(json_object_get(retorno(&r), "registros"), "registro"), "id");
	h_resp_free(&r);
	char ids[24];
	snprintf(ids, sizeof(ids), "%lld", id);

	r = TINY(0, "gerar.nota.fiscal.pedido", "id", ids, "modelo", "NFe", NULL);
	assert_ok(&r);
	json_t *reg = json_object_get(json_array_get(json_object_get(retorno(&r), "registros"), 0),
				      "registro");
	long long nf = jid(reg, "idNotaFiscal");
	char numero[16];
	snprintf(numero, sizeof(numero), "%s", msh_str(reg, "numero"));
	cr_assert_str_eq(msh_str(reg, "serie"), "1");
	h_resp_free(&r);

	char nfs[24];
	snprintf(nfs, sizeof(nfs), "%lld", nf);
	r = TINY(0, "nota.fiscal.obter", "id", nfs, NULL);
	assert_ok(&r);
	json_t *n = json_object_get(retorno(&r), "nota_fiscal");
	cr_assert_str_eq(msh_str(n, "numero"), numero);
	cr_assert_str_eq(msh_str(n, "numero_ecommerce"), "2000008555000");
	const char *key = msh_str(n, "chave_acesso");
	cr_assert_eq(strlen(key), 44);
	cr_assert_eq(strspn(key, "0123456789"), 44);
	cr_assert(strstr(key, msh_str(company(0), "cnpj")), "the key holds the issuer's CNPJ");
	cr_assert_eq(json_array_size(json_object_get(n, "itens")), 1);
	h_resp_free(&r);
	r = TINY(1, "nota.fiscal.obter", "id", nfs, NULL);
	assert_codigo(&r, 32);
	h_resp_free(&r);

	r = TINY(0, "pedido.obter", "id", ids, NULL);
	json_t *o = json_object_get(retorno(&r), "pedido");
	cr_assert_str_eq(msh_str(o, "situacao"), "Faturado");
	cr_assert_eq(jid(o, "id_nota_fiscal"), nf);
	h_resp_free(&r);
	double reserved;
	cr_assert_float_eq(stock_of(0, pid, &reserved), saldo0 - 3, 1e-9,
			   "the invoice took the units out");
	r = TINY(0, "gerar.nota.fiscal.pedido", "id", ids, NULL);
	assert_codigo(&r, 30);
	h_resp_free(&r);
	r = TINY(0, "pedidos.pesquisa", "situacao", "faturado", "numeroEcommerce", "2000008555000",
		 NULL);
	assert_ok(&r);
	h_resp_free(&r);
}

/* ---- webhooks: a receiver on its own thread ---- */

struct receiver {
	int fd, port, fail_first, hits;
	json_t *bodies;
	pthread_mutex_t mu;
	volatile int stop;
	pthread_t th;
};

static void serve_one(struct receiver *rc, int c)
{
	char buf[16384];
	size_t len = 0;
	for (;;) {
		struct pollfd pf = {c, POLLIN, 0};
		if (poll(&pf, 1, 2000) <= 0)
			return;
		ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		char *cl = strcasestr(buf, "Content-Length:");
		if (end && len >= (size_t)(end + 4 - buf) + (cl ? (size_t)atoi(cl + 15) : 0))
			break;
	}
	pthread_mutex_lock(&rc->mu);
	int hit = rc->hits++;
	json_array_append_new(rc->bodies, json_loads(strstr(buf, "\r\n\r\n") + 4, 0, NULL));
	pthread_mutex_unlock(&rc->mu);
	const char *resp =
	    hit < rc->fail_first
		? "HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\nConnection: "
		  "close\r\n\r\n"
		: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
	ssize_t w = write(c, resp, strlen(resp));
	(void)w;
}

static void *receiver_main(void *arg)
{
	struct receiver *rc = arg;
	while (!rc->stop) {
		struct pollfd pf = {rc->fd, POLLIN, 0};
		if (poll(&pf, 1, 50) <= 0)
			continue;
		int c = accept(rc->fd, NULL, NULL);
		if (c < 0)
			continue;
		serve_one(rc, c);
		close(c);
	}
	return NULL;
}

static void receiver_start(struct receiver *rc, int fail_first)
{
	memset(rc, 0, sizeof(*rc));
	rc->fail_first = fail_first;
	rc->bodies = json_array();
	pthread_mutex_init(&rc->mu, NULL);
	rc->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert(bind(rc->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	listen(rc->fd, 16);
	socklen_t l = sizeof(sa);
	getsockname(rc->fd, (struct sockaddr *)&sa, &l);
	rc->port = ntohs(sa.sin_port);
	pthread_create(&rc->th, NULL, receiver_main, rc);
}

static void receiver_stop(struct receiver *rc)
{
	rc->stop = 1;
	pthread_join(rc->th, NULL);
	close(rc->fd);
	json_decref(rc->bodies);
	pthread_mutex_destroy(&rc->mu);
}

/* The i-th body received (a new reference), or NULL. */
static json_t *received(struct receiver *rc, int i)
{
	pthread_mutex_lock(&rc->mu);
	json_t *b = json_incref(json_array_get(rc->bodies, (size_t)i));
	pthread_mutex_unlock(&rc->mu);
	return b;
}

static int hits(struct receiver *rc)
{
	pthread_mutex_lock(&rc->mu);
	int n = rc->hits;
	pthread_mutex_unlock(&rc->mu);
	return n;
}

/* The first received body of tipo whose dados[key] is the string value (a new reference). */
static json_t *find_hook(struct receiver *rc, const char *tipo, const char *key, const char *value)
{
	for (int i = 0; i < hits(rc); i++) {
		json_t *b = received(rc, i);
		json_t *d = json_object_get(b, "dados");
		if (b && strcmp(msh_str(b, "tipo"), tipo) == 0 &&
		    json_is_string(json_object_get(d, key)) &&
		    strcmp(json_string_value(json_object_get(d, key)), value) == 0)
			return b;
		json_decref(b);
	}
	return NULL;
}

Test(marketsim_tiny, webhooks_for_stock_and_order_situation)
{
	struct receiver rc;
	receiver_start(&rc, 0);
	char url[96];
	snprintf(url, sizeof(url), "{\"webhook_url\":\"http://127.0.0.1:%d/tiny/hook?k=s3\"}",
		 rc.port);
	company_set(0, url);

	/* A stock adjustment in the warehouse. */
	json_t *p = plain_product(0, 3);
	const char *sku = msh_str(p, "codigo");
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"company_id\":%lld,\"codigo\":\"%s\",\"tipo\":\"B\",\"quantidade\":42}",
		 company_id(0), sku);
	h_resp_t r = msh_sim(&sim, "POST", "/_sim/tiny/stock", body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	double saldo = json_number_value(json_object_get(r.json, "saldo"));
	h_resp_free(&r);
	json_t *hook = NULL;
	cr_assert(H_WAIT_UNTIL((hook = find_hook(&rc, "estoque", "sku", sku)) != NULL, 10000),
		  "no stock webhook");
	cr_assert_str_eq(msh_str(hook, "cnpj"), msh_str(company(0), "cnpj"));
	cr_assert_eq(jid(hook, "idEcommerce"), jid(company(0), "idEcommerce"));
	json_t *d = json_object_get(hook, "dados");
	cr_assert_str_eq(msh_str(d, "tipoEstoque"), "F");
	cr_assert_float_eq(json_number_value(json_object_get(d, "saldo")), saldo, 1e-9);
	cr_assert_eq(jid(d, "idProduto"), jid(p, "id"));
	json_decref(hook);

	/* An order invoiced in the ERP: its situation, and the stock it took. */
	r = include_order(0, "2000008777000", sku, 2);
	assert_ok(&r);
	long long id =
	    jid(json_object_get(json_object_get(retorno(&r), "registros"), "registro"), "id");
	h_resp_free(&r);
	char path[64];
	snprintf(path, sizeof(path), "/_sim/tiny/orders/%lld/nota", id);
	r = msh_sim(&sim, "POST", path, "{}");
	cr_assert_eq(r.status, 201, "%s", r.body);
	h_resp_free(&r);
	cr_assert(H_WAIT_UNTIL((hook = find_hook(&rc, "situacao_pedido", "idPedidoEcommerce",
						 "2000008777000")) != NULL,
			       10000),
		  "no order webhook");
	d = json_object_get(hook, "dados");
	cr_assert_eq(jid(d, "idVendaTiny"), id);
	cr_assert_str_eq(msh_str(d, "situacao"), "faturado");
	cr_assert_str_eq(msh_str(d, "descricaoSituacao"), "Faturado");
	json_decref(hook);
	cr_assert(H_WAIT_UNTIL(hits(&rc) >= 3, 10000));
	json_t *last = NULL;
	for (int i = 0; i < hits(&rc); i++) {
		json_t *b = received(&rc, i);
		if (strcmp(msh_str(b, "tipo"), "estoque") == 0) {
			json_decref(last);
			last = b;
		} else {
			json_decref(b);
		}
	}
	cr_assert_float_eq(
	    json_number_value(json_object_get(json_object_get(last, "dados"), "saldo")), saldo - 2,
	    1e-9, "the invoice's stock webhook");
	json_decref(last);

	/* A situation set in the ERP. */
	snprintf(path, sizeof(path), "/_sim/tiny/orders/%lld/situacao", id);
	r = msh_sim(&sim, "POST", path, "{\"situacao\":\"enviado\"}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	cr_assert(H_WAIT_UNTIL(
	    (hook = find_hook(&rc, "situacao_pedido", "situacao", "enviado")) != NULL, 10000));
	json_decref(hook);
	receiver_stop(&rc);
}

Test(marketsim_tiny, webhook_retried_on_marketsim_clock)
{
	struct receiver rc;
	receiver_start(&rc, 1);
	msh_clock(&sim, "{\"frozen\":true}");
	char url[96];
	snprintf(url, sizeof(url), "{\"webhook_url\":\"http://127.0.0.1:%d/\"}", rc.port);
	company_set(0, url);
	json_t *p = plain_product(0, 0);
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"company_id\":%lld,\"id\":%lld,\"tipo\":\"E\",\"quantidade\":1}", company_id(0),
		 jid(p, "id"));
	h_resp_t r = msh_sim(&sim, "POST", "/_sim/tiny/stock", body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	/* Until marketsim has the 503 (not just until the receiver sent it): the wait is counted
	 * from then. */
	cr_assert(H_WAIT_UNTIL(
		      (load_truth(), jid(json_object_get(tiny, "webhooks"), "failedAttempts") == 1),
		      10000),
		  "first attempt");
	cr_assert_eq(hits(&rc), 1);
	/* The retry waits 5 minutes of marketsim's clock: one ms short of it, nothing. */
	msh_clock_advance(&sim, 299999);
	load_truth();
	json_t *wh = json_object_get(tiny, "webhooks");
	cr_assert_eq(jid(wh, "pending"), 1);
	cr_assert_eq(hits(&rc), 1);
	msh_clock_advance(&sim, 1);
	cr_assert(H_WAIT_UNTIL(hits(&rc) == 2, 10000), "retried after 5 minutes");
	json_t *a = received(&rc, 0), *b = received(&rc, 1);
	cr_assert(json_equal(a, b), "the same body again");
	json_decref(a);
	json_decref(b);
	cr_assert(H_WAIT_UNTIL(
	    (load_truth(), jid(json_object_get(tiny, "webhooks"), "delivered") == 1), 10000));
	receiver_stop(&rc);
}

/* ---- Mercado Livre's side of the loop ---- */

static json_t *item_get(const msh_tokens_t *tok, const char *id)
{
	char path[64];
	snprintf(path, sizeof(path), "/items/%s", id);
	h_resp_t r = msh_get(&sim, tok->access, path);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *j = json_incref(r.json);
	h_resp_free(&r);
	return j;
}

static json_int_t qty_of(json_t *o)
{
	return json_integer_value(json_object_get(o, "available_quantity"));
}

Test(marketsim_tiny, ml_sale_lowers_stock_and_put_is_read_back)
{
	msh_tokens_t tok;
	msh_login(&sim, &app, app.sellers[0], &tok);
	/* The seller's items with a SKU: Tiny company 0 holds that SKU with the same stock. */
	json_t *plain = NULL, *varied = NULL;
	for (int i = 0; i < 60 && (!plain || !varied); i += 2) {
		char id[24];
		snprintf(id, sizeof(id), "MLB%lld", 3000000001LL + i);
		json_t *it = item_get(&tok, id);
		const char *sku = json_string_value(json_object_get(it, "seller_custom_field"));
		bool has_vars = json_array_size(json_object_get(it, "variations")) > 0;
		bool active = strcmp(msh_str(it, "status"), "active") == 0;
		if (sku && active && qty_of(it) > 5 && !has_vars && !plain)
			plain = json_incref(it);
		else if (active && has_vars && !varied &&
			 qty_of(json_array_get(json_object_get(it, "variations"), 0)) > 2)
			varied = json_incref(it);
		json_decref(it);
	}
	cr_assert(plain && varied, "seeded items to sell");
	json_t *tp = product_by_codigo(0, msh_str(plain, "seller_custom_field"));
	cr_assert(tp, "Tiny has the ML item's SKU");
	cr_assert_float_eq(json_number_value(json_object_get(tp, "saldo")), (double)qty_of(plain),
			   1e-9);

	/* A sale of 2 lowers the item's stock by 2. */
	char body[256];
	snprintf(body, sizeof(body), "{\"seller_id\":%lld,\"item_id\":\"%s\",\"quantity\":2}",
		 (long long)app.sellers[0], msh_str(plain, "id"));
	h_resp_t r = msh_sim(&sim, "POST", "/_sim/orders", body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	h_resp_free(&r);
	json_t *after = item_get(&tok, msh_str(plain, "id"));
	cr_assert_eq(qty_of(after), qty_of(plain) - 2);
	cr_assert_eq(json_integer_value(json_object_get(after, "sold_quantity")),
		     json_integer_value(json_object_get(plain, "sold_quantity")) + 2);
	json_decref(after);
	/* A cancelled order takes nothing. */
	snprintf(body, sizeof(body),
		 "{\"seller_id\":%lld,\"item_id\":\"%s\",\"quantity\":1,\"status\":\"cancelled\"}",
		 (long long)app.sellers[0], msh_str(plain, "id"));
	r = msh_sim(&sim, "POST", "/_sim/orders", body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	h_resp_free(&r);
	after = item_get(&tok, msh_str(plain, "id"));
	cr_assert_eq(qty_of(after), qty_of(plain) - 2);
	json_decref(after);

	/* With variations: the variation sold loses the units, and the item the sum. */
	snprintf(body, sizeof(body), "{\"seller_id\":%lld,\"item_id\":\"%s\",\"quantity\":1}",
		 (long long)app.sellers[0], msh_str(varied, "id"));
	r = msh_sim(&sim, "POST", "/_sim/orders", body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	json_t *line =
	    json_object_get(json_array_get(json_object_get(r.json, "order_items"), 0), "item");
	json_int_t vid = json_integer_value(json_object_get(line, "variation_id"));
	h_resp_free(&r);
	after = item_get(&tok, msh_str(varied, "id"));
	json_int_t sum = 0;
	for (size_t k = 0; k < json_array_size(json_object_get(after, "variations")); k++) {
		json_t *va = json_array_get(json_object_get(after, "variations"), k);
		json_t *vb = json_array_get(json_object_get(varied, "variations"), k);
		json_int_t want = qty_of(vb) - (jid(vb, "id") == vid ? 1 : 0);
		if (qty_of(vb) == 0)
			want = 0;
		cr_assert_eq(qty_of(va), want, "variation %zu", k);
		sum += qty_of(va);
	}
	cr_assert_eq(qty_of(after), sum);
	json_decref(after);

	/* PUT /items: the stock written is the stock read, per variation too. */
	char path[64];
	snprintf(path, sizeof(path), "/items/%s", msh_str(plain, "id"));
	r = msh_api(&sim, "PUT", tok.access, path, "{\"available_quantity\":7}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	after = item_get(&tok, msh_str(plain, "id"));
	cr_assert_eq(qty_of(after), 7);
	json_decref(after);
	json_t *v0 = json_array_get(json_object_get(varied, "variations"), 0);
	snprintf(path, sizeof(path), "/items/%s", msh_str(varied, "id"));
	snprintf(body, sizeof(body), "{\"variations\":[{\"id\":%lld,\"available_quantity\":11}]}",
		 jid(v0, "id"));
	r = msh_api(&sim, "PUT", tok.access, path, body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	after = item_get(&tok, msh_str(varied, "id"));
	cr_assert_eq(qty_of(json_array_get(json_object_get(after, "variations"), 0)), 11);
	sum = 0;
	for (size_t k = 0; k < json_array_size(json_object_get(after, "variations")); k++)
		sum += qty_of(json_array_get(json_object_get(after, "variations"), k));
	cr_assert_eq(qty_of(after), sum);
	json_decref(after);
	/* ...and the multiget reads the same. */
	snprintf(path, sizeof(path), "/items?ids=%s", msh_str(plain, "id"));
	r = msh_get(&sim, tok.access, path);
	cr_assert_eq(qty_of(json_object_get(json_array_get(r.json, 0), "body")), 7, "%s", r.body);
	h_resp_free(&r);
	json_decref(plain);
	json_decref(varied);
}
