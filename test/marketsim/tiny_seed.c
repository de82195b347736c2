/* Tiny's seeded companies: company k is the ERP of Mercado Livre seller k, so its catalogue starts
 * with that seller's SKUs (the items' seller_custom_field, a product per variation SKU under a
 * parent) holding the stock the items show; then plain products and kits up to --tiny-products,
 * and --tiny-orders orders over the 60 days before --now. Everything comes from splitmix64 on
 * --seed; tokens come from getrandom() (secrets, not data). */
#include "rng.h"
#include "tiny.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

#define DAY_MS 86400000LL

static const char *const extra_names[] = {
    "Caneca Cerâmica 350ml", "Cabo HDMI 2m",	       "Organizador de Gavetas",
    "Fita LED 5m",	     "Suporte para Celular",   "Porta-Retrato 15x21",
    "Copo Térmico 500ml",    "Toalha de Banho",	       "Lanterna Recarregável",
    "Pen Drive 64GB",	     "Jogo de Talheres 24pç",  "Escova Dental Elétrica",
    "Tábua de Corte Bambu",  "Guarda-Chuva Automático"};
static const char *const clients[] = {
    "Ana Souza",   "Bruno Lima",     "Carla Mendes",  "Diego Ferreira",	 "Elisa Rocha",
    "Fábio Costa", "Gabriela Alves", "Henrique Dias", "Isabela Martins", "João Pereira"};
static const char *const ufs[] = {"SP", "RJ", "MG", "PR", "RS", "BA", "PE", "SC"};

static void fill_cnpj(uint64_t *rng, char out[16])
{
	int d[14];
	for (int i = 0; i < 8; i++)
		d[i] = (int)rng_below(rng, 10);
	d[8] = 0, d[9] = 0, d[10] = 0, d[11] = 1; /* the head office */
	static const int w1[] = {5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2};
	static const int w2[] = {6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2};
	int s = 0;
	for (int i = 0; i < 12; i++)
		s += d[i] * w1[i];
	d[12] = s % 11 < 2 ? 0 : 11 - s % 11;
	s = 0;
	for (int i = 0; i < 13; i++)
		s += d[i] * w2[i];
	d[13] = s % 11 < 2 ? 0 : 11 - s % 11;
	for (int i = 0; i < 14; i++)
		out[i] = (char)('0' + d[i]);
	out[14] = '\0';
}

static void new_token(char out[65])
{
	unsigned char raw[32];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		die("marketsim: getrandom failed");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

json_t *tiny_product_json(const char *nome, double preco, double custo, const char *tipo,
			  const char *classe, const char *variacao, int64_t created_ms)
{
	char created[32];
	tiny_date_fmt(created_ms, true, created, sizeof(created));
	json_t *j = json_object();
	json_object_set_new(j, "id", json_integer(0));
	json_object_set_new(j, "data_criacao", json_string(created));
	json_object_set_new(j, "nome", json_string(nome));
	json_object_set_new(j, "codigo", json_string(""));
	json_object_set_new(j, "unidade", json_string("UN"));
	json_object_set_new(j, "preco", json_real(preco));
	json_object_set_new(j, "preco_promocional", json_real(0));
	json_object_set_new(j, "ncm", json_string(""));
	json_object_set_new(j, "origem", json_string("0"));
	json_object_set_new(j, "gtin", json_string(""));
	json_object_set_new(j, "gtin_embalagem", json_string(""));
	json_object_set_new(j, "localizacao", json_string(""));
	json_object_set_new(j, "peso_liquido", json_real(0.5));
	json_object_set_new(j, "peso_bruto", json_real(0.6));
	json_object_set_new(j, "estoque_minimo", json_real(0));
	json_object_set_new(j, "estoque_maximo", json_real(0));
	json_object_set_new(j, "id_fornecedor", json_integer(0));
	json_object_set_new(j, "preco_custo", json_real(custo));
	json_object_set_new(j, "preco_custo_medio", json_real(custo));
	json_object_set_new(j, "situacao", json_string("A"));
	json_object_set_new(j, "tipo", json_string(tipo));
	json_object_set_new(j, "classe_produto", json_string(classe));
	json_object_set_new(j, "tipoVariacao", json_string(variacao));
	json_object_set_new(j, "idProdutoPai", json_integer(0));
	json_object_set_new(j, "variacoes", json_array());
	json_object_set_new(j, "kit", json_array());
	json_object_set_new(j, "mapeamentos", json_array());
	return j;
}

static double money(double v)
{
	return round(v * 100) / 100;
}

static const char *attr_value(json_t *attrs, const char *id)
{
	size_t k;
	json_t *a;
	json_array_foreach(attrs, k, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "id")), id) == 0)
			return json_string_value(json_object_get(a, "value_name"));
	}
	return NULL;
}

