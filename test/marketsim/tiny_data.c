/* Tiny's store: companies with their products, orders and invoices (ids are a base, the company
 * and the index, so a lookup is arithmetic and never crosses companies), the stock arithmetic
 * (deposits, kits from their components, parents from their variations, reservations of open
 * orders) and the changes that the API and the control API share, each firing its webhooks. */
#include "tiny.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

const char *const tiny_deposit_names[TINY_DEPOSITS] = {"Geral", "Loja Física", "Avarias"};
const bool tiny_deposit_ignored[TINY_DEPOSITS] = {false, false, true};

/* ---- plans ---- */

static const struct plan {
	const char *name;
	int limit, batch;
} plans[] = {
    {"comecar", 0, 0},	       {"crescer", 30, 5}, {"evoluir", 60, 5},
    {"potencializar", 120, 5}, {"legado", 20, 5},
};

bool tiny_plan_known(const char *plan)
{
	for (size_t i = 0; i < ARRAY_LEN(plans); i++)
		if (strcmp(plans[i].name, plan) == 0)
			return true;
	return false;
}

void tiny_company_set_plan(tiny_company_t *co, const char *plan, int limit_override)
{
	const struct plan *pl = &plans[2];
	for (size_t i = 0; i < ARRAY_LEN(plans); i++)
		if (strcmp(plans[i].name, plan) == 0)
			pl = &plans[i];
	snprintf(co->plan, sizeof(co->plan), "%s", pl->name);
	co->limit = limit_override > 0 ? limit_override : pl->limit;
	co->batch_limit = pl->batch;
}

/* ---- the store ---- */

tiny_t *tiny_new(ms_t *ms)
{
	tiny_t *t = xcalloc(1, sizeof(*t));
	t->ms = ms;
	t->by_token = strmap_new();
	t->rng = ms->opt.seed ^ 0x7171717171ULL;
	t->webhooks = tiny_webhooks_new(ms);
	tiny_seed(t, &ms->opt, ms->data);
	return t;
}

void tiny_free(tiny_t *t)
{
	if (!t)
		return;
	tiny_pending_free_all(t);
	tiny_webhooks_free(t->webhooks);
	for (size_t c = 0; c < t->n_companies; c++) {
		tiny_company_t *co = &t->companies[c];
		for (size_t i = 0; i < co->n_products; i++)
			json_decref(co->products[i].json);
		for (size_t i = 0; i < co->n_orders; i++) {
			json_decref(co->orders[i].json);
			free(co->orders[i].lines);
		}
		for (size_t i = 0; i < co->n_invoices; i++)
			json_decref(co->invoices[i].json);
		free(co->products);
		free(co->orders);
		free(co->invoices);
		strmap_free(co->by_codigo, NULL);
		strmap_free(co->by_ecommerce, NULL);
	}
	free(t->companies);
	strmap_free(t->by_token, NULL);
	free(t);
}

tiny_company_t *tiny_company_by_token(tiny_t *t, const char *token)
{
	size_t ix = token ? (size_t)(uintptr_t)strmap_get(t->by_token, token) : 0;
	return ix ? &t->companies[ix - 1] : NULL;
}

tiny_company_t *tiny_company_find(tiny_t *t, int64_t id)
{
	for (size_t i = 0; i < t->n_companies; i++)
		if (t->companies[i].id == id)
			return &t->companies[i];
	return NULL;
}

/* The index of id in company co's range of base, or -1. */
static int64_t local_index(const tiny_company_t *co, int64_t base, int64_t id, size_t n)
{
	int64_t first = base + (int64_t)co->ix * TINY_ID_SPAN;
	if (id < first || id - first >= (int64_t)n)
		return -1;
	return id - first;
}

tiny_product_t *tiny_product_find(tiny_company_t *co, int64_t id)
{
	int64_t i = local_index(co, TINY_PRODUCT_BASE, id, co->n_products);
	return i < 0 ? NULL : &co->products[i];
}

