/* Forwarding marketplace orders to Tiny: see the header. */
#include "forward.h"
#include "client.h"
#include "httpc.h"
#include "log.h"
#include "sql_json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// clang-format off
#define TENANT_OF "coalesce($1::uuid, (SELECT tenant_id FROM accounts WHERE id = $2::uuid))"

/* Every marketplace order of a tenant with a Tiny account gets its row (the primary account's);
 * a cancelled one is no sale for the ERP. */
static const char enlist_sql[] =
    "INSERT INTO erp_orders (order_id, tenant_id, account_id)"
    " SELECT o.id, o.tenant_id, a.id FROM orders o"
    " JOIN LATERAL (SELECT id FROM accounts WHERE tenant_id = o.tenant_id AND channel = 'tiny'"
    "  ORDER BY is_primary DESC, created_at, id LIMIT 1) a ON true"
    " WHERE o.tenant_id = " TENANT_OF " AND o.channel <> 'tiny'"
    " AND o.status NOT IN ('cancelled', 'invalid')"
    " ON CONFLICT (order_id) DO NOTHING";

/* Due rows, claimed for a lease longer than a call's timeout; each with its lines, a line's SKU
 * known when it is an ERP product of the row's account. */
static const char claim_sql[] =
    "WITH c AS (SELECT order_id FROM erp_orders WHERE tenant_id = " TENANT_OF
    "  AND status IN ('pending', 'held') AND (lease_until IS NULL OR lease_until < now())"
    "  ORDER BY order_id LIMIT 20 FOR UPDATE SKIP LOCKED)"
    " UPDATE erp_orders e SET lease_until = now() + interval '2 minutes',"
    "  attempts = e.attempts + 1, updated_at = now()"
    " FROM c, orders o WHERE e.order_id = c.order_id AND o.id = e.order_id"
    " RETURNING e.order_id, e.tenant_id, e.account_id, o.external_id,"
    "  coalesce(nullif(o.buyer_nickname, ''), 'Cliente ' || o.channel),"
    "  to_char(o.date_created AT TIME ZONE 'UTC', 'DD/MM/YYYY'),"
    "  (SELECT coalesce(json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity,"
    "   'price', i.unit_price, 'known', EXISTS (SELECT 1 FROM products p"
    "   WHERE p.tenant_id = i.tenant_id AND p.sku = i.sku AND p.source = 'erp'"
    "   AND p.erp_account_id = e.account_id)) ORDER BY i.sku), '[]')::text"
    "   FROM order_items i WHERE i.order_id = e.order_id)";

static const char settle_sql[] =
    "UPDATE erp_orders SET status = $3, pedido_id = coalesce($4, pedido_id),"
    " numero = coalesce($5, numero), situacao = coalesce($6, situacao), last_error = $7,"
    " lease_until = NULL, updated_at = now() WHERE order_id = $1 AND tenant_id = $2";
// clang-format on

enum { C_ORDER, C_TENANT, C_ACCOUNT, C_EXTERNAL, C_BUYER, C_DATE, C_ITEMS };

typedef struct row {
	char *order_id, *tenant_id, *account_id, *external_id, *buyer, *date;
	json_t *items;
} row_t;

typedef struct pass {
	app_t *app;
	char *tenant_id, *account_id;
	forward_cb cb;
	void *arg;
	row_t *rows;
	int n, at;
	bool looked_again; /* a duplicate refusal looks the order up once more */
	forward_counts_t counts;
} pass_t;

static void next_row(pass_t *p);

static void pass_end(pass_t *p, const char *err)
{
	p->cb(&p->counts, err, p->arg);
	for (int i = 0; i < p->n; i++) {
		row_t *r = &p->rows[i];
		free(r->order_id);
		free(r->tenant_id);
		free(r->account_id);
		free(r->external_id);
		free(r->buyer);
		free(r->date);
		json_decref(r->items);
	}
	free(p->rows);
	free(p->tenant_id);
	free(p->account_id);
	free(p);
}

static void settled(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err)
		log_error("tiny: forward: storing an order's state: %s", err);
	p->at++;
	next_row(p);
}

