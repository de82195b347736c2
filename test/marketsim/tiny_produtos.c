/* Tiny's product services: search (100 a page), one product, include and alter (batch services of
 * at most 20 records, answered per record), and stock: read it per deposit, and move it (tipo B
 * sets, E adds, S subtracts, in a deposit named by `deposito`, "Geral" when omitted). */
#include "tiny.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PRODUCTS_PAGE 100
#define BATCH_MAX     20

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

static tiny_product_t *param_product(tiny_call_t *c)
{
	int64_t id;
	if (!param_id(c, "id", &id))
		return NULL;
	tiny_product_t *p = tiny_product_find(c->co, id);
	if (!p || strcmp(json_string_value(json_object_get(p->json, "situacao")), "E") == 0)
		tiny_err(c, 32, "Produto não encontrado");
	return p;
}

static json_t *search_view(const tiny_product_t *p)
{
	static const char *const keys[] = {"id",
					   "codigo",
					   "nome",
					   "preco",
					   "preco_promocional",
					   "unidade",
					   "gtin",
					   "situacao",
					   "tipoVariacao",
					   "localizacao",
					   "preco_custo",
					   "preco_custo_medio",
					   "data_criacao"};
	json_t *v = json_object();
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		json_object_set(v, keys[i], json_object_get(p->json, keys[i]));
	return json_pack("{s:o}", "produto", v);
}

void tiny_produtos_pesquisa(tiny_call_t *c)
{
	tiny_company_t *co = c->co;
	const char *q = tiny_param(c, "pesquisa"), *situacao = tiny_param(c, "situacao");
	const char *gtin = tiny_param(c, "gtin");
	if (!q) {
		tiny_err(c, 10, "O parâmetro pesquisa não foi informado");
		return;
	}
	if (situacao && *situacao && strcmp(situacao, "A") != 0 && strcmp(situacao, "I") != 0 &&
	    strcmp(situacao, "E") != 0) {
		tiny_err(c, 31, "situacao deve ser A, I ou E");
		return;
	}
	size_t *ix = xcalloc(co->n_products ? co->n_products : 1, sizeof(*ix)), n = 0;
	for (size_t i = 0; i < co->n_products; i++) {
		const tiny_product_t *p = &co->products[i];
		const char *sit = json_string_value(json_object_get(p->json, "situacao"));
		if (situacao && *situacao ? strcmp(sit, situacao) != 0 : strcmp(sit, "E") == 0)
			continue;
		if (gtin && *gtin &&
		    strcmp(json_string_value(json_object_get(p->json, "gtin")), gtin) != 0)
			continue;
		if (*q && !strcasestr(p->codigo, q) &&
		    !strcasestr(json_string_value(json_object_get(p->json, "nome")), q))
			continue;
		ix[n++] = i;
	}
	size_t page, pages;
	if (tiny_page(c, n, PRODUCTS_PAGE, &page, &pages)) {
		json_t *list = json_array();
		for (size_t k = (page - 1) * PRODUCTS_PAGE; k < n && k < page * PRODUCTS_PAGE; k++)
			json_array_append_new(list, search_view(&co->products[ix[k]]));
		tiny_ok(c, json_pack("{s:I, s:I, s:o}", "pagina", (json_int_t)page,
				     "numero_paginas", (json_int_t)pages, "produtos", list));
	}
	free(ix);
}

void tiny_produto_obter(tiny_call_t *c)
{
	tiny_product_t *p = param_product(c);
	if (p && !c->reply)
		tiny_ok(c, json_pack("{s:o}", "produto", tiny_product_view(c->co, p)));
}

/* ---- include and alter: batches answered per record ---- */

static json_t *record_ok(json_t *seq, int64_t id)
{
	return json_pack("{s:{s:O, s:s, s:I}}", "registro", "sequencia", seq, "status", "OK", "id",
			 (json_int_t)id);
}

static json_t *record_err(json_t *seq, int codigo, const char *msg)
{
	return json_pack("{s:{s:O, s:s, s:i, s:[{s:s}]}}", "registro", "sequencia", seq, "status",
			 "Erro", "codigo_erro", codigo, "erros", "erro", msg);
}