tiny_product_t *tiny_product_by_codigo(tiny_company_t *co, const char *codigo)
{
	size_t ix = codigo ? (size_t)(uintptr_t)strmap_get(co->by_codigo, codigo) : 0;
	return ix ? &co->products[ix - 1] : NULL;
}

tiny_order_t *tiny_order_find(tiny_company_t *co, int64_t id)
{
	int64_t i = local_index(co, TINY_ORDER_BASE, id, co->n_orders);
	return i < 0 ? NULL : &co->orders[i];
}

tiny_order_t *tiny_order_by_ecommerce(tiny_company_t *co, const char *numero)
{
	size_t ix = numero && *numero ? (size_t)(uintptr_t)strmap_get(co->by_ecommerce, numero) : 0;
	return ix ? &co->orders[ix - 1] : NULL;
}

tiny_invoice_t *tiny_invoice_find(tiny_company_t *co, int64_t id)
{
	int64_t i = local_index(co, TINY_INVOICE_BASE, id, co->n_invoices);
	return i < 0 ? NULL : &co->invoices[i];
}

tiny_order_t *tiny_order_find_any(tiny_t *t, int64_t id, tiny_company_t **co)
{
	for (size_t c = 0; c < t->n_companies; c++) {
		tiny_order_t *o = tiny_order_find(&t->companies[c], id);
		if (o) {
			*co = &t->companies[c];
			return o;
		}
	}
	return NULL;
}

tiny_product_t *tiny_product_add(tiny_company_t *co, const char *codigo, json_t *json)
{
	if (co->n_products == co->cap_products) {
		co->cap_products = co->cap_products ? co->cap_products * 2 : 64;
		co->products = xrealloc(co->products, co->cap_products * sizeof(*co->products));
	}
	size_t i = co->n_products++;
	tiny_product_t *p = &co->products[i];
	memset(p, 0, sizeof(*p));
	p->id = TINY_PRODUCT_BASE + (int64_t)co->ix * TINY_ID_SPAN + (int64_t)i;
	snprintf(p->codigo, sizeof(p->codigo), "%s", codigo);
	p->tipo = 'P';
	p->variacao = 'N';
	p->json = json;
	json_object_set_new(json, "id", json_integer(p->id));
	json_object_set_new(json, "codigo", json_string(p->codigo));
	strmap_put(co->by_codigo, p->codigo, (void *)(uintptr_t)(i + 1));
	return p;
}

tiny_order_t *tiny_order_add(tiny_company_t *co)
{
	if (co->n_orders == co->cap_orders) {
		co->cap_orders = co->cap_orders ? co->cap_orders * 2 : 64;
		co->orders = xrealloc(co->orders, co->cap_orders * sizeof(*co->orders));
	}
	size_t i = co->n_orders++;
	tiny_order_t *o = &co->orders[i];
	memset(o, 0, sizeof(*o));
	o->id = TINY_ORDER_BASE + (int64_t)co->ix * TINY_ID_SPAN + (int64_t)i;
	o->numero = (int64_t)i + 1;
	snprintf(o->situacao, sizeof(o->situacao), "em_aberto");
	return o;
}

/* ---- stock ---- */

int tiny_deposit_find(const char *name)
{
	for (int i = 0; name && i < TINY_DEPOSITS; i++)
		if (strcmp(tiny_deposit_names[i], name) == 0)
			return i;
	return -1;
}

bool tiny_stock_movable(const tiny_product_t *p)
{
	return p->tipo != 'K' && p->variacao != 'P';
}

