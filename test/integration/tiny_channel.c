/* The Tiny ERP channel against marketsim's Tiny v2: connecting a company by its API token (proven
 * with a real call, stored sealed, never answered back), the core's /api/tiny-accounts and
 * /api/accounts, refused tokens storing nothing; the product import (sync job) equal to
 * marketsim's truth, through a throttled minute; the stock webhook. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "marketsim_helpers.h"

static h_proc_t sim, srv;
static session_t owner;
static json_t *truth; /* GET /_sim/tiny */
static char env[2][512];

static void load_truth(void)
{
	json_decref(truth);
	h_resp_t r = msh_sim(&sim, "GET", "/_sim/tiny", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	truth = json_incref(r.json);
	h_resp_free(&r);
}

static void start(void)
{
	const char *args[] = {"--tiny-companies", "2", "--tiny-limit", "6000", NULL};
	msh_start(&sim, NULL, args);
	truth = NULL;
	load_truth();
	snprintf(env[0], sizeof(env[0]), "TINY_API_URL=%s", h_url(&sim, "/api2/"));
	const char *e[] = {env[0], NULL};
	cr_assert(h_server_start(&srv, e), "sellerhubd did not start");
	ident_signup(&srv, &owner);
}

static void stop(void)
{
	int rc = h_proc_stop(&srv, 15);
	cr_expect_eq(rc, 0, "sellerhubd exit status %d", rc);
	msh_stop(&sim);
	json_decref(truth);
	truth = NULL;
}

TestSuite(tiny_channel, .init = start, .fini = stop, .timeout = 120);

static json_t *company(size_t i)
{
	json_t *c = json_array_get(json_object_get(truth, "companies"), i);
	cr_assert(c, "no company %zu", i);
	return c;
}

static const char *company_token(size_t i)
{
	return msh_str(company(i), "token");
}

static h_resp_t connect_token(const char *token, const char *name)
{
	json_t *body = json_pack("{s:s}", "apiToken", token);
	if (name)
		json_object_set_new(body, "accountName", json_string(name));
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	h_resp_t r = ident_call(&srv, "POST", "/api/tiny-accounts", owner.access, text);
	free(text);
	return r;
}

/* Connect company i, asserting 201; its account id into id (40 bytes). */
static void connect_company(size_t i, char *id)
{
	h_resp_t r = connect_token(company_token(i), NULL);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, 40, "%s", json_string_value(h_json_path(r.json, "data.id")));
	h_resp_free(&r);
}

static void assert_no_token(const h_resp_t *r, const char *token)
{
	cr_assert_null(strstr(r->body, token), "the token leaked: %s", r->body);
}

Test(tiny_channel, token_is_proven_sealed_listed_and_never_answered)
{
	const char *token = company_token(0);
	h_resp_t r = connect_token(token, "Loja Tiny");
	cr_assert_eq(r.status, 201, "%s", r.body);
	assert_no_token(&r, token);
	json_t *a = json_object_get(r.json, "data");
	char id[40];
	snprintf(id, sizeof(id), "%s", msh_str(a, "id"));
	cr_assert_str_eq(msh_str(a, "channel"), "tiny");
	cr_assert_str_eq(msh_str(a, "accountName"), "Loja Tiny");
	cr_assert_str_eq(msh_str(a, "status"), "active");
	/* --tiny-limit 6000: the company's allowance, read from x-limit-api. */
	cr_assert_eq(json_integer_value(json_object_get(a, "callsPerMinute")), 6000, "%s", r.body);
	cr_assert_str_eq(msh_str(a, "plan"), "custom");
	h_resp_free(&r);

	char *sealed = h_sql_text("SELECT access_token_sealed FROM accounts WHERE id = '%s'", id);
	cr_assert(strlen(sealed) > 0);
	cr_assert_null(strstr(sealed, token), "stored in the clear");
	free(sealed);

	r = ident_call(&srv, "GET", "/api/accounts?channel=tiny", owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.total")), 1, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.accounts.0.id")), id);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.accounts.0.callsPerMinute")),
		     6000);
	assert_no_token(&r, token);
	h_resp_free(&r);

	char path[128];
	snprintf(path, sizeof(path), "/api/tiny-accounts/%s", id);
	r = ident_call(&srv, "GET", path, owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	assert_no_token(&r, token);
	h_resp_free(&r);
	r = ident_call(&srv, "PUT", path, owner.access, "{\"accountName\":\"Matriz\"}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&srv, "GET", "/api/tiny-accounts", owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.accounts.0.accountName")),
			 "Matriz", "%s", r.body);
	h_resp_free(&r);

	/* The same token again: 409, still one. */
	r = connect_token(token, NULL);
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "ACCOUNT_EXISTS");
	h_resp_free(&r);

	r = ident_call(&srv, "DELETE", path, owner.access, NULL);
	cr_assert(r.status == 200 || r.status == 204, "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&srv, "GET", path, owner.access, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);

	/* Nothing in the server's log holds the token. */
	char *log = h_proc_log(&srv);
	cr_assert_null(strstr(log, token), "the token is in the log");
	free(log);
}

