/* The /_sim/tiny control API (JSON): the truth of every company for tests (token, plan, products
 * with stock per deposit, orders, invoices, webhook log), a company's settings (plan, limits,
 * webhook URL, stock type, a new token), and what people do in the ERP itself: a stock adjustment
 * in the warehouse, an order's new situation, an invoice emitted. Each fires its webhooks. */
#include "tiny.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

void h_sim_tiny_get(ms_req_t *r)
{
	tiny_t *t = r->ms->tiny;
	const char *only = ms_arg(r, "company");
	int64_t id = 0;
	if (only && !ms_parse_id(only, &id)) {
		ms_reply_error(r, 400, "bad_request", "company must be a company id");
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < t->n_companies; i++)
		if (!only || t->companies[i].id == id)
			json_array_append_new(list, tiny_company_truth(&t->companies[i]));
	ms_reply_json(r, 200,
		      json_pack("{s:o, s:o}", "companies", list, "webhooks",
				tiny_webhooks_stats(t->webhooks)));
}

static json_t *body_object(ms_req_t *r)
{
	json_t *body = ms_body_json(r);
	if (!body)
		ms_reply_error(r, 400, "bad_request", "The body must be a JSON object");
	return body;
}

static bool http_url(const char *url)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	bool ok = u && evhttp_uri_get_scheme(u) && strcmp(evhttp_uri_get_scheme(u), "http") == 0 &&
		  evhttp_uri_get_host(u) && strlen(url) < 512;
	if (u)
		evhttp_uri_free(u);
	return ok;
}

/* {plan?, limit?, batch_limit?, webhook_url? (null = none), stock_type? "F"|"D",
 * rotate_token? true}: all checked before any is applied. */
void h_sim_tiny_company(ms_req_t *r)
{
	tiny_t *t = r->ms->tiny;
	int64_t id;
	tiny_company_t *co = ms_parse_id(r->params[0], &id) ? tiny_company_find(t, id) : NULL;
	if (!co) {
		ms_reply_error(r, 404, "not_found", "Unknown Tiny company %s", r->params[0]);
		return;
	}
	json_t *body = body_object(r);
	if (!body)
		return;
	json_t *plan = json_object_get(body, "plan"), *limit = json_object_get(body, "limit");
	json_t *batch = json_object_get(body, "batch_limit"),
	       *url = json_object_get(body, "webhook_url");
	json_t *stock = json_object_get(body, "stock_type"),
	       *rotate = json_object_get(body, "rotate_token");
	const char *bad = NULL;
	if (plan && (!json_is_string(plan) || !tiny_plan_known(json_string_value(plan))))
		bad = "plan must be comecar, crescer, evoluir, potencializar or legado";
	else if (limit && (!json_is_integer(limit) || json_integer_value(limit) < 0 ||
			   json_integer_value(limit) > 100000))
		bad = "limit must be an integer in 0..100000 (calls per minute)";
	else if (batch && (!json_is_integer(batch) || json_integer_value(batch) < 0 ||
			   json_integer_value(batch) > 100000))
		bad = "batch_limit must be an integer in 0..100000";
	else if (url && !json_is_null(url) &&
		 (!json_is_string(url) || !http_url(json_string_value(url))))
		bad = "webhook_url must be an http:// URL (or null)";
	else if (stock && (!json_is_string(stock) || (strcmp(json_string_value(stock), "F") != 0 &&
						      strcmp(json_string_value(stock), "D") != 0)))
		bad = "stock_type must be F (physical) or D (available)";
	else if (rotate && !json_is_boolean(rotate))
		bad = "rotate_token must be true or false";
	if (bad) {
		json_decref(body);
		ms_reply_error(r, 400, "bad_request", "%s", bad);
		return;
	}
	if (plan)
		tiny_company_set_plan(co, json_string_value(plan), 0);
	if (limit)
		co->limit = (int)json_integer_value(limit);
	if (batch)
		co->batch_limit = (int)json_integer_value(batch);
	if (url)
		snprintf(co->webhook_url, sizeof(co->webhook_url), "%s",
			 json_is_string(url) ? json_string_value(url) : "");
	if (stock)
		co->stock_type = json_string_value(stock)[0];
	if (json_is_true(rotate)) {
		/* The old token stops working: the map keeps it, pointing nowhere. */
		strmap_put(t->by_token, co->token, NULL);
		unsigned char raw[32];
		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			die("marketsim: getrandom failed");
		for (size_t i = 0; i < sizeof(raw); i++)
			snprintf(co->token + 2 * i, 3, "%02x", raw[i]);
		strmap_put(t->by_token, co->token, (void *)(uintptr_t)(co->ix + 1));
	}
	json_decref(body);
	ms_reply_json(r, 200, tiny_company_summary(co));
}