/* The record's sequencia as given, else its position from 1 (a new reference). */
static json_t *sequence_of(json_t *in, size_t k)
{
	json_t *seq = json_object_get(in, "sequencia");
	return seq ? json_incref(seq) : json_integer((json_int_t)k + 1);
}

/* The records of produto={"produtos":[{"produto":{...}}]}: NULL with the error set. */
static json_t *batch_records(tiny_call_t *c, json_t **payload)
{
	*payload = tiny_json_param(c, "produto");
	if (!*payload)
		return NULL;
	json_t *list = json_object_get(*payload, "produtos");
	if (!json_is_array(list) || json_array_size(list) == 0) {
		tiny_err(c, 31, "produtos: informe ao menos um produto");
		return NULL;
	}
	if (json_array_size(list) > BATCH_MAX) {
		tiny_err(c, 22, "O lote tem mais de %d registros", BATCH_MAX);
		return NULL;
	}
	return list;
}

/* OK when every record is, Erro when none is, Parcial otherwise. */
static void batch_answer(tiny_call_t *c, json_t *records, size_t ok)
{
	size_t n = json_array_size(records);
	if (ok == n) {
		tiny_ok(c, json_pack("{s:o}", "registros", records));
		return;
	}
	json_t *first = json_object_get(json_array_get(records, 0), "registro");
	size_t k;
	json_t *rec;
	json_array_foreach(records, k, rec)
	{
		if (strcmp(json_string_value(
			       json_object_get(json_object_get(rec, "registro"), "status")),
			   "Erro") == 0) {
			first = json_object_get(rec, "registro");
			break;
		}
	}
	json_t *ret =
	    json_pack("{s:i, s:s, s:O, s:O, s:o}", "status_processamento", ok ? 4 : 2, "status",
		      ok ? "Parcial" : "Erro", "codigo_erro", json_object_get(first, "codigo_erro"),
		      "erros", json_object_get(first, "erros"), "registros", records);
	json_decref(c->reply);
	c->reply = json_pack("{s:o}", "retorno", ret);
}

/* Check and copy the editable fields of in into the product's view; false with msg. */
static bool apply_fields(json_t *view, json_t *in, char *msg, size_t msglen)
{
	static const char *const numbers[] = {
	    "preco",	  "preco_promocional", "preco_custo",	"peso_liquido",
	    "peso_bruto", "estoque_minimo",    "estoque_maximo"};
	static const char *const strings[] = {"nome", "unidade",	"ncm",	      "origem",
					      "gtin", "gtin_embalagem", "localizacao"};
	for (size_t i = 0; i < ARRAY_LEN(numbers); i++) {
		json_t *v = json_object_get(in, numbers[i]);
		double d;
		if (!v)
			continue;
		if (!tiny_number(v, &d) || d < 0) {
			snprintf(msg, msglen, "%s deve ser um número não negativo", numbers[i]);
			return false;
		}
		json_object_set_new(view, numbers[i], json_real(d));
	}
	for (size_t i = 0; i < ARRAY_LEN(strings); i++) {
		json_t *v = json_object_get(in, strings[i]);
		if (v && !json_is_string(v)) {
			snprintf(msg, msglen, "%s deve ser texto", strings[i]);
			return false;
		}
		if (v && strcmp(strings[i], "nome") == 0 &&
		    (json_string_length(v) == 0 || json_string_length(v) > 120)) {
			snprintf(msg, msglen, "nome deve ter de 1 a 120 caracteres");
			return false;
		}
		if (v)
			json_object_set(view, strings[i], v);
	}
	json_t *sit = json_object_get(in, "situacao");
	if (sit && (!json_is_string(sit) || (strcmp(json_string_value(sit), "A") != 0 &&
					     strcmp(json_string_value(sit), "I") != 0))) {
		snprintf(msg, msglen, "situacao deve ser A ou I");
		return false;
	}
	if (sit)
		json_object_set(view, "situacao", sit);
	return true;
}