Test(tiny_channel, refused_token_stores_nothing)
{
	h_resp_t r =
	    connect_token("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED");
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "details.0.field")), "apiToken");
	cr_assert(strstr(r.body, "Tiny"), "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&srv, "POST", "/api/tiny-accounts", owner.access, "{}");
	cr_assert_eq(r.status, 400, "%s", r.body);
	h_resp_free(&r);
	/* A company whose plan has no API (codigo 5) is refused as clearly. */
	char path[64], id_text[32];
	snprintf(id_text, sizeof(id_text), "%lld",
		 (long long)json_integer_value(json_object_get(company(1), "id")));
	snprintf(path, sizeof(path), "/_sim/tiny/companies/%s", id_text);
	h_resp_t s = msh_sim(&sim, "POST", path, "{\"plan\":\"comecar\"}");
	cr_assert_eq(s.status, 200, "%s", s.body);
	h_resp_free(&s);
	r = connect_token(company_token(1), NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert(strstr(r.body, "apiToken"), "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM accounts WHERE tenant_id = '%s'", owner.tenant_id), 0);
}

/* --- the product import ------------------------------------------------------------------- */

static void company_set(size_t i, const char *json)
{
	char path[64];
	snprintf(path, sizeof(path), "/_sim/tiny/companies/%lld",
		 (long long)json_integer_value(json_object_get(company(i), "id")));
	h_resp_t r = msh_sim(&sim, "POST", path, json);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
}

static long start_sync(const char *account, char *job, size_t size)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"accountId\":\"%s\",\"scope\":\"items\",\"days\":30}",
		 account);
	h_resp_t r = ident_call(&srv, "POST", "/api/sync/start", owner.access, body);
	long status = r.status;
	if (status == 202)
		snprintf(job, size, "%lld",
			 (long long)json_integer_value(h_json_path(r.json, "data.jobId")));
	h_resp_free(&r);
	return status;
}

/* The run's "status error" once it ended (malloc'd). */
static char *wait_run(const char *job)
{
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM sync_runs WHERE job_id = %s "
					 "AND status <> 'running'",
					 job) > 0,
			       100000),
		  "the import did not end");
	return h_sql_text("SELECT status || ' ' || coalesce(error, '') FROM sync_runs "
			  "WHERE job_id = %s",
			  job);
}

/* The import's rows equal company i's catalogue at marketsim: one product per codigo with its
 * name, each plain product's stock, each kit's components. */