/* The seller's items with a seller_custom_field, while room is left. */
static void seed_linked(tiny_company_t *co, const ms_data_t *d, int room, int64_t now)
{
	for (size_t i = 0; i < d->n_items && (int)co->n_products < room; i++) {
		const ms_item_t *it = &d->items[i];
		const char *sku =
		    json_string_value(json_object_get(it->json, "seller_custom_field"));
		if (it->seller_id != co->seller_id || !sku || tiny_product_by_codigo(co, sku))
			continue;
		const char *title = json_string_value(json_object_get(it->json, "title"));
		double price = json_number_value(json_object_get(it->json, "price"));
		json_t *vars = json_object_get(it->json, "variations");
		bool has_vars = json_array_size(vars) > 0;
		if (has_vars && (int)(co->n_products + 1 + json_array_size(vars)) > room)
			continue;
		tiny_product_t *p = tiny_product_add(
		    co, sku,
		    tiny_product_json(title, price, money(price * 0.55), "P", has_vars ? "V" : "S",
				      has_vars ? "P" : "N", now - 30 * DAY_MS));
		if (!has_vars) {
			p->saldo[0] = (double)json_integer_value(
			    json_object_get(it->json, "available_quantity"));
			continue;
		}
		p->variacao = 'P';
		int64_t parent_id = p->id;
		json_t *list = json_array();
		size_t k;
		json_t *v;
		json_array_foreach(vars, k, v)
		{
			const char *vsku =
			    attr_value(json_object_get(v, "attributes"), "SELLER_SKU");
			json_t *comb =
			    json_array_get(json_object_get(v, "attribute_combinations"), 0);
			if (!vsku || tiny_product_by_codigo(co, vsku))
				continue;
			char name[192];
			snprintf(name, sizeof(name), "%s - %s", title,
				 json_string_value(json_object_get(comb, "value_name")));
			json_t *grade =
			    json_pack("{s:O}", json_string_value(json_object_get(comb, "name")),
				      json_object_get(comb, "value_name"));
			json_t *cj = tiny_product_json(name, price, money(price * 0.55), "P", "V",
						       "V", now - 30 * DAY_MS);
			json_object_set_new(cj, "idProdutoPai", json_integer(parent_id));
			json_object_set(cj, "grade", grade);
			tiny_product_t *c = tiny_product_add(co, vsku, cj);
			c->variacao = 'V';
			c->parent_id = parent_id;
			c->saldo[0] =
			    (double)json_integer_value(json_object_get(v, "available_quantity"));
			json_array_append_new(list,
					      json_pack("{s:{s:I, s:s, s:f, s:o}}", "variacao",
							"id", (json_int_t)c->id, "codigo", vsku,
							"preco", price, "grade", grade));
		}
		/* p may have moved with the array's growth */
		json_object_set_new(tiny_product_find(co, parent_id)->json, "variacoes", list);
	}
}