/* {company_id, id | codigo, quantidade, tipo? "B"|"E"|"S" (B), deposito? ("Geral")} */
void h_sim_tiny_stock(ms_req_t *r)
{
	tiny_t *t = r->ms->tiny;
	json_t *body = body_object(r);
	if (!body)
		return;
	json_t *cid = json_object_get(body, "company_id"), *pid = json_object_get(body, "id");
	const char *codigo = json_string_value(json_object_get(body, "codigo"));
	json_t *tipo_v = json_object_get(body, "tipo"), *dep_v = json_object_get(body, "deposito");
	const char *tipo = tipo_v ? json_string_value(tipo_v) : "B";
	int dep = dep_v ? tiny_deposit_find(json_string_value(dep_v)) : 0;
	double qty;
	tiny_company_t *co =
	    json_is_integer(cid) ? tiny_company_find(t, json_integer_value(cid)) : NULL;
	tiny_product_t *p = !co			   ? NULL
			    : json_is_integer(pid) ? tiny_product_find(co, json_integer_value(pid))
			    : codigo		   ? tiny_product_by_codigo(co, codigo)
						   : NULL;
	const char *bad = NULL;
	if (!co)
		bad = "company_id must name a Tiny company";
	else if (!p)
		bad = "id or codigo must name a product of the company";
	else if (!tiny_stock_movable(p))
		bad = "kits and parents of variations take their stock from their items";
	else if (!tipo || strlen(tipo) != 1 || !strchr("BES", tipo[0]))
		bad = "tipo must be B, E or S";
	else if (!tiny_number(json_object_get(body, "quantidade"), &qty) || qty < 0)
		bad = "quantidade must be a non-negative number";
	else if (dep < 0)
		bad = "deposito must be Geral, Loja Física or Avarias";
	if (bad) {
		json_decref(body);
		ms_reply_error(r, 400, "bad_request", "%s", bad);
		return;
	}
	tiny_stock_move(r->ms, co, p, dep, tipo[0], qty);
	json_decref(body);
	ms_reply_json(r, 200, tiny_stock_view(co, p));
}

static tiny_order_t *path_order(ms_req_t *r, tiny_company_t **co)
{
	int64_t id;
	tiny_order_t *o =
	    ms_parse_id(r->params[0], &id) ? tiny_order_find_any(r->ms->tiny, id, co) : NULL;
	if (!o)
		ms_reply_error(r, 404, "not_found", "Unknown Tiny order %s", r->params[0]);
	return o;
}

/* {situacao}: the code (em_aberto, aprovado, ...) or its label. */
void h_sim_tiny_order_situacao(ms_req_t *r)
{
	tiny_company_t *co;
	tiny_order_t *o = path_order(r, &co);
	if (!o)
		return;
	json_t *body = body_object(r);
	if (!body)
		return;
	const char *code = tiny_situacao_code(json_string_value(json_object_get(body, "situacao")));
	json_decref(body);
	char msg[256];
	if (!code)
		ms_reply_error(r, 400, "bad_request", "situacao must be a Tiny order situation");
	else if (!tiny_order_set_situacao(r->ms, co, o, code, ms_wall_ms(r->ms), msg, sizeof(msg)))
		ms_reply_error(r, 409, "conflict", "%s", msg);
	else
		ms_reply_json(r, 200, json_incref(o->json));
}

/* {modelo?}: the invoice is emitted in the ERP. */
void h_sim_tiny_order_nota(ms_req_t *r)
{
	tiny_company_t *co;
	tiny_order_t *o = path_order(r, &co);
	if (!o)
		return;
	json_t *body = ms_body_json(r);
	const char *modelo = json_string_value(json_object_get(body, "modelo"));
	int code;
	char msg[256];
	tiny_invoice_t *inv =
	    tiny_order_invoice(r->ms, co, o, modelo, ms_wall_ms(r->ms), &code, msg, sizeof(msg));
	json_decref(body);
	if (!inv)
		ms_reply_error(r, 409, "conflict", "%s", msg);
	else
		ms_reply_json(r, 201, json_incref(inv->json));
}