/* The row's outcome; the lease ends with it. */
static void settle(pass_t *p, const char *status, const char *pedido_id, const char *numero,
		   const char *situacao, const char *error)
{
	row_t *r = &p->rows[p->at];
	if (strcmp(status, "sent") == 0)
		p->counts.sent++;
	else if (strcmp(status, "held") == 0)
		p->counts.held++;
	else if (strcmp(status, "failed") == 0)
		p->counts.failed++;
	else
		p->counts.pending++;
	const char *params[] = {r->order_id, r->tenant_id, status, pedido_id,
				numero,	     situacao,	   error};
	pg_query(p->app->pg, settle_sql, 7, params, settled, p);
}

/* A number or string field as text, into buf. */
static const char *text_of(json_t *v, char *buf, size_t size)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	return NULL;
}

static void send_order(pass_t *p);

static void looked_up(const tiny_result_t *res, void *arg)
{
	pass_t *p = arg;
	if (res->err != CHANNEL_OK) {
		settle(p, "pending", NULL, NULL, NULL, res->message);
		return;
	}
	json_t *found =
	    json_object_get(json_array_get(json_object_get(res->retorno, "pedidos"), 0), "pedido");
	if (res->empty || !found) {
		send_order(p);
		return;
	}
	char id[32], num[32];
	settle(p, "sent", text_of(json_object_get(found, "id"), id, sizeof(id)),
	       text_of(json_object_get(found, "numero"), num, sizeof(num)),
	       json_string_value(json_object_get(found, "situacao")), NULL);
}

/* Tiny's own record of the order, if it has one. */
static void look_up(pass_t *p)
{
	char form[256] = "";
	httpc_form_add(form, sizeof(form), "numeroEcommerce", p->rows[p->at].external_id);
	tiny_call(p->app, p->rows[p->at].account_id, "pedidos.pesquisa", form, looked_up, p);
}

static void sent(const tiny_result_t *res, void *arg)
{
	pass_t *p = arg;
	if (res->code == TINY_DUPLICATE && !p->looked_again) {
		p->looked_again = true; /* it is there already: take its numbers */
		look_up(p);
		return;
	}
	if (res->err != CHANNEL_OK) {
		bool again =
		    res->err == CHANNEL_ERR_TRANSIENT || res->err == CHANNEL_ERR_RATE_LIMITED ||
		    res->err == CHANNEL_ERR_UNAUTHORIZED || res->err == CHANNEL_ERR_EXPIRED;
		settle(p, again ? "pending" : "failed", NULL, NULL, NULL, res->message);
		return;
	}
	/* registros.registro, or registros[0].registro (Tiny answers either). */
	json_t *regs = json_object_get(res->retorno, "registros");
	json_t *reg =
	    json_object_get(json_is_array(regs) ? json_array_get(regs, 0) : regs, "registro");
	char id[32], num[32];
	settle(p, "sent", text_of(json_object_get(reg, "id"), id, sizeof(id)),
	       text_of(json_object_get(reg, "numero"), num, sizeof(num)), "aberto", NULL);
}

static void send_order(pass_t *p)
{
	row_t *r = &p->rows[p->at];
	json_t *itens = json_array();
	size_t k;
	json_t *it;
	json_array_foreach(r->items, k, it)
	{
		json_t *item = json_pack("{s:O, s:O}", "codigo", json_object_get(it, "sku"),
					 "quantidade", json_object_get(it, "quantity"));
		json_t *price = json_object_get(it, "price");
		if (json_is_number(price))
			json_object_set(item, "valor_unitario", price);
		json_array_append_new(itens, json_pack("{s:o}", "item", item));
	}
	json_t *pedido = json_pack("{s:{s:s, s:s, s:{s:s}, s:o}}", "pedido",
				   "numero_pedido_ecommerce", r->external_id, "data_pedido",
				   r->date, "cliente", "nome", r->buyer, "itens", itens);
	char *text = json_dumps(pedido, JSON_COMPACT);
	json_decref(pedido);
	size_t size = strlen(text) * 3 + 32;
	char *form = xcalloc(1, size);
	httpc_form_add(form, size, "pedido", text);
	free(text);
	tiny_call(p->app, r->account_id, "pedido.incluir", form, sent, p);
	free(form);
}

/* Why the ERP cannot take the order yet, or NULL. */
static const char *hold_reason(const row_t *r, char *buf, size_t size)
{
	if (json_array_size(r->items) == 0)
		return "the order has no lines";
	size_t k;
	json_t *it;
	json_array_foreach(r->items, k, it)
	{
		const char *sku = json_string_value(json_object_get(it, "sku"));
		if (!sku || !*sku)
			return "a line of the order has no SKU";
		if (!json_is_true(json_object_get(it, "known"))) {
			snprintf(buf, size, "SKU %.100s is not a product of the Tiny account", sku);
			return buf;
		}
	}
	return NULL;
}