/* A kit's stock is how many whole kits its components make; a parent's is its variations'. */
double tiny_stock_deposit(tiny_company_t *co, const tiny_product_t *p, int deposit)
{
	if (p->tipo == 'K') {
		double kits = INFINITY;
		for (int k = 0; k < p->n_kit; k++) {
			const tiny_product_t *c = tiny_product_find(co, p->kit_id[k]);
			double n =
			    c ? floor(tiny_stock_deposit(co, c, deposit) / p->kit_qty[k]) : 0;
			kits = n < kits ? n : kits;
		}
		return isfinite(kits) && kits > 0 ? kits : 0;
	}
	if (p->variacao == 'P') {
		double sum = 0;
		for (size_t i = 0; i < co->n_products; i++)
			if (co->products[i].parent_id == p->id)
				sum += co->products[i].saldo[deposit];
		return sum;
	}
	return p->saldo[deposit];
}

double tiny_stock_saldo(tiny_company_t *co, const tiny_product_t *p)
{
	double sum = 0;
	for (int d = 0; d < TINY_DEPOSITS; d++)
		if (!tiny_deposit_ignored[d])
			sum += tiny_stock_deposit(co, p, d);
	return sum;
}

static bool reserving(const tiny_order_t *o)
{
	return !o->stock_launched && strcmp(o->situacao, "cancelado") != 0;
}

/* How many units of p one unit of q holds (q itself, q's kit components, q's variations). */
static double units_in(tiny_company_t *co, const tiny_product_t *p, const tiny_product_t *q)
{
	if (p->id == q->id)
		return 1;
	if (q->tipo == 'K')
		for (int k = 0; k < q->n_kit; k++)
			if (q->kit_id[k] == p->id)
				return q->kit_qty[k];
	(void)co;
	return 0;
}

double tiny_stock_reserved(tiny_company_t *co, const tiny_product_t *p)
{
	(void)co;
	return p->reserved;
}

/* An order starts (sign 1) or stops (-1) holding its units: each line's product, a kit's
 * components, a variation's parent. Kept as it changes, so reading stock never scans orders. */
static void reserve(tiny_company_t *co, const tiny_order_t *o, double sign)
{
	for (size_t l = 0; l < o->n_lines; l++) {
		tiny_product_t *q = tiny_product_find(co, o->lines[l].product_id);
		if (!q)
			continue;
		double n = sign * o->lines[l].qty;
		q->reserved += n;
		for (int k = 0; q->tipo == 'K' && k < q->n_kit; k++) {
			tiny_product_t *c = tiny_product_find(co, q->kit_id[k]);
			if (c)
				c->reserved += q->kit_qty[k] * n;
		}
		tiny_product_t *parent =
		    q->variacao == 'V' ? tiny_product_find(co, q->parent_id) : NULL;
		if (parent)
			parent->reserved += n;
	}
}

/* The product, its parent and every kit it is part of changed: one webhook each. */
static void stock_webhooks(ms_t *ms, tiny_company_t *co, const tiny_product_t *p)
{
	tiny_webhook_stock(ms, co, p);
	const tiny_product_t *parent =
	    p->variacao == 'V' ? tiny_product_find(co, p->parent_id) : NULL;
	if (parent)
		tiny_webhook_stock(ms, co, parent);
	for (size_t i = 0; i < co->n_products; i++) {
		const tiny_product_t *k = &co->products[i];
		if (k->tipo == 'K' && units_in(co, p, k) > 0)
			tiny_webhook_stock(ms, co, k);
	}
}

void tiny_stock_move(ms_t *ms, tiny_company_t *co, tiny_product_t *p, int deposit, char tipo,
		     double qty)
{
	double *s = &p->saldo[deposit];
	double before = *s;
	*s = tipo == 'B' ? qty : tipo == 'E' ? *s + qty : *s - qty;
	if (*s != before)
		stock_webhooks(ms, co, p);
}

