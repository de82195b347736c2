/* Tiny's order and invoice services: search (50 a page, at least one filter), one order, include
 * (items matched by SKU codigo; one order per numero_pedido_ecommerce: a second include of the same
 * number is codigo_erro 30 and creates nothing), change the situation, invoice an order and read
 * the invoice. */
#include "tiny.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define ORDERS_PAGE 50

static bool param_id(tiny_call_t *c, const char *name, int64_t *id)
{
	const char *v = tiny_param(c, name);
	if (!v || !*v) {
		tiny_err(c, 10, "O parâmetro %s não foi informado", name);
		return false;
	}
	if (!ms_parse_id(v, id)) {
		tiny_err(c, 31, "O parâmetro %s deve ser numérico", name);
		return false;
	}
	return true;
}

static tiny_order_t *param_order(tiny_call_t *c)
{
	int64_t id;
	if (!param_id(c, "id", &id))
		return NULL;
	tiny_order_t *o = tiny_order_find(c->co, id);
	if (!o)
		tiny_err(c, 32, "Pedido não encontrado");
	return o;
}

/* "dd/mm/yyyy" or "dd/mm/yyyy hh:mm:ss" in Brazil's time → wall ms; false when malformed. */
static bool parse_date(const char *s, int64_t *out)
{
	struct tm tm = {0};
	int n = 0;
	if (sscanf(s, "%d/%d/%d %d:%d:%d%n", &tm.tm_mday, &tm.tm_mon, &tm.tm_year, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec, &n) == 6 &&
	    !s[n]) {
	} else if (n = 0, memset(&tm, 0, sizeof(tm)),
		   sscanf(s, "%d/%d/%d%n", &tm.tm_mday, &tm.tm_mon, &tm.tm_year, &n) != 3 || s[n]) {
		return false;
	}
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_year < 1900)
		return false;
	tm.tm_mon -= 1;
	tm.tm_year -= 1900;
	*out = ((int64_t)timegm(&tm) + 3 * 3600) * 1000;
	return true;
}

/* ---- search ---- */

struct filters {
	const char *numero, *cliente, *cpf, *situacao, *ecommerce;
	int64_t from, to, updated; /* 0 = none */
};

static bool read_filters(tiny_call_t *c, struct filters *f)
{
	memset(f, 0, sizeof(*f));
	f->numero = tiny_param(c, "numero");
	f->cliente = tiny_param(c, "cliente");
	f->cpf = tiny_param(c, "cpf_cnpj");
	f->ecommerce = tiny_param(c, "numeroEcommerce");
	const char *sit = tiny_param(c, "situacao");
	if (sit && *sit && !(f->situacao = tiny_situacao_code(sit))) {
		tiny_err(c, 31, "situacao desconhecida: %s", sit);
		return false;
	}
	static const char *const dates[] = {"dataInicial", "dataFinal", "dataAtualizacao"};
	int64_t *slots[] = {&f->from, &f->to, &f->updated};
	for (int i = 0; i < 3; i++) {
		const char *v = tiny_param(c, dates[i]);
		if (!v || !*v)
			continue;
		if (!parse_date(v, slots[i])) {
			tiny_err(c, 31, "%s deve estar no formato dd/mm/aaaa", dates[i]);
			return false;
		}
	}
	if (f->to)
		f->to += 86400000LL - 1; /* the whole last day */
	bool any = f->from || f->to || f->updated || f->situacao;
	const char *texts[] = {f->numero, f->cliente, f->cpf, f->ecommerce};
	for (int i = 0; i < 4; i++)
		any |= texts[i] && *texts[i];
	if (!any) {
		tiny_err(c, 10,
			 "Informe ao menos um parâmetro de pesquisa (numero, cliente, "
			 "cpf_cnpj, dataInicial, dataFinal, dataAtualizacao, situacao, "
			 "numeroEcommerce)");
		return false;
	}
	return true;
}

