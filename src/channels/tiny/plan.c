/* The Tiny import: see the header. A task's path is "<service>?<form fields>"; get() sends it
 * as the account. Every task of a run is in one group: once it drains, the kits' components
 * are linked (a kit may be read before its components exist). */
#include "plan.h"
#include "client.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_PRODUCTS, R_N };

typedef struct plan_run {
	sync_group_t group; /* first: the drained callback gets it */
	sync_run_t *run;
} plan_run_t;

static const sync_step_t search_step, product_step, stock_step;

static enum sync_outcome outcome(enum channel_err e)
{
	switch (e) {
	case CHANNEL_OK:
		return SYNC_OK;
	case CHANNEL_ERR_RATE_LIMITED:
	case CHANNEL_ERR_TRANSIENT:
		return SYNC_AGAIN;
	case CHANNEL_ERR_NOT_FOUND:
		return SYNC_NOT_FOUND;
	case CHANNEL_ERR_EXPIRED:
	case CHANNEL_ERR_UNAUTHORIZED:
	case CHANNEL_ERR_FORBIDDEN:
	case CHANNEL_ERR_CONFIG:
		return SYNC_FATAL;
	default:
		return SYNC_FAILED;
	}
}

static void answered(const tiny_result_t *res, void *arg)
{
	sync_answer_t a = {.outcome = outcome(res->err),
			   .status = 200,
			   .message = res->message,
			   .body = res->retorno};
	sync_task_answered(arg, &a);
}

static void get(sync_task_t *t, const char *path)
{
	char service[64];
	size_t n = strcspn(path, "?");
	snprintf(service, sizeof(service), "%.*s", (int)n, path);
	tiny_call(sync_run_app(t->run), sync_run_info(t->run)->account_id, service,
		  path[n] ? path + n + 1 : NULL, answered, t);
}

static void push(sync_run_t *run, const sync_step_t *step, long offset, int64_t id)
{
	plan_run_t *st = sync_run_state(run);
	sync_task_t *t = sync_task_new(run, step, &st->group);
	t->offset = offset;
	t->id = id;
	sync_task_push(t, false);
}

/* --- the catalogue's pages ----------------------------------------------------------------- */

static void search_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size, "produtos.pesquisa?pesquisa=&pagina=%ld", t->offset);
}

static void search_answered(sync_task_t *t, json_t *retorno)
{
	sync_run_t *run = t->run;
	json_t *list = json_object_get(retorno, "produtos");
	if (t->offset == 1) {
		long pages = (long)tiny_num(json_object_get(retorno, "numero_paginas"), 1);
		for (long p = 2; p <= pages; p++)
			push(run, &search_step, p, 0);
	}
	sync_run_res(run, R_PRODUCTS)->total += (long long)json_array_size(list);
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		int64_t id =
		    (int64_t)tiny_num(json_object_get(json_object_get(e, "produto"), "id"), 0);
		if (id > 0)
			push(run, &product_step, 0, id);
	}
	sync_task_end(t);
}

/* --- one product --------------------------------------------------------------------------- */

static void product_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size, "produto.obter?id=%lld", (long long)t->id);
}

// clang-format off
static const char upsert_sql[] =
    "INSERT INTO products AS p (tenant_id, sku, title, gtin, price, cost, is_kit, active,"
    " source, erp_account_id, erp_id, raw)"
    " SELECT $1, $2, left(coalesce($3, ''), 300), nullif(left($4, 20), ''),"
    "  $5::numeric, greatest($6::numeric, 0), $7::bool, $8::bool, 'erp', $9, $10, $11::jsonb"
    " FROM accounts a WHERE a.id = $9 AND a.tenant_id = $1"
    " ON CONFLICT (tenant_id, sku) DO UPDATE SET title = EXCLUDED.title, gtin = EXCLUDED.gtin,"
    "  price = EXCLUDED.price, cost = EXCLUDED.cost, is_kit = EXCLUDED.is_kit,"
    "  active = EXCLUDED.active, source = 'erp', erp_account_id = EXCLUDED.erp_account_id,"
    "  erp_id = EXCLUDED.erp_id, raw = EXCLUDED.raw"
    " RETURNING p.is_kit";
// clang-format on

typedef struct product_store {
	sync_task_t *t; /* ended by the store */
	void *store;
	int64_t id;
} product_store_t;

static void product_stored(const PGresult *res, const char *err, void *arg)
{
	product_store_t *s = arg;
	sync_run_t *run = s->t->run;
	bool stored = !err && PQntuples(res) == 1;
	/* Its stock once the row exists; a kit's is what its components make. */
	if (stored && !pg_bool(res, 0, 0))
		push(run, &stock_step, 0, s->id);
	sync_stored(err, stored ? 1 : 0, s->store);
	free(s);
}

static char *num_text(json_t *v, char *buf, size_t size)
{
	if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)))
		return NULL;
	snprintf(buf, size, "%.4f", tiny_num(v, 0));
	return buf;
}