void tiny_order_stock_touched(ms_t *ms, tiny_company_t *co, const tiny_order_t *o, bool physical)
{
	if (!physical && co->stock_type != 'D')
		return;
	for (size_t l = 0; l < o->n_lines; l++) {
		tiny_product_t *q = tiny_product_find(co, o->lines[l].product_id);
		if (!q)
			continue;
		if (q->tipo == 'K')
			for (int k = 0; k < q->n_kit; k++) {
				tiny_product_t *c = tiny_product_find(co, q->kit_id[k]);
				if (c)
					stock_webhooks(ms, co, c);
			}
		else
			stock_webhooks(ms, co, q);
	}
}

/* ---- order situations ---- */

static const struct situacao {
	const char *code, *label;
} situacoes[] = {
    {"em_aberto", "Em aberto"},
    {"aprovado", "Aprovado"},
    {"preparando_envio", "Preparando envio"},
    {"faturado", "Faturado"},
    {"pronto_envio", "Pronto para envio"},
    {"enviado", "Enviado"},
    {"entregue", "Entregue"},
    {"nao_entregue", "Não entregue"},
    {"cancelado", "Cancelado"},
    {"dados_incompletos", "Dados incompletos"},
};

bool tiny_situacao_known(const char *code)
{
	return tiny_situacao_code(code) != NULL;
}

const char *tiny_situacao_label(const char *code)
{
	for (size_t i = 0; i < ARRAY_LEN(situacoes); i++)
		if (strcmp(situacoes[i].code, code) == 0)
			return situacoes[i].label;
	return code;
}

const char *tiny_situacao_code(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_LEN(situacoes); i++)
		if (strcmp(situacoes[i].code, s) == 0 || strcasecmp(situacoes[i].label, s) == 0)
			return situacoes[i].code;
	return NULL;
}

bool tiny_order_set_situacao(ms_t *ms, tiny_company_t *co, tiny_order_t *o, const char *code,
			     int64_t at_ms, char *msg, size_t msglen)
{
	if (strcmp(o->situacao, "cancelado") == 0 && strcmp(code, "cancelado") != 0) {
		snprintf(msg, msglen, "Pedido cancelado não pode ter a situação alterada");
		return false;
	}
	if (strcmp(code, "faturado") == 0 && !o->invoice_id) {
		snprintf(msg, msglen, "Para faturar o pedido gere a nota fiscal");
		return false;
	}
	if (strcmp(o->situacao, code) == 0)
		return true;
	bool was_reserving = reserving(o);
	snprintf(o->situacao, sizeof(o->situacao), "%s", code);
	o->updated_ms = at_ms;
	json_object_set_new(o->json, "situacao", json_string(tiny_situacao_label(code)));
	char when[24];
	tiny_date_fmt(o->updated_ms, false, when, sizeof(when));
	if (strcmp(code, "enviado") == 0)
		json_object_set_new(o->json, "data_envio", json_string(when));
	if (strcmp(code, "entregue") == 0)
		json_object_set_new(o->json, "data_entrega", json_string(when));
	tiny_webhook_order(ms, co, o);
	if (was_reserving != reserving(o)) {
		reserve(co, o, was_reserving ? -1 : 1);
		tiny_order_stock_touched(ms, co, o, false);
	}
	return true;
}

/* ---- invoices ---- */

/* Mod-11 check digit of an NF-e access key's first 43 digits. */
static int key_digit(const char *k)
{
	int sum = 0, w = 2;
	for (int i = 42; i >= 0; i--) {
		sum += (k[i] - '0') * w;
		w = w == 9 ? 2 : w + 1;
	}
	int r = sum % 11;
	return r < 2 ? 0 : 11 - r;
}