static void assert_catalogue(size_t i, const char *account)
{
	load_truth();
	json_t *products = json_object_get(company(i), "products");
	long long expected = 0;
	size_t k;
	json_t *p;
	json_array_foreach(products, k, p) if (*msh_str(p, "codigo")) expected++;
	cr_assert_gt(expected, 10);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM products WHERE tenant_id = '%s' AND "
			       "erp_account_id = '%s' AND source = 'erp'",
			       owner.tenant_id, account),
		     expected);
	int plain = 0, kits = 0;
	json_array_foreach(products, k, p)
	{
		const char *sku = msh_str(p, "codigo");
		const char *tipo = msh_str(p, "tipo");
		long long id = (long long)json_integer_value(json_object_get(p, "id"));
		char *title = h_sql_text("SELECT title || '|' || erp_id FROM products WHERE "
					 "tenant_id = '%s' AND sku = '%s'",
					 owner.tenant_id, sku);
		char want[400];
		snprintf(want, sizeof(want), "%s|%lld", msh_str(p, "nome"), id);
		cr_assert_str_eq(title, want);
		free(title);
		if (strcmp(tipo, "K") == 0) {
			kits++;
			cr_assert_eq(h_sql_int("SELECT count(*) FROM product_components WHERE "
					       "tenant_id = '%s' AND kit_sku = '%s'",
					       owner.tenant_id, sku),
				     (long long)json_array_size(json_object_get(p, "kit")),
				     "kit %s", sku);
		} else {
			plain++;
			cr_assert_eq(
			    h_sql_int("SELECT on_hand FROM products WHERE tenant_id = '%s' "
				      "AND sku = '%s'",
				      owner.tenant_id, sku),
			    (long long)json_number_value(json_object_get(p, "saldo")),
			    "stock of %s", sku);
		}
	}
	cr_assert_gt(plain, 0);
	cr_assert_gt(kits, 0);
	/* Every stock set went through stock_set_on_hand as the ERP's. */
	cr_assert_gt(h_sql_int("SELECT count(*) FROM stock_changes WHERE tenant_id = '%s' AND "
			       "cause = 'erp'",
			       owner.tenant_id),
		     0);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM stock_changes WHERE tenant_id = '%s' AND "
			       "cause <> 'erp'",
			       owner.tenant_id),
		     0);
}

Test(tiny_channel, import_equals_the_catalogue)
{
	char account[40], job[32] = "";
	connect_company(0, account);
	long status = 0;
	H_WAIT_UNTIL((status = start_sync(account, job, sizeof(job))) != 409, 60000);
	cr_assert_eq(status, 202, "sync start answered %ld", status);
	char *end = wait_run(job);
	cr_assert_str_eq(end, "success ", "the run ended %s", end);
	free(end);
	assert_catalogue(0, account);
}