static bool matches(const tiny_order_t *o, const struct filters *f)
{
	json_t *cli = json_object_get(o->json, "cliente");
	char num[24];
	snprintf(num, sizeof(num), "%lld", (long long)o->numero);
	if (f->numero && *f->numero && strcmp(f->numero, num) != 0)
		return false;
	if (f->cliente && *f->cliente &&
	    !strcasestr(json_string_value(json_object_get(cli, "nome")), f->cliente))
		return false;
	if (f->cpf && *f->cpf &&
	    strcmp(json_string_value(json_object_get(cli, "cpf_cnpj")) ?: "", f->cpf) != 0)
		return false;
	if (f->ecommerce && *f->ecommerce && strcmp(o->numero_ecommerce, f->ecommerce) != 0)
		return false;
	if (f->situacao && strcmp(o->situacao, f->situacao) != 0)
		return false;
	if ((f->from && o->created_ms < f->from) || (f->to && o->created_ms > f->to))
		return false;
	return !f->updated || o->updated_ms >= f->updated;
}

static json_t *search_view(const tiny_order_t *o)
{
	json_t *j = o->json;
	return json_pack("{s:{s:I, s:I, s:O, s:O, s:O, s:O, s:O, s:I, s:s, s:O, s:O, s:O}}",
			 "pedido", "id", (json_int_t)o->id, "numero", (json_int_t)o->numero,
			 "numero_ecommerce", json_object_get(j, "numero_ecommerce"), "data_pedido",
			 json_object_get(j, "data_pedido"), "data_prevista",
			 json_object_get(j, "data_prevista"), "nome",
			 json_object_get(json_object_get(j, "cliente"), "nome"), "valor",
			 json_object_get(j, "total_pedido"), "id_vendedor", (json_int_t)0,
			 "nome_vendedor", "", "situacao", json_object_get(j, "situacao"),
			 "codigo_rastreamento", json_object_get(j, "codigo_rastreamento"),
			 "url_rastreamento", json_object_get(j, "url_rastreamento"));
}

void tiny_pedidos_pesquisa(tiny_call_t *c)
{
	tiny_company_t *co = c->co;
	struct filters f;
	if (!read_filters(c, &f))
		return;
	const char *sort = tiny_param(c, "sort");
	bool desc = sort && strcasecmp(sort, "DESC") == 0;
	if (sort && *sort && !desc && strcasecmp(sort, "ASC") != 0) {
		tiny_err(c, 31, "sort deve ser ASC ou DESC");
		return;
	}
	size_t *ix = xcalloc(co->n_orders ? co->n_orders : 1, sizeof(*ix)), n = 0;
	for (size_t i = 0; i < co->n_orders; i++) {
		size_t k = desc ? co->n_orders - 1 - i : i; /* ids grow with creation */
		if (matches(&co->orders[k], &f))
			ix[n++] = k;
	}
	size_t page, pages;
	if (tiny_page(c, n, ORDERS_PAGE, &page, &pages)) {
		json_t *list = json_array();
		for (size_t k = (page - 1) * ORDERS_PAGE; k < n && k < page * ORDERS_PAGE; k++)
			json_array_append_new(list, search_view(&co->orders[ix[k]]));
		tiny_ok(c, json_pack("{s:I, s:I, s:o}", "pagina", (json_int_t)page,
				     "numero_paginas", (json_int_t)pages, "pedidos", list));
	}
	free(ix);
}

void tiny_pedido_obter(tiny_call_t *c)
{
	tiny_order_t *o = param_order(c);
	if (o)
		tiny_ok(c, json_pack("{s:O}", "pedido", o->json));
}

/* ---- include ---- */

#define LINES_MAX 100