static void seed_extras(tiny_company_t *co, uint64_t *rng, int room, int64_t now)
{
	size_t first_plain = co->n_products, kits = 0;
	while ((int)co->n_products < room) {
		size_t n = co->n_products;
		size_t plain = n - first_plain - kits;
		char codigo[40];
		/* One kit early, then about one in eight. */
		if (plain >= 4 && (kits == 0 || rng_unit(rng) < 0.12)) {
			/* A kit of two different plain extras. */
			tiny_product_t *a =
			    &co->products[first_plain + rng_below(rng, n - first_plain)];
			tiny_product_t *b =
			    &co->products[first_plain + rng_below(rng, n - first_plain)];
			if (a == b || a->tipo == 'K' || b->tipo == 'K')
				continue;
			int64_t ids[2] = {a->id, b->id};
			double qty[2] = {(double)rng_range(rng, 1, 3), 1};
			char name[256];
			snprintf(name, sizeof(name), "Kit %s + %s",
				 json_string_value(json_object_get(a->json, "nome")),
				 json_string_value(json_object_get(b->json, "nome")));
			double price =
			    money(json_number_value(json_object_get(a->json, "preco")) * qty[0] +
				  json_number_value(json_object_get(b->json, "preco")) * 0.9);
			json_t *kit = json_array();
			for (int k = 0; k < 2; k++)
				json_array_append_new(
				    kit, json_pack("{s:{s:I, s:o}}", "item", "id_produto",
						   (json_int_t)ids[k], "quantidade",
						   tiny_qty_json(qty[k])));
			json_t *j = tiny_product_json(name, price, money(price * 0.5), "K", "K",
						      "N", now - 20 * DAY_MS);
			json_object_set_new(j, "kit", kit);
			snprintf(codigo, sizeof(codigo), "KIT-%zu-%05zu", co->ix + 1, n + 1);
			tiny_product_t *p = tiny_product_add(co, codigo, j);
			p->tipo = 'K';
			p->n_kit = 2;
			for (int k = 0; k < 2; k++) {
				p->kit_id[k] = ids[k];
				p->kit_qty[k] = qty[k];
			}
			kits++;
			continue;
		}
		const char *base = extra_names[rng_below(rng, ARRAY_LEN(extra_names))];
		double price = floor((double)rng_range(rng, 15, 250)) + 0.9;
		snprintf(codigo, sizeof(codigo), "TNY-%zu-%05zu", co->ix + 1, n + 1);
		tiny_product_t *p = tiny_product_add(
		    co, codigo,
		    tiny_product_json(base, price, money(price * 0.5), "P", "S", "N",
				      now - (int64_t)rng_range(rng, 30, 400) * DAY_MS));
		p->saldo[0] = (double)rng_range(rng, 0, 200);
		p->saldo[1] = rng_unit(rng) < 0.3 ? (double)rng_range(rng, 1, 20) : 0;
		p->saldo[2] = rng_unit(rng) < 0.1 ? (double)rng_range(rng, 1, 3) : 0;
	}
}

static json_t *client_json(uint64_t *rng)
{
	const char *name = clients[rng_below(rng, ARRAY_LEN(clients))];
	char cpf[16];
	snprintf(cpf, sizeof(cpf), "%011llu", (unsigned long long)rng_below(rng, 99999999999ULL));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "nome",
			 name, "codigo", "", "tipo_pessoa", "F", "cpf_cnpj", cpf, "ie", "",
			 "endereco", "Rua das Flores", "numero", "100", "complemento", "", "bairro",
			 "Centro", "cep", "01310-000", "cidade", "São Paulo", "uf",
			 ufs[rng_below(rng, ARRAY_LEN(ufs))]);
}