tiny_invoice_t *tiny_order_invoice(ms_t *ms, tiny_company_t *co, tiny_order_t *o,
				   const char *modelo, int64_t at_ms, int *codigo_erro, char *msg,
				   size_t msglen)
{
	if (modelo && strcmp(modelo, "NFe") != 0 && strcmp(modelo, "NFCe") != 0) {
		*codigo_erro = 31;
		snprintf(msg, msglen, "modelo deve ser NFe ou NFCe");
		return NULL;
	}
	if (o->invoice_id) {
		*codigo_erro = 30;
		snprintf(msg, msglen, "O pedido já possui nota fiscal (id %lld)",
			 (long long)o->invoice_id);
		return NULL;
	}
	if (strcmp(o->situacao, "cancelado") == 0 ||
	    strcmp(o->situacao, "dados_incompletos") == 0) {
		*codigo_erro = 31;
		snprintf(msg, msglen, "Pedido na situação %s não pode ser faturado",
			 tiny_situacao_label(o->situacao));
		return NULL;
	}
	if (co->n_invoices == co->cap_invoices) {
		co->cap_invoices = co->cap_invoices ? co->cap_invoices * 2 : 64;
		co->invoices = xrealloc(co->invoices, co->cap_invoices * sizeof(*co->invoices));
	}
	size_t i = co->n_invoices++;
	tiny_invoice_t *inv = &co->invoices[i];
	inv->id = TINY_INVOICE_BASE + (int64_t)co->ix * TINY_ID_SPAN + (int64_t)i;
	inv->order_id = o->id;
	inv->numero = 1000 + (int64_t)i;
	int64_t now = at_ms;
	char date[24], key[80], numero[16];
	tiny_date_fmt(now, false, date, sizeof(date));
	time_t tt = (time_t)((now - 3 * 3600000LL) / 1000);
	struct tm tm;
	gmtime_r(&tt, &tm);
	bool nfce = modelo && strcmp(modelo, "NFCe") == 0;
	snprintf(key, sizeof(key), "35%02d%02d%.14s%.2s001%09lld1%08lld", tm.tm_year % 100,
		 tm.tm_mon + 1, co->cnpj, nfce ? "65" : "55", (long long)(inv->numero % 1000000000),
		 (long long)(inv->id % 100000000));
	key[43] = (char)('0' + key_digit(key));
	key[44] = '\0';
	snprintf(numero, sizeof(numero), "%06lld", (long long)inv->numero);

	json_t *items = json_array();
	size_t k;
	json_t *line;
	json_array_foreach(json_object_get(o->json, "itens"), k, line)
	{
		json_t *it = json_object_get(line, "item");
		double q = json_number_value(json_object_get(it, "quantidade"));
		double v = json_number_value(json_object_get(it, "valor_unitario"));
		json_array_append_new(
		    items,
		    json_pack("{s:{s:O, s:O, s:O, s:O, s:f, s:f, s:f, s:s}}", "item", "id_produto",
			      json_object_get(it, "id_produto"), "codigo",
			      json_object_get(it, "codigo"), "descricao",
			      json_object_get(it, "descricao"), "unidade",
			      json_object_get(it, "unidade"), "quantidade", q, "valor_unitario", v,
			      "valor_total", round(q * v * 100) / 100, "cfop", "5102"));
	}
	json_t *j = json_object();
	json_object_set_new(j, "id", json_integer(inv->id));
	json_object_set_new(j, "tipo_nota", json_string("S"));
	json_object_set_new(j, "modelo", json_string(nfce ? "NFCe" : "NFe"));
	json_object_set_new(j, "natureza_operacao", json_string("Venda de mercadorias"));
	json_object_set_new(j, "serie", json_string("1"));
	json_object_set_new(j, "numero", json_string(numero));
	json_object_set(j, "numero_ecommerce", json_object_get(o->json, "numero_ecommerce"));
	json_object_set_new(j, "id_pedido", json_integer(o->id));
	json_object_set_new(j, "data_emissao", json_string(date));
	json_object_set_new(j, "data_saida", json_string(date));
	json_object_set(j, "cliente", json_object_get(o->json, "cliente"));
	json_object_set_new(j, "itens", items);
	json_object_set(j, "valor_produtos", json_object_get(o->json, "total_produtos"));
	json_object_set(j, "valor_frete", json_object_get(o->json, "valor_frete"));
	json_object_set(j, "valor_nota", json_object_get(o->json, "total_pedido"));
	json_object_set_new(j, "situacao", json_string("6"));
	json_object_set_new(j, "descricao_situacao", json_string("Emitida DANFE"));
	json_object_set_new(j, "chave_acesso", json_string(key));
	inv->json = j;

	o->invoice_id = inv->id;
	json_object_set_new(o->json, "id_nota_fiscal", json_integer(inv->id));
	json_object_set_new(o->json, "data_faturamento", json_string(date));
	/* The invoice takes the units out of the default deposit ("lançar estoque"). */
	if (reserving(o))
		reserve(co, o, -1);
	o->stock_launched = true;
	for (size_t l = 0; l < o->n_lines; l++) {
		tiny_product_t *q = tiny_product_find(co, o->lines[l].product_id);
		if (q && q->tipo == 'K')
			for (int c = 0; c < q->n_kit; c++) {
				tiny_product_t *comp = tiny_product_find(co, q->kit_id[c]);
				if (comp)
					comp->saldo[0] -= q->kit_qty[c] * o->lines[l].qty;
			}
		else if (q && tiny_stock_movable(q))
			q->saldo[0] -= o->lines[l].qty;
	}
	char ignored[8];
	tiny_order_set_situacao(ms, co, o, "faturado", at_ms, ignored, sizeof(ignored));
	tiny_order_stock_touched(ms, co, o, true);
	return inv;
}