static void product_answered(sync_task_t *t, json_t *retorno)
{
	json_t *p = json_object_get(retorno, "produto");
	const char *sku = json_string_value(json_object_get(p, "codigo"));
	if (!sku || !*sku || strlen(sku) > 100) {
		sync_task_end(t); /* nothing the SKU master can key */
		return;
	}
	const sync_run_info_t *in = sync_run_info(t->run);
	const char *tipo = json_string_value(json_object_get(p, "tipo"));
	const char *situacao = json_string_value(json_object_get(p, "situacao"));
	char price[48], cost[48], erp_id[32];
	snprintf(erp_id, sizeof(erp_id), "%lld", (long long)t->id);
	char *raw = json_dumps(p, JSON_COMPACT);
	const char *params[] = {in->tenant_id,
				sku,
				json_string_value(json_object_get(p, "nome")),
				json_string_value(json_object_get(p, "gtin")),
				num_text(json_object_get(p, "preco"), price, sizeof(price)),
				num_text(json_object_get(p, "preco_custo"), cost, sizeof(cost)),
				tipo && strcmp(tipo, "K") == 0 ? "true" : "false",
				situacao && strcmp(situacao, "A") != 0 ? "false" : "true",
				in->account_id,
				erp_id,
				raw};
	product_store_t *s = xcalloc(1, sizeof(*s));
	s->t = t;
	s->id = t->id;
	s->store = sync_task_storing(t, 1);
	pg_query(sync_run_app(t->run)->pg, upsert_sql, 11, params, product_stored, s);
	free(raw);
}

/* --- one product's stock ------------------------------------------------------------------- */

static void stock_path(const sync_task_t *t, char *buf, size_t size)
{
	snprintf(buf, size, "produto.obter.estoque?id=%lld", (long long)t->id);
}

static const char stock_sql[] =
    "SELECT stock_set_erp_balance(p.tenant_id, p.sku, $3::numeric::int, $4) FROM products p"
    " WHERE p.tenant_id = $1 AND p.erp_account_id = $2 AND p.erp_id = $5";

static void stock_stored(const PGresult *res, const char *err, void *store)
{
	sync_stored(err, err ? 0 : 1, store);
}

static void stock_answered(sync_task_t *t, json_t *retorno)
{
	json_t *p = json_object_get(retorno, "produto");
	json_t *saldo = json_object_get(p, "saldo");
	if (!saldo) {
		sync_task_fail(t, "Tiny's stock answer has no saldo");
		return;
	}
	const sync_run_info_t *in = sync_run_info(t->run);
	char qty[48], id[32], ref[64];
	snprintf(qty, sizeof(qty), "%.0f", tiny_num(saldo, 0));
	snprintf(id, sizeof(id), "%lld", (long long)t->id);
	snprintf(ref, sizeof(ref), "tiny import %s", in->id);
	const char *params[] = {in->tenant_id, in->account_id, qty, ref, id};
	pg_query(sync_run_app(t->run)->pg, stock_sql, 5, params, stock_stored,
		 sync_task_storing(t, 0));
}

/* --- kits, once every product is in -------------------------------------------------------- */

// clang-format off
static const char kits_sql[] =
    "INSERT INTO product_components (tenant_id, kit_sku, component_sku, quantity)"
    " SELECT k.tenant_id, k.sku, c.sku, greatest(round((e->'item'->>'quantidade')::numeric), 1)"
    " FROM products k CROSS JOIN LATERAL jsonb_array_elements("
    "   CASE WHEN jsonb_typeof(k.raw->'kit') = 'array' THEN k.raw->'kit' ELSE '[]' END) e"
    " JOIN products c ON c.tenant_id = k.tenant_id AND c.erp_account_id = k.erp_account_id"
    "  AND c.erp_id = e->'item'->>'id_produto'"
    " WHERE k.tenant_id = $1 AND k.erp_account_id = $2 AND k.is_kit AND c.sku <> k.sku"
    " ON CONFLICT (tenant_id, kit_sku, component_sku) DO UPDATE SET quantity = EXCLUDED.quantity";
// clang-format on

static void kits_linked(const PGresult *res, const char *err, void *arg)
{
	sync_run_t *run = arg;
	if (err) {
		log_warn("sync %s: linking Tiny kits failed: %s", sync_run_info(run)->id, err);
		sync_res_t *r = sync_run_res(run, R_PRODUCTS);
		snprintf(r->error, sizeof(r->error), "linking kits failed");
	}
	sync_run_release(run);
}

static void drained(sync_group_t *g, sync_run_t *run)
{
	if (g->failed || sync_run_stopped(run))
		return;
	const sync_run_info_t *in = sync_run_info(run);
	const char *params[] = {in->tenant_id, in->account_id};
	sync_run_hold(run);
	pg_query(sync_run_app(run)->pg, kits_sql, 2, params, kits_linked, run);
}

static void products_begin(sync_run_t *run)
{
	push(run, &search_step, 1, 0);
}

static bool always(sync_run_t *run)
{
	return true;
}

static const sync_step_t search_step = {R_PRODUCTS, search_path, search_answered, NULL};
static const sync_step_t product_step = {R_PRODUCTS, product_path, product_answered, NULL};
static const sync_step_t stock_step = {R_PRODUCTS, stock_path, stock_answered, NULL};

static const char *const products_scopes[] = {"items", NULL};
static const sync_resource_t resources[R_N] = {
    [R_PRODUCTS] = {"products", products_scopes, false, products_begin, always},
};

static void *run_new(sync_run_t *run)
{
	plan_run_t *st = xcalloc(1, sizeof(*st));
	st->run = run;
	st->group.drained = drained;
	return st;
}

static void run_free(void *st)
{
	free(st);
}

const sync_plan_t tiny_sync_plan = {
    .resources = resources,
    .n_resources = R_N,
    .run_new = run_new,
    .run_free = run_free,
    .get = get,
};