static void seed_orders(ms_t *ms, tiny_company_t *co, uint64_t *rng, int n, int64_t now)
{
	static const char *const flow[] = {"entregue", "entregue",  "enviado",	"faturado",
					   "aprovado", "em_aberto", "cancelado"};
	for (int k = 0; k < n && co->n_products > 0; k++) {
		tiny_line_t lines[2];
		double prices[2];
		size_t nl = 0;
		for (int tries = 0; tries < 8 && nl < (rng_unit(rng) < 0.8 ? 1u : 2u); tries++) {
			tiny_product_t *p = &co->products[rng_below(rng, co->n_products)];
			if (p->variacao == 'P' || (nl && lines[0].product_id == p->id))
				continue;
			lines[nl] = (tiny_line_t){p->id, (double)rng_range(rng, 1, 2)};
			prices[nl++] = json_number_value(json_object_get(p->json, "preco"));
		}
		if (!nl)
			continue;
		char numero[40] = "";
		if (rng_unit(rng) < 0.7)
			snprintf(numero, sizeof(numero), "%lld",
				 (long long)(2000009000001LL + (int64_t)co->ix * 1000000 + k));
		int64_t created = now - (int64_t)rng_below(rng, 60 * DAY_MS);
		int64_t moved = created + (int64_t)rng_below(rng, (uint64_t)(now - created) + 1);
		tiny_order_t *o = tiny_order_create(
		    co, client_json(rng), lines, prices, nl, numero, created,
		    rng_unit(rng) < 0.5 ? 0 : floor((double)rng_range(rng, 15, 40)));
		/* The seeded warehouse already shipped what invoiced orders took: their invoice
		 * is written without moving stock again. */
		const char *to = flow[rng_below(rng, ARRAY_LEN(flow))];
		bool invoiced = strcmp(to, "entregue") == 0 || strcmp(to, "enviado") == 0 ||
				strcmp(to, "faturado") == 0;
		char msg[128];
		int code;
		if (invoiced) {
			for (size_t l = 0; l < o->n_lines; l++) {
				tiny_product_t *p = tiny_product_find(co, o->lines[l].product_id);
				if (p->tipo == 'K')
					for (int c = 0; c < p->n_kit; c++)
						tiny_product_find(co, p->kit_id[c])->saldo[0] +=
						    p->kit_qty[c] * o->lines[l].qty;
				else
					p->saldo[0] += o->lines[l].qty;
			}
			tiny_order_invoice(ms, co, o, "NFe", moved, &code, msg, sizeof(msg));
		}
		if (strcmp(to, "faturado") != 0)
			tiny_order_set_situacao(ms, co, o, to, moved, msg, sizeof(msg));
	}
}

void tiny_seed(tiny_t *t, const ms_options_t *o, const ms_data_t *d)
{
	uint64_t rng = o->seed ^ 0x7e1a7e1aULL;
	t->n_companies = (size_t)o->tiny_companies;
	t->companies = xcalloc(t->n_companies ? t->n_companies : 1, sizeof(*t->companies));
	const char *plans = o->tiny_plan[0] ? o->tiny_plan : "evoluir";
	const char *plan_at = plans;
	for (size_t c = 0; c < t->n_companies; c++) {
		tiny_company_t *co = &t->companies[c];
		co->ix = c;
		co->id = 700001 + (int64_t)c;
		co->by_codigo = strmap_new();
		co->by_ecommerce = strmap_new();
		co->stock_type = 'F';
		co->id_ecommerce = 9001 + (int64_t)c;
		const ms_seller_t *s = c < d->n_sellers ? &d->sellers[c] : NULL;
		co->seller_id = s ? s->id : 0;
		snprintf(co->name, sizeof(co->name), "%s Comércio Ltda",
			 s ? s->nickname : "Empresa Sem Loja");
		fill_cnpj(&rng, co->cnpj);
		new_token(co->token);
		strmap_put(t->by_token, co->token, (void *)(uintptr_t)(c + 1));
		/* plans used in turn: "crescer,evoluir" */
		const char *end = strchr(plan_at, ',');
		size_t len = end ? (size_t)(end - plan_at) : strlen(plan_at);
		char plan[24];
		snprintf(plan, sizeof(plan), "%.*s", (int)(len < sizeof(plan) ? len : 0), plan_at);
		plan_at = end ? end + 1 : plans;
		tiny_company_set_plan(co, plan, o->tiny_limit);
		snprintf(co->webhook_url, sizeof(co->webhook_url), "%s", o->tiny_webhook_url);

		seed_linked(co, d, o->tiny_products, d->now_ms);
		seed_extras(co, &rng, o->tiny_products, d->now_ms);
		seed_orders(t->ms, co, &rng, o->tiny_orders, d->now_ms);
	}
}
