/* Tiny's webhooks: see the header. v2 webhooks are not signed and name the company only by CNPJ,
 * which a v2 token does not tell us; a notification is taken as ours when its product (idProduto,
 * and sku when given) is a product a Tiny account of ours imported, or its order (idVendaTiny,
 * and idPedidoEcommerce when given) a pedido we sent. Stock is a balance, not a delta: a repeated
 * notification sets the same count again and records nothing (the function records only
 * changes); a situation is a state too, and each one brings the order's read forward (status.c),
 * whose answer is Tiny's truth whatever order the webhooks came in. So duplicates are harmless
 * without a table of seen notifications. */
#include "webhooks.h"
#include "client.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define SKU_MAX	  100
#define STOCK_MAX 1000000000.0
#define EXT_MAX	  64

// clang-format off
/* In arrival order (volatile calls after ORDER BY): the last of a group wins. Kits are not set:
 * their stock is what their components make. */
static const char apply_sql[] =
    "WITH n AS (SELECT x->>'id' AS id, nullif(x->>'sku', '') AS sku,"
    "  (x->>'saldo')::numeric AS saldo, ord"
    "  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(x, ord)"
    "  WHERE x->>'tipo' = 'estoque'),"
    /* an order's situation: the last of a pedido's in the group */
    " s AS (SELECT DISTINCT ON (x->>'pedido') x->>'pedido' AS pedido,"
    "  nullif(x->>'ext', '') AS ext, x->>'situacao' AS situacao"
    "  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(x, ord)"
    "  WHERE x->>'tipo' = 'situacao_pedido' ORDER BY x->>'pedido', ord DESC),"
    " moved AS (UPDATE erp_orders e SET situacao = s.situacao, situacao_at = clock_timestamp(),"
    "  poll_at = now(), updated_at = now() FROM s, orders o, accounts a"
    "  WHERE e.pedido_id = s.pedido AND e.status = 'sent' AND o.id = e.order_id"
    "  AND (s.ext IS NULL OR o.external_id = s.ext)"
    "  AND a.id = e.account_id AND a.channel = 'tiny' RETURNING 1),"
    " applied AS (SELECT stock_set_erp_balance(p.tenant_id, p.sku, round(n.saldo)::int,"
    "   'tiny webhook ' || n.id) AS available"
    "  FROM n JOIN products p ON p.erp_id = n.id AND p.source = 'erp' AND NOT p.is_kit"
    "   AND (n.sku IS NULL OR p.sku = n.sku)"
    "  JOIN accounts a ON a.id = p.erp_account_id AND a.channel = 'tiny'"
    "  ORDER BY n.ord)"
    " SELECT NULL::bigint, (SELECT count(*) FROM applied) + (SELECT count(*) FROM moved)";
// clang-format on

static void *batch_new(void)
{
	return json_array();
}

static void batch_free(void *batch)
{
	json_decref(batch);
}

static size_t batch_count(const void *batch)
{
	return json_array_size(batch);
}

static const channel_reject_t other_topic = {
    200, "UNKNOWN_TOPIC",
    "sellerhub takes only Tiny's stock and order situation webhooks (tipo estoque, "
    "situacao_pedido).",
    true};
static const channel_reject_t invalid = {400, "INVALID_NOTIFICATION",
					 "This is not a Tiny webhook sellerhub takes.", false};

/* A number Tiny may send as a number or a string, as digits into buf; false when it is none. */
static bool id_text(json_t *v, char *buf, size_t size)
{
	double id = tiny_num(v, -1);
	if (id <= 0 || id != floor(id) || id > 9e15)
		return false;
	snprintf(buf, size, "%.0f", id);
	return true;
}

/* tipo situacao_pedido: dados {idVendaTiny, situacao (code or label), idPedidoEcommerce?}. */
static const channel_reject_t *add_situacao(void *batch, json_t *dados, json_t **details)
{
	char pedido[32], ext[EXT_MAX + 1] = "";
	const char *situacao =
	    tiny_situacao_code(json_string_value(json_object_get(dados, "situacao")));
	json_t *extv = json_object_get(dados, "idPedidoEcommerce");
	if (!id_text(json_object_get(dados, "idVendaTiny"), pedido, sizeof(pedido)))
		*details = http_problem(*details, "dados.idVendaTiny", "must be a Tiny order id");
	if (!situacao)
		*details =
		    http_problem(*details, "dados.situacao", "must be a Tiny order situation");
	if (json_is_string(extv) && json_string_length(extv) <= EXT_MAX)
		snprintf(ext, sizeof(ext), "%s", json_string_value(extv));
	else if (json_is_integer(extv))
		snprintf(ext, sizeof(ext), "%" JSON_INTEGER_FORMAT, json_integer_value(extv));
	else if (extv && !json_is_null(extv))
		*details = http_problem(*details, "dados.idPedidoEcommerce",
					"must be the marketplace order's id");
	if (*details)
		return &invalid;
	json_array_append_new(batch, json_pack("{s:s, s:s, s:s, s:s}", "tipo", "situacao_pedido",
					       "pedido", pedido, "ext", ext, "situacao", situacao));
	return NULL;
}

static const channel_reject_t *add(app_t *app, void *batch, json_t *body, const char *raw,
				   size_t raw_len, json_t **details)
{
	const char *tipo = json_string_value(json_object_get(body, "tipo"));
	if (!json_is_object(body) || !tipo) {
		*details = http_problem(*details, "tipo", "is required");
		return &invalid;
	}
	bool stock = strcmp(tipo, "estoque") == 0;
	if (!stock && strcmp(tipo, "situacao_pedido") != 0)
		return &other_topic;
	json_t *dados = json_object_get(body, "dados");
	if (!json_is_object(dados)) {
		*details = http_problem(*details, "dados", "must be an object");
		return &invalid;
	}
	if (!stock)
		return add_situacao(batch, dados, details);
	double id = tiny_num(json_object_get(dados, "idProduto"), -1);
	double saldo = tiny_num(json_object_get(dados, "saldo"), NAN);
	json_t *skuv = json_object_get(dados, "sku");
	const char *sku = json_string_value(skuv);
	if (id <= 0 || id != floor(id) || id > 9e15)
		*details = http_problem(*details, "dados.idProduto", "must be a product id");
	if (!isfinite(saldo) || fabs(saldo) > STOCK_MAX)
		*details = http_problem(*details, "dados.saldo", "must be a number");
	if ((skuv && !json_is_null(skuv) && !sku) || (sku && strlen(sku) > SKU_MAX))
		*details = http_problem(*details, "dados.sku", "must be a SKU");
	if (*details)
		return &invalid;
	char idtext[32];
	snprintf(idtext, sizeof(idtext), "%.0f", id);
	json_array_append_new(batch, json_pack("{s:s, s:s, s:s, s:f}", "tipo", "estoque", "id",
					       idtext, "sku", sku ? sku : "", "saldo", saldo));
	return NULL;
}

static void store(app_t *app, void *batch, const char *source, pg_cb cb, void *arg)
{
	char *docs = json_dumps(batch, JSON_COMPACT);
	const char *params[] = {docs};
	pg_query(app->pg, apply_sql, 1, params, cb, arg);
	free(docs);
}

const channel_intake_t tiny_intake = {
    .batch_new = batch_new,
    .batch_free = batch_free,
    .batch_count = batch_count,
    .add = add,
    .store = store,
};