/* The lines of itens[]: false with the error set. */
static bool read_lines(tiny_call_t *c, json_t *itens, tiny_line_t *lines, double *prices, size_t *n)
{
	if (!json_is_array(itens) || json_array_size(itens) == 0) {
		tiny_err(c, 31, "O pedido deve ter ao menos um item");
		return false;
	}
	if (json_array_size(itens) > LINES_MAX) {
		tiny_err(c, 31, "O pedido tem mais de %d itens", LINES_MAX);
		return false;
	}
	size_t k;
	json_t *entry;
	*n = 0;
	json_array_foreach(itens, k, entry)
	{
		json_t *it = json_object_get(entry, "item");
		it = it ? it : entry;
		const char *codigo = json_string_value(json_object_get(it, "codigo"));
		double id = 0, q = 0, v = 0;
		tiny_product_t *p = codigo ? tiny_product_by_codigo(c->co, codigo)
				    : tiny_number(json_object_get(it, "id_produto"), &id)
					? tiny_product_find(c->co, (int64_t)id)
					: NULL;
		if (!p) {
			tiny_err(c, 31, "Item %zu: produto não encontrado (codigo %s)", k + 1,
				 codigo ? codigo : "não informado");
			return false;
		}
		if (p->variacao == 'P') {
			tiny_err(c, 31, "Item %zu: o produto %s tem variações, informe a variação",
				 k + 1, p->codigo);
			return false;
		}
		if (!tiny_number(json_object_get(it, "quantidade"), &q) || q <= 0) {
			tiny_err(c, 31, "Item %zu: quantidade deve ser maior que zero", k + 1);
			return false;
		}
		json_t *vu = json_object_get(it, "valor_unitario");
		if (vu && (!tiny_number(vu, &v) || v < 0)) {
			tiny_err(c, 31, "Item %zu: valor_unitario inválido", k + 1);
			return false;
		}
		if (!vu)
			v = json_number_value(json_object_get(p->json, "preco"));
		lines[*n] = (tiny_line_t){p->id, q};
		prices[(*n)++] = round(v * 100) / 100;
	}
	return true;
}

static json_t *client_of(json_t *in)
{
	static const char *const keys[] = {"nome",     "codigo", "tipo_pessoa", "cpf_cnpj", "ie",
					   "endereco", "numero", "complemento", "bairro",   "cep",
					   "cidade",   "uf",	 "fone",	"email"};
	json_t *out = json_object();
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		json_t *v = json_object_get(in, keys[i]);
		json_object_set_new(out, keys[i],
				    json_string(json_is_string(v) ? json_string_value(v) : ""));
	}
	return out;
}

/* The terms a pedido carries as given (payment, shipping), kept for pedido.obter. */
static void keep_terms(json_t *order, json_t *in)
{
	static const char *const keys[] = {"forma_pagamento",	 "meio_pagamento",
					   "forma_envio",	 "forma_frete",
					   "nome_transportador", "frete_por_conta"};
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		json_t *v = json_object_get(in, keys[i]);
		if (json_is_string(v))
			json_object_set(order, keys[i], v);
	}
	json_t *parcelas = json_object_get(in, "parcelas");
	if (json_is_array(parcelas))
		json_object_set(order, "parcelas", parcelas);
}