static void next_row(pass_t *p)
{
	if (p->at >= p->n) {
		pass_end(p, NULL);
		return;
	}
	p->looked_again = false;
	char buf[160];
	const char *reason = hold_reason(&p->rows[p->at], buf, sizeof(buf));
	if (reason)
		settle(p, "held", NULL, NULL, NULL, reason);
	else
		look_up(p);
}

static char *dup_value(const PGresult *res, int row, int col)
{
	const char *v = pg_value(res, row, col);
	return xstrdup(v ? v : "");
}

static void claimed(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err) {
		pass_end(p, err);
		return;
	}
	p->n = PQntuples(res);
	p->rows = xcalloc(p->n ? p->n : 1, sizeof(*p->rows));
	for (int i = 0; i < p->n; i++) {
		row_t *r = &p->rows[i];
		r->order_id = dup_value(res, i, C_ORDER);
		r->tenant_id = dup_value(res, i, C_TENANT);
		r->account_id = dup_value(res, i, C_ACCOUNT);
		r->external_id = dup_value(res, i, C_EXTERNAL);
		r->buyer = dup_value(res, i, C_BUYER);
		r->date = dup_value(res, i, C_DATE);
		const char *items = pg_value(res, i, C_ITEMS);
		r->items = items ? json_loads(items, 0, NULL) : NULL;
		if (!json_is_array(r->items)) {
			json_decref(r->items);
			r->items = json_array();
		}
	}
	next_row(p);
}

static void enlisted(const PGresult *res, const char *err, void *arg)
{
	pass_t *p = arg;
	if (err) {
		pass_end(p, err);
		return;
	}
	const char *params[] = {p->tenant_id, p->account_id};
	pg_query(p->app->pg, claim_sql, 2, params, claimed, p);
}

void tiny_forward_run(app_t *app, const char *tenant_id, const char *account_id, forward_cb cb,
		      void *arg)
{
	pass_t *p = xcalloc(1, sizeof(*p));
	p->app = app;
	p->tenant_id = tenant_id ? xstrdup(tenant_id) : NULL;
	p->account_id = account_id ? xstrdup(account_id) : NULL;
	p->cb = cb;
	p->arg = arg;
	const char *params[] = {p->tenant_id, p->account_id};
	pg_query(app->pg, enlist_sql, 2, params, enlisted, p);
}

// clang-format off
/* Orders of a tenant with a Tiny account that have no pedido there yet. */
#define PENDING_FROM                                                                               \
	" FROM orders o LEFT JOIN erp_orders e ON e.order_id = o.id"                               \
	" WHERE o.tenant_id = $1 AND o.channel <> 'tiny'"                                          \
	" AND o.status NOT IN ('cancelled', 'invalid')"                                          \
	" AND EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = $1 AND a.channel = 'tiny')"    \
	" AND (e.status IS NULL OR e.status <> 'sent')"

static const char pending_sql[] =
    "SELECT json_build_object('orderId', o.id, 'channel', o.channel,"
    " 'externalId', o.external_id, 'accountId', o.account_id,"
    " 'dateCreated', " SQL_TS("o.date_created") ", 'status', coalesce(e.status, 'pending'),"
    " 'reason', coalesce(e.last_error, CASE e.status WHEN 'failed' THEN 'refused by Tiny'"
    "  ELSE 'waiting to be sent to Tiny' END), 'attempts', coalesce(e.attempts, 0),"
    " 'updatedAt', " SQL_TS("e.updated_at") ")::text, NULL" PENDING_FROM
    " ORDER BY o.date_created DESC, o.id DESC LIMIT $2 OFFSET $3";
static const char pending_count_sql[] = "SELECT count(*)" PENDING_FROM;
// clang-format on

void tiny_forward_pending(app_t *app, const char *tenant_id, const page_params_t *pp, paging_cb cb,
			  void *arg)
{
	const char *p[] = {tenant_id, pp->limit, pp->offset};
	pg_stmt_t stmts[] = {{pending_sql, 3, p}, {pending_count_sql, 1, p}};
	paging_read(app->pg, stmts, cb, arg);
}
