/* The pedido sent to Tiny: see the header. Only what the order's neutral rows hold is sent: a
 * field the order lacks is left out, never guessed. */
#include "pedido.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A payment's kind as Tiny's forma_pagamento names it; NULL for a kind it has no word for. */
static const char *forma_of(const char *type)
{
	static const struct {
		const char *type, *forma;
	} map[] = {
	    {"credit_card", "credito"},	   {"debit_card", "debito"},
	    {"prepaid_card", "debito"},	   {"ticket", "boleto"},
	    {"bank_transfer", "deposito"}, {"pix", "pix"},
	    {"account_money", "dinheiro"}, {"digital_currency", "dinheiro"},
	};
	for (size_t i = 0; type && i < ARRAY_LEN(map); i++)
		if (strcmp(map[i].type, type) == 0)
			return map[i].forma;
	return NULL;
}

static void set_text(json_t *obj, const char *key, json_t *v)
{
	const char *s = json_string_value(v);
	if (s && *s)
		json_object_set_new(obj, key, json_string(s));
}

static void set_money(json_t *obj, const char *key, double v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%.2f", round(v * 100) / 100);
	json_object_set_new(obj, key, json_string(buf));
}

static json_t *cliente_of(json_t *order, json_t *ship)
{
	json_t *c = json_object();
	const char *receiver = json_string_value(json_object_get(ship, "receiver"));
	const char *buyer = json_string_value(json_object_get(order, "buyer"));
	char fallback[64];
	snprintf(fallback, sizeof(fallback), "Cliente %.40s",
		 json_string_value(json_object_get(order, "channel")) ?: "");
	json_object_set_new(c, "nome",
			    json_string(receiver && *receiver ? receiver
					: buyer && *buyer     ? buyer
							      : fallback));
	json_t *id = json_object_get(order, "buyerId");
	if (json_is_integer(id)) {
		char code[32];
		snprintf(code, sizeof(code), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
		json_object_set_new(c, "codigo", json_string(code));
	}
	json_object_set_new(c, "tipo_pessoa", json_string("F"));
	set_text(c, "cep", json_object_get(ship, "zip"));
	set_text(c, "cidade", json_object_get(ship, "city"));
	set_text(c, "uf", json_object_get(ship, "state"));
	json_object_set_new(c, "atualizar_cliente", json_string("N"));
	return c;
}

static json_t *itens_of(json_t *order)
{
	json_t *itens = json_array();
	size_t k;
	json_t *it;
	json_array_foreach(json_object_get(order, "items"), k, it)
	{
		json_t *item = json_pack("{s:O, s:O}", "codigo", json_object_get(it, "sku"),
					 "quantidade", json_object_get(it, "quantity"));
		set_text(item, "descricao", json_object_get(it, "title"));
		json_t *price = json_object_get(it, "price");
		if (json_is_number(price))
			json_object_set(item, "valor_unitario", price);
		json_array_append_new(itens, json_pack("{s:o}", "item", item));
	}
	return itens;
}

/* forma_pagamento (one word for all payments, "multiplas" when they differ), meio_pagamento
 * (the first payment's means) and one parcela per payment. */
static void payment_of(json_t *p, json_t *order)
{
	json_t *pays = json_object_get(order, "payments");
	const char *forma = NULL;
	bool mixed = false;
	json_t *parcelas = json_array();
	size_t k;
	json_t *y;
	json_array_foreach(pays, k, y)
	{
		const char *f = forma_of(json_string_value(json_object_get(y, "type")));
		if (f && forma && strcmp(f, forma) != 0)
			mixed = true;
		forma = forma ? forma : f;
		json_t *amount = json_object_get(y, "amount");
		if (json_is_number(amount)) {
			json_t *parcela = json_pack("{s:i}", "dias", 0);
			set_money(parcela, "valor", json_number_value(amount));
			if (f)
				json_object_set_new(parcela, "forma_pagamento", json_string(f));
			json_array_append_new(parcelas, json_pack("{s:o}", "parcela", parcela));
		}
	}
	if (forma)
		json_object_set_new(p, "forma_pagamento", json_string(mixed ? "multiplas" : forma));
	set_text(p, "meio_pagamento", json_object_get(json_array_get(pays, 0), "method"));
	if (json_array_size(parcelas))
		json_object_set_new(p, "parcelas", parcelas);
	else
		json_decref(parcelas);
}

/* valor_frete: what the buyer paid for shipping (the payments'), else the shipment's cost;
 * forma_envio and nome_transportador from the shipment's logistics. */
static void shipping_of(json_t *p, json_t *order, json_t *ship)
{
	double frete = 0;
	bool known = false;
	size_t k;
	json_t *y;
	json_array_foreach(json_object_get(order, "payments"), k, y)
	{
		json_t *s = json_object_get(y, "shipping");
		if (json_is_number(s)) {
			frete += json_number_value(s);
			known = true;
		}
	}
	json_t *cost = json_object_get(ship, "cost");
	if (!known && json_is_number(cost)) {
		frete = json_number_value(cost);
		known = true;
	}
	if (known)
		set_money(p, "valor_frete", frete);
	if (json_is_object(ship)) {
		json_object_set_new(p, "frete_por_conta", json_string("R"));
		set_text(p, "forma_envio", json_object_get(ship, "logistic"));
		set_text(p, "nome_transportador", json_object_get(ship, "mode"));
	}
}

json_t *tiny_pedido_json(json_t *order)
{
	json_t *ship = json_object_get(order, "shipment");
	json_t *p = json_object();
	json_object_set(p, "numero_pedido_ecommerce", json_object_get(order, "externalId"));
	json_object_set(p, "data_pedido", json_object_get(order, "date"));
	json_object_set_new(p, "cliente", cliente_of(order, ship));
	json_object_set_new(p, "itens", itens_of(order));
	payment_of(p, order);
	shipping_of(p, order, ship);
	return json_pack("{s:o}", "pedido", p);
}