void tiny_pedido_incluir(tiny_call_t *c)
{
	tiny_company_t *co = c->co;
	json_t *payload = tiny_json_param(c, "pedido");
	if (!payload)
		return;
	json_t *in = json_object_get(payload, "pedido");
	in = json_is_object(in) ? in : payload;
	json_t *cli = json_object_get(in, "cliente");
	json_t *num = json_object_get(in, "numero_pedido_ecommerce");
	num = num ? num : json_object_get(in, "numero_ecommerce");
	json_t *date = json_object_get(in, "data_pedido"),
	       *frete = json_object_get(in, "valor_frete");
	char numero[64] = "";
	if (json_is_string(num))
		snprintf(numero, sizeof(numero), "%s", json_string_value(num));
	else if (json_is_integer(num))
		snprintf(numero, sizeof(numero), "%" JSON_INTEGER_FORMAT, json_integer_value(num));
	int64_t created = ms_wall_ms(c->r->ms), day;
	double shipping = 0;
	tiny_line_t *lines = xcalloc(LINES_MAX, sizeof(*lines));
	double *prices = xcalloc(LINES_MAX, sizeof(*prices));
	size_t n = 0;
	const tiny_order_t *dup = tiny_order_by_ecommerce(co, numero);
	if (num && !json_is_null(num) && (!*numero || strlen(numero) > 50))
		tiny_err(c, 31, "numero_pedido_ecommerce inválido");
	else if (dup)
		tiny_err(c, 30,
			 "Registro em duplicidade: já existe o pedido número %lld com o "
			 "numero_pedido_ecommerce %s",
			 (long long)dup->numero, numero);
	else if (!json_is_object(cli) || !json_is_string(json_object_get(cli, "nome")) ||
		 json_string_length(json_object_get(cli, "nome")) == 0)
		tiny_err(c, 31, "O nome do cliente é obrigatório");
	else if (date && (!json_is_string(date) || !parse_date(json_string_value(date), &day)))
		tiny_err(c, 31, "data_pedido deve estar no formato dd/mm/aaaa");
	else if (frete && (!tiny_number(frete, &shipping) || shipping < 0))
		tiny_err(c, 31, "valor_frete inválido");
	else if (read_lines(c, json_object_get(in, "itens"), lines, prices, &n)) {
		tiny_order_t *o = tiny_order_create(co, client_of(cli), lines, prices, n, numero,
						    created, round(shipping * 100) / 100);
		if (date)
			json_object_set(o->json, "data_pedido", date);
		keep_terms(o->json, in);
		tiny_order_stock_touched(c->r->ms, co, o, false);
		tiny_ok(c, json_pack("{s:{s:{s:s, s:s, s:I, s:I}}}", "registros", "registro",
				     "sequencia", "1", "status", "OK", "id", (json_int_t)o->id,
				     "numero", (json_int_t)o->numero));
	}
	free(lines);
	free(prices);
	json_decref(payload);
}

void tiny_pedido_alterar_situacao(tiny_call_t *c)
{
	tiny_order_t *o = param_order(c);
	if (!o)
		return;
	const char *sit = tiny_param(c, "situacao");
	const char *code = sit ? tiny_situacao_code(sit) : NULL;
	char msg[256];
	if (!sit || !*sit)
		tiny_err(c, 10, "O parâmetro situacao não foi informado");
	else if (!code)
		tiny_err(c, 31, "situacao desconhecida: %s", sit);
	else if (!tiny_order_set_situacao(c->r->ms, c->co, o, code, ms_wall_ms(c->r->ms), msg,
					  sizeof(msg)))
		tiny_err(c, 31, "%s", msg);
	else
		tiny_ok(c, json_object());
}

/* ---- invoices ---- */

void tiny_gerar_nota_fiscal_pedido(tiny_call_t *c)
{
	tiny_order_t *o = param_order(c);
	if (!o)
		return;
	int code = 0;
	char msg[256];
	tiny_invoice_t *inv = tiny_order_invoice(c->r->ms, c->co, o, tiny_param(c, "modelo"),
						 ms_wall_ms(c->r->ms), &code, msg, sizeof(msg));
	if (!inv) {
		tiny_err(c, code, "%s", msg);
		return;
	}
	tiny_ok(c, json_pack("{s:[{s:{s:i, s:s, s:I, s:O, s:O}}]}", "registros", "registro",
			     "sequencia", 1, "status", "OK", "idNotaFiscal", (json_int_t)inv->id,
			     "numero", json_object_get(inv->json, "numero"), "serie",
			     json_object_get(inv->json, "serie")));
}

void tiny_nota_fiscal_obter(tiny_call_t *c)
{
	int64_t id;
	if (!param_id(c, "id", &id))
		return;
	tiny_invoice_t *inv = tiny_invoice_find(c->co, id);
	if (!inv)
		tiny_err(c, 32, "Nota fiscal não encontrada");
	else
		tiny_ok(c, json_pack("{s:O}", "nota_fiscal", inv->json));
}