Test(tiny_channel, throttled_minute_is_waited_out)
{
	char account[40], job[32] = "";
	connect_company(1, account);
	/* Another application of the company spends this minute's calls: the import meets
	 * codigo 6 at once. */
	company_set(1, "{\"limit\":30}");
	char path[256];
	snprintf(path, sizeof(path), "/api2/produtos.pesquisa.php?token=%s&formato=json&pesquisa=x",
		 company_token(1));
	for (int i = 0; i < 30; i++) {
		h_resp_t r = msh_sim(&sim, "POST", path, NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		h_resp_free(&r);
	}
	long status = 0;
	H_WAIT_UNTIL((status = start_sync(account, job, sizeof(job))) != 409, 60000);
	cr_assert_eq(status, 202, "sync start answered %ld", status);
	cr_assert(H_WAIT_UNTIL(({
				       h_resp_t st = msh_sim(&sim, "GET", "/_sim/stats", NULL);
				       long long n = json_integer_value(
					   json_object_get(st.json, "tiny_throttled_minute"));
				       h_resp_free(&st);
				       n > 0;
			       }),
			       30000),
		  "the company was never throttled");
	/* The next minute, with room: the throttled calls are made again and the run ends. */
	company_set(1, "{\"limit\":6000}");
	msh_clock_advance(&sim, 60000);
	char *end = wait_run(job);
	cr_assert_str_eq(end, "success ", "the run ended %s", end);
	free(end);
	assert_catalogue(1, account);
}

/* --- the stock webhook --------------------------------------------------------------------- */

/* Company i's first plain product (not a kit, not a parent of variations) in the truth. */
static json_t *plain_product(size_t i)
{
	size_t k;
	json_t *p;
	json_array_foreach(json_object_get(company(i), "products"), k, p)
	{
		const char *v = json_string_value(json_object_get(p, "variacao"));
		if (strcmp(msh_str(p, "tipo"), "K") != 0 && (!v || strcmp(v, "P") != 0))
			return p;
	}
	cr_assert_fail("company %zu has no plain product", i);
	return NULL;
}

static long long on_hand(const char *sku)
{
	return h_sql_int("SELECT on_hand FROM products WHERE tenant_id = '%s' AND sku = '%s'",
			 owner.tenant_id, sku);
}

static long long erp_changes(void)
{
	return h_sql_int("SELECT count(*) FROM stock_changes WHERE tenant_id = '%s'",
			 owner.tenant_id);
}

Test(tiny_channel, stock_webhook_sets_on_hand_once)
{
	char account[40], job[32] = "";
	connect_company(0, account);
	long status = 0;
	H_WAIT_UNTIL((status = start_sync(account, job, sizeof(job))) != 409, 60000);
	cr_assert_eq(status, 202, "sync start answered %ld", status);
	char *end = wait_run(job);
	cr_assert_str_eq(end, "success ", "the run ended %s", end);
	free(end);

	char hook[256];
	snprintf(hook, sizeof(hook), "{\"webhook_url\":\"%s\"}", h_url(&srv, "/webhooks/tiny"));
	company_set(0, hook);
	json_t *p = plain_product(0);
	char sku[128];
	snprintf(sku, sizeof(sku), "%s", msh_str(p, "codigo"));
	long long before = on_hand(sku);
	char body[256];
	snprintf(body, sizeof(body), "{\"company_id\":%lld,\"codigo\":\"%s\",\"quantidade\":%lld}",
		 (long long)json_integer_value(json_object_get(company(0), "id")), sku,
		 before + 17);
	h_resp_t r = msh_sim(&sim, "POST", "/_sim/tiny/stock", body);
	cr_assert(r.status == 200 || r.status == 201, "%s", r.body);
	h_resp_free(&r);
	load_truth();
	long long want = -1;
	size_t k;
	json_t *q;
	json_array_foreach(json_object_get(company(0), "products"), k,
			   q) if (strcmp(msh_str(q, "codigo"), sku) == 0) want =
	    (long long)json_number_value(json_object_get(q, "saldo"));
	cr_assert_neq(want, before);
	cr_assert(H_WAIT_UNTIL(on_hand(sku) == want, 20000), "on hand %lld, Tiny has %lld",
		  on_hand(sku), want);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM stock_changes WHERE tenant_id = '%s' AND "
			       "sku = '%s' AND cause = 'erp' AND ref LIKE 'tiny webhook %%'",
			       owner.tenant_id, sku),
		     1);
	/* Delivered (answered 200). */
	cr_assert(H_WAIT_UNTIL(({
				       load_truth();
				       json_integer_value(
					   h_json_path(truth, "webhooks.delivered")) > 0;
			       }),
			       10000));

	/* The same webhook again (Tiny retries): 200, nothing recorded twice. */
	long long changes = erp_changes();
	json_t *log = h_json_path(truth, "webhooks.log");
	char *again = NULL;
	json_array_foreach(log, k, q)
	{
		json_t *b = json_object_get(q, "body");
		char *text =
		    json_is_string(b) ? strdup(json_string_value(b)) : json_dumps(b, JSON_COMPACT);
		if (text && strstr(text, "\"estoque\"") && strstr(text, sku)) {
			free(again);
			again = text;
		} else {
			free(text);
		}
	}
	cr_assert_not_null(again, "no stock webhook for %s in marketsim's log", sku);
	for (int i = 0; i < 2; i++) {
		r = ident_call(&srv, "POST", "/webhooks/tiny", NULL, again);
		cr_assert_eq(r.status, 200, "%s", r.body);
		h_resp_free(&r);
	}
	free(again);
	cr_assert_eq(erp_changes(), changes);
	cr_assert_eq(on_hand(sku), want);

	/* Malformed: 400, nothing changed. */
	static const char *const bad[] = {
	    "{\"tipo\":\"estoque\"}",
	    "{\"tipo\":\"estoque\",\"dados\":{\"idProduto\":\"abc\",\"saldo\":1}}",
	    "{\"tipo\":\"estoque\",\"dados\":{\"idProduto\":700000001,\"saldo\":\"lots\"}}",
	    "{\"dados\":{\"idProduto\":700000001,\"saldo\":1}}",
	    "[1,2]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = ident_call(&srv, "POST", "/webhooks/tiny", NULL, bad[i]);
		cr_assert_eq(r.status, 400, "%s -> %s", bad[i], r.body);
		h_resp_free(&r);
	}
	cr_assert_eq(erp_changes(), changes);
	cr_assert_eq(on_hand(sku), want);
}