void tiny_produto_incluir(tiny_call_t *c)
{
	tiny_company_t *co = c->co;
	json_t *payload, *list = batch_records(c, &payload);
	if (!list) {
		json_decref(payload);
		return;
	}
	json_t *records = json_array();
	size_t ok = 0, k;
	json_t *entry;
	json_array_foreach(list, k, entry)
	{
		json_t *in = json_object_get(entry, "produto");
		json_t *seqv = sequence_of(in, k);
		char msg[256];
		const char *codigo = json_string_value(json_object_get(in, "codigo"));
		const char *tipo = json_string_value(json_object_get(in, "tipo"));
		json_t *kit = json_object_get(in, "kit");
		if (!json_is_object(in) || !json_is_string(json_object_get(in, "nome"))) {
			json_array_append_new(records, record_err(seqv, 31, "nome é obrigatório"));
		} else if (codigo && tiny_product_by_codigo(co, codigo)) {
			snprintf(msg, sizeof(msg), "Já existe um produto com o código %s", codigo);
			json_array_append_new(records, record_err(seqv, 30, msg));
		} else if (tipo && strcmp(tipo, "P") != 0 && strcmp(tipo, "K") != 0) {
			json_array_append_new(
			    records, record_err(seqv, 31, "tipo deve ser P ou K (simulados)"));
		} else if (json_array_size(json_object_get(in, "variacoes")) > 0) {
			json_array_append_new(
			    records,
			    record_err(seqv, 31,
				       "variações pela API não são simuladas pelo marketsim"));
		} else {
			bool is_kit = tipo && strcmp(tipo, "K") == 0;
			int64_t kit_id[TINY_KIT_MAX];
			double kit_qty[TINY_KIT_MAX];
			int n_kit = 0;
			bool bad = false;
			if (is_kit && (!json_is_array(kit) || json_array_size(kit) == 0 ||
				       json_array_size(kit) > TINY_KIT_MAX)) {
				snprintf(msg, sizeof(msg), "kit deve ter de 1 a %d itens",
					 TINY_KIT_MAX);
				bad = true;
			}
			size_t m;
			json_t *ki;
			json_array_foreach(is_kit && !bad ? kit : NULL, m, ki)
			{
				json_t *item = json_object_get(ki, "item");
				json_t *idv = json_object_get(item, "id_produto");
				const char *kc = json_string_value(json_object_get(item, "codigo"));
				double id = 0, q = 0;
				tiny_product_t *comp = tiny_number(idv, &id)
							   ? tiny_product_find(co, (int64_t)id)
						       : kc ? tiny_product_by_codigo(co, kc)
							    : NULL;
				if (!comp || !tiny_stock_movable(comp) ||
				    !tiny_number(json_object_get(item, "quantidade"), &q) ||
				    q <= 0) {
					snprintf(msg, sizeof(msg),
						 "kit: item %zu deve ser um produto simples com "
						 "quantidade",
						 m + 1);
					bad = true;
					break;
				}
				kit_id[n_kit] = comp->id;
				kit_qty[n_kit++] = q;
			}
			char code[64];
			snprintf(code, sizeof(code), "%s", codigo ? codigo : "");
			json_t *view =
			    tiny_product_json("", 0, 0, is_kit ? "K" : "P", is_kit ? "K" : "S", "N",
					      ms_wall_ms(c->r->ms));
			if (!bad)
				bad = !apply_fields(view, in, msg, sizeof(msg));
			if (bad) {
				json_decref(view);
				json_array_append_new(records, record_err(seqv, 31, msg));
			} else {
				json_t *kj = json_array();
				for (int i = 0; i < n_kit; i++)
					json_array_append_new(
					    kj, json_pack("{s:{s:I, s:o}}", "item", "id_produto",
							  (json_int_t)kit_id[i], "quantidade",
							  tiny_qty_json(kit_qty[i])));
				json_object_set_new(view, "kit", kj);
				if (!*code) /* Tiny numbers it when no code is given */
					snprintf(code, sizeof(code), "P%zu-%zu", co->ix + 1,
						 co->n_products + 1);
				tiny_product_t *p = tiny_product_add(co, code, view);
				if (is_kit) {
					p->tipo = 'K';
					p->n_kit = n_kit;
					memcpy(p->kit_id, kit_id, sizeof(kit_id));
					memcpy(p->kit_qty, kit_qty, sizeof(kit_qty));
				}
				json_array_append_new(records, record_ok(seqv, p->id));
				ok++;
			}
		}
		json_decref(seqv);
	}
	json_decref(payload);
	batch_answer(c, records, ok);
}

