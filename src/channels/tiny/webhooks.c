/* Tiny's webhooks: see the header. v2 webhooks are not signed and name the company only by CNPJ,
 * which a v2 token does not tell us; a notification is taken as ours when its product (idProduto,
 * and sku when given) is a product a Tiny account of ours imported. Stock is a balance, not a
 * delta: a repeated notification sets the same count again and records nothing (the function
 * records only changes), so duplicates are harmless without a table of seen notifications. */
#include "webhooks.h"
#include "client.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define SKU_MAX	  100
#define STOCK_MAX 1000000000.0

// clang-format off
/* In arrival order (volatile calls after ORDER BY): the last of a group wins. Kits are not set:
 * their stock is what their components make. */
static const char apply_sql[] =
    "WITH n AS (SELECT x->>'id' AS id, nullif(x->>'sku', '') AS sku,"
    "  (x->>'saldo')::numeric AS saldo, ord"
    "  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(x, ord)),"
    " applied AS (SELECT stock_set_erp_balance(p.tenant_id, p.sku, round(n.saldo)::int,"
    "   'tiny webhook ' || n.id) AS available"
    "  FROM n JOIN products p ON p.erp_id = n.id AND p.source = 'erp' AND NOT p.is_kit"
    "   AND (n.sku IS NULL OR p.sku = n.sku)"
    "  JOIN accounts a ON a.id = p.erp_account_id AND a.channel = 'tiny'"
    "  ORDER BY n.ord)"
    " SELECT NULL::bigint, count(*) FROM applied";
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
    200, "UNKNOWN_TOPIC", "sellerhub takes only Tiny's stock webhook (tipo estoque).", true};
static const channel_reject_t invalid = {
    400, "INVALID_NOTIFICATION", "This is not a Tiny stock webhook sellerhub takes.", false};

static const channel_reject_t *add(app_t *app, void *batch, json_t *body, const char *raw,
				   size_t raw_len, json_t **details)
{
	const char *tipo = json_string_value(json_object_get(body, "tipo"));
	if (!json_is_object(body) || !tipo) {
		*details = http_problem(*details, "tipo", "is required");
		return &invalid;
	}
	if (strcmp(tipo, "estoque") != 0)
		return &other_topic;
	json_t *dados = json_object_get(body, "dados");
	if (!json_is_object(dados)) {
		*details = http_problem(*details, "dados", "must be an object");
		return &invalid;
	}
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
	json_array_append_new(batch, json_pack("{s:s, s:s, s:f}", "id", idtext, "sku",
					       sku ? sku : "", "saldo", saldo));
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