/* ---- views ---- */

json_t *tiny_qty_json(double q)
{
	return json_real(round(q * 1000) / 1000);
}

void tiny_date_fmt(int64_t wall_ms, bool with_time, char *buf, size_t size)
{
	time_t t = (time_t)((wall_ms - 3 * 3600000LL) / 1000); /* Brazil: UTC-3 */
	struct tm tm;
	gmtime_r(&t, &tm);
	if (with_time)
		snprintf(buf, size, "%02d/%02d/%04d %02d:%02d:%02d", tm.tm_mday, tm.tm_mon + 1,
			 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(buf, size, "%02d/%02d/%04d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900);
}

json_t *tiny_product_view(tiny_company_t *co, const tiny_product_t *p)
{
	(void)co;
	return json_incref(p->json);
}

json_t *tiny_stock_view(tiny_company_t *co, const tiny_product_t *p)
{
	json_t *deps = json_array();
	for (int d = 0; d < TINY_DEPOSITS; d++)
		json_array_append_new(
		    deps,
		    json_pack("{s:{s:s, s:s, s:o, s:s}}", "deposito", "nome", tiny_deposit_names[d],
			      "desconsiderar", tiny_deposit_ignored[d] ? "S" : "N", "saldo",
			      tiny_qty_json(tiny_stock_deposit(co, p, d)), "empresa", co->name));
	return json_pack("{s:I, s:O, s:s, s:O, s:o, s:o, s:o}", "id", (json_int_t)p->id, "nome",
			 json_object_get(p->json, "nome"), "codigo", p->codigo, "unidade",
			 json_object_get(p->json, "unidade"), "saldo",
			 tiny_qty_json(tiny_stock_saldo(co, p)), "saldoReservado",
			 tiny_qty_json(tiny_stock_reserved(co, p)), "depositos", deps);
}

json_t *tiny_company_summary(const tiny_company_t *co)
{
	return json_pack(
	    "{s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:s?, s:s#}", "id", (json_int_t)co->id,
	    "name", co->name, "cnpj", co->cnpj, "token", co->token, "plan", co->plan, "limit",
	    co->limit, "batchLimit", co->batch_limit, "sellerId", (json_int_t)co->seller_id,
	    "idEcommerce", (json_int_t)co->id_ecommerce, "webhookUrl",
	    co->webhook_url[0] ? co->webhook_url : NULL, "stockType", &co->stock_type, (int)1);
}

json_t *tiny_company_truth(tiny_company_t *co)
{
	json_t *c = tiny_company_summary(co);
	json_t *products = json_array(), *orders = json_array(), *invoices = json_array();
	for (size_t i = 0; i < co->n_products; i++) {
		tiny_product_t *p = &co->products[i];
		json_t *deps = json_object();
		for (int d = 0; d < TINY_DEPOSITS; d++)
			json_object_set_new(deps, tiny_deposit_names[d],
					    tiny_qty_json(tiny_stock_deposit(co, p, d)));
		json_t *v =
		    json_pack("{s:I, s:s, s:O, s:s#, s:s#, s:o, s:o, s:o}", "id", (json_int_t)p->id,
			      "codigo", p->codigo, "nome", json_object_get(p->json, "nome"), "tipo",
			      &p->tipo, (int)1, "variacao", &p->variacao, (int)1, "saldo",
			      tiny_qty_json(tiny_stock_saldo(co, p)), "reservado",
			      tiny_qty_json(tiny_stock_reserved(co, p)), "depositos", deps);
		if (p->parent_id)
			json_object_set_new(v, "parentId", json_integer(p->parent_id));
		if (p->tipo == 'K') {
			json_t *kit = json_array();
			for (int k = 0; k < p->n_kit; k++)
				json_array_append_new(
				    kit,
				    json_pack("{s:I, s:s, s:o}", "id", (json_int_t)p->kit_id[k],
					      "codigo", tiny_product_find(co, p->kit_id[k])->codigo,
					      "quantidade", tiny_qty_json(p->kit_qty[k])));
			json_object_set_new(v, "kit", kit);
		}
		json_array_append_new(products, v);
	}
	for (size_t i = 0; i < co->n_orders; i++) {
		tiny_order_t *o = &co->orders[i];
		json_t *lines = json_array();
		for (size_t l = 0; l < o->n_lines; l++)
			json_array_append_new(lines, json_pack("{s:I, s:o}", "idProduto",
							       (json_int_t)o->lines[l].product_id,
							       "quantidade",
							       tiny_qty_json(o->lines[l].qty)));
		json_array_append_new(
		    orders,
		    json_pack("{s:I, s:I, s:s?, s:s, s:I, s:b, s:o, s:I}", "id", (json_int_t)o->id,
			      "numero", (json_int_t)o->numero, "numeroEcommerce",
			      o->numero_ecommerce[0] ? o->numero_ecommerce : NULL, "situacao",
			      o->situacao, "idNotaFiscal", (json_int_t)o->invoice_id,
			      "stockLaunched", o->stock_launched, "itens", lines, "createdMs",
			      (json_int_t)o->created_ms));
	}
	for (size_t i = 0; i < co->n_invoices; i++) {
		tiny_invoice_t *inv = &co->invoices[i];
		json_array_append_new(
		    invoices, json_pack("{s:I, s:I, s:O, s:O, s:O}", "id", (json_int_t)inv->id,
					"idPedido", (json_int_t)inv->order_id, "numero",
					json_object_get(inv->json, "numero"), "serie",
					json_object_get(inv->json, "serie"), "chaveAcesso",
					json_object_get(inv->json, "chave_acesso")));
	}
	json_object_set_new(c, "deposits",
			    json_pack("[s, s, s]", tiny_deposit_names[0], tiny_deposit_names[1],
				      tiny_deposit_names[2]));
	json_object_set_new(c, "products", products);
	json_object_set_new(c, "orders", orders);
	json_object_set_new(c, "invoices", invoices);
	return c;
}

/* ---- orders ---- */

tiny_order_t *tiny_order_create(tiny_company_t *co, json_t *cliente, const tiny_line_t *lines,
				const double *prices, size_t n, const char *numero_ecommerce,
				int64_t created_ms, double frete)
{
	tiny_order_t *o = tiny_order_add(co);
	o->created_ms = o->updated_ms = created_ms;
	snprintf(o->numero_ecommerce, sizeof(o->numero_ecommerce), "%s", numero_ecommerce);
	if (*numero_ecommerce)
		strmap_put(co->by_ecommerce, o->numero_ecommerce,
			   (void *)(uintptr_t)(size_t)(o - co->orders + 1));
	o->lines = xcalloc(n ? n : 1, sizeof(*o->lines));
	o->n_lines = n;
	json_t *items = json_array();
	double total = 0;
	for (size_t i = 0; i < n; i++) {
		o->lines[i] = lines[i];
		const tiny_product_t *p = tiny_product_find(co, lines[i].product_id);
		total += lines[i].qty * prices[i];
		json_array_append_new(
		    items, json_pack("{s:{s:I, s:s, s:O, s:O, s:o, s:f}}", "item", "id_produto",
				     (json_int_t)p->id, "codigo", p->codigo, "descricao",
				     json_object_get(p->json, "nome"), "unidade",
				     json_object_get(p->json, "unidade"), "quantidade",
				     tiny_qty_json(lines[i].qty), "valor_unitario", prices[i]));
	}
	reserve(co, o, 1); /* a new order is open */
	total = round(total * 100) / 100;
	char date[24];
	tiny_date_fmt(created_ms, false, date, sizeof(date));
	json_t *j = json_object();
	json_object_set_new(j, "id", json_integer(o->id));
	json_object_set_new(j, "numero", json_integer(o->numero));
	json_object_set_new(j, "numero_ecommerce",
			    *numero_ecommerce ? json_string(numero_ecommerce) : json_null());
	json_object_set_new(j, "data_pedido", json_string(date));
	json_object_set_new(j, "data_prevista", json_string(date));
	json_object_set_new(j, "data_faturamento", json_null());
	json_object_set_new(j, "data_envio", json_null());
	json_object_set_new(j, "data_entrega", json_null());
	json_object_set_new(j, "cliente", cliente);
	json_object_set_new(j, "itens", items);
	json_object_set_new(j, "parcelas", json_array());
	json_object_set_new(j, "marcadores", json_array());
	json_object_set_new(j, "condicao_pagamento", json_string(""));
	json_object_set_new(j, "forma_pagamento", json_string("multiplas"));
	json_object_set_new(j, "meio_pagamento", json_null());
	json_object_set_new(j, "nome_transportador", json_string(""));
	json_object_set_new(j, "frete_por_conta", json_string("R"));
	json_object_set_new(j, "valor_frete", json_real(frete));
	json_object_set_new(j, "valor_desconto", json_real(0));
	json_object_set_new(j, "outras_despesas", json_real(0));
	json_object_set_new(j, "total_produtos", json_real(total));
	json_object_set_new(j, "total_pedido", json_real(round((total + frete) * 100) / 100));
	json_object_set_new(j, "numero_ordem_compra", json_string(""));
	json_object_set_new(j, "deposito", json_string(tiny_deposit_names[0]));
	json_object_set_new(j, "ecommerce",
			    *numero_ecommerce
				? json_pack("{s:I, s:s, s:s}", "id", (json_int_t)co->id_ecommerce,
					    "numeroPedidoEcommerce", numero_ecommerce,
					    "nomeEcommerce", "Mercado Livre")
				: json_null());
	json_object_set_new(j, "situacao", json_string(tiny_situacao_label(o->situacao)));
	json_object_set_new(j, "obs", json_string(""));
	json_object_set_new(j, "obs_interna", json_string(""));
	json_object_set_new(j, "id_vendedor", json_integer(0));
	json_object_set_new(j, "codigo_rastreamento", json_string(""));
	json_object_set_new(j, "url_rastreamento", json_string(""));
	json_object_set_new(j, "id_nota_fiscal", json_integer(0));
	o->json = j;
	return o;
}