void tiny_produto_alterar(tiny_call_t *c)
{
	tiny_company_t *co = c->co;
	json_t *payload, *list = batch_records(c, &payload);
	if (!list) {
		json_decref(payload);
		return;
	}
	json_t *records = json_array();
	size_t ok = 0, k;
	json_t *entry;
	json_array_foreach(list, k, entry)
	{
		json_t *in = json_object_get(entry, "produto");
		json_t *seqv = sequence_of(in, k);
		double id = 0;
		const char *codigo = json_string_value(json_object_get(in, "codigo"));
		tiny_product_t *p = tiny_number(json_object_get(in, "id"), &id)
					? tiny_product_find(co, (int64_t)id)
				    : codigo ? tiny_product_by_codigo(co, codigo)
					     : NULL;
		char msg[256];
		if (!p) {
			json_array_append_new(
			    records, record_err(seqv, 32, "Produto não encontrado (id ou codigo)"));
		} else {
			json_t *view = json_deep_copy(p->json);
			if (!apply_fields(view, in, msg, sizeof(msg))) {
				json_decref(view);
				json_array_append_new(records, record_err(seqv, 31, msg));
			} else {
				json_decref(p->json);
				p->json = view;
				json_array_append_new(records, record_ok(seqv, p->id));
				ok++;
			}
		}
		json_decref(seqv);
	}
	json_decref(payload);
	batch_answer(c, records, ok);
}

/* ---- stock ---- */

void tiny_produto_obter_estoque(tiny_call_t *c)
{
	tiny_product_t *p = param_product(c);
	if (p && !c->reply)
		tiny_ok(c, json_pack("{s:o}", "produto", tiny_stock_view(c->co, p)));
}

void tiny_produto_atualizar_estoque(tiny_call_t *c)
{
	tiny_company_t *co = c->co;
	json_t *payload = tiny_json_param(c, "estoque");
	if (!payload)
		return;
	json_t *e = json_object_get(payload, "estoque");
	e = e ? e : payload;
	double id = 0, qty = 0;
	json_t *tipo_v = json_object_get(e, "tipo"), *dep_v = json_object_get(e, "deposito");
	json_t *obs = json_object_get(e, "observacoes");
	const char *tipo = tipo_v ? json_string_value(tipo_v) : "B";
	int dep = dep_v ? tiny_deposit_find(json_string_value(dep_v)) : 0;
	tiny_product_t *p = NULL;
	if (!tiny_number(json_object_get(e, "idProduto"), &id))
		tiny_err(c, 31, "idProduto é obrigatório");
	else if (!(p = tiny_product_find(co, (int64_t)id)))
		tiny_err(c, 32, "Produto não encontrado");
	else if (!tiny_stock_movable(p))
		tiny_err(c, 31, "O estoque de kits e de produtos com variações vem dos seus itens");
	else if (!tipo || strlen(tipo) != 1 || !strchr("BES", tipo[0]))
		tiny_err(c, 31, "tipo deve ser B (balanço), E (entrada) ou S (saída)");
	else if (!tiny_number(json_object_get(e, "quantidade"), &qty) || qty < 0)
		tiny_err(c, 31, "quantidade deve ser um número não negativo");
	else if (dep < 0)
		tiny_err(c, 31, "Depósito não encontrado: %s",
			 json_string_value(dep_v) ? json_string_value(dep_v) : "?");
	else if (obs && (!json_is_string(obs) || json_string_length(obs) > 100))
		tiny_err(c, 31, "observacoes deve ter até 100 caracteres");
	else {
		tiny_stock_move(c->r->ms, co, p, dep, tipo[0], qty);
		tiny_ok(c, json_pack("{s:[{s:{s:i, s:s, s:I, s:o}}]}", "registros", "registro",
				     "sequencia", 1, "status", "OK", "id", (json_int_t)p->id,
				     "saldoEstoque", tiny_qty_json(tiny_stock_saldo(co, p))));
	}
	json_decref(payload);
}
