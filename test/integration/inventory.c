/* One stock truth per SKU through the API: /api/inventory lists each SKU of the caller's tenant
 * with its stock and linked listings (filters, paging, never another tenant's), a manual
 * adjustment recomputes the SKU and its kits and is recorded in the history, and listings are
 * linked to and unlinked from SKUs. Bad input is a 400 in the envelope. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ident.h"

TestSuite(inventory, .timeout = 90);

/* A tenant's account of channel ml (SQL: no connect flow); its id into id (40 bytes). */
static void add_account(const char *tenant_id, const char *external_id, char *id)
{
	char *v = h_sql_text("INSERT INTO accounts (tenant_id, channel, external_id, nickname,"
			     " access_token_sealed) VALUES ('%s', 'ml', '%s', 'Loja', 'v1:k:x')"
			     " RETURNING id",
			     tenant_id, external_id);
	snprintf(id, 40, "%.36s", v);
	free(v);
}

/* A listing of the account (sku NULL: not linked); its id into id (40 bytes). */
static void add_listing(const char *tenant_id, const char *account, const char *external_id,
			const char *sku, int quantity, char *id)
{
	char *v = h_sql_text("INSERT INTO listings (tenant_id, account_id, channel, external_id,"
			     " title, sku, available_quantity, last_updated, raw) VALUES"
			     " ('%s', '%s', 'ml', '%s', 'Listing %s', %s%s%s, %d, now(), '{}')"
			     " RETURNING id",
			     tenant_id, account, external_id, external_id, sku ? "'" : "",
			     sku ? sku : "NULL", sku ? "'" : "", quantity);
	snprintf(id, 40, "%.36s", v);
	free(v);
}

static void add_product(const char *tenant_id, const char *sku, const char *title, int on_hand,
			int buffer, bool kit)
{
	h_sql_ok("INSERT INTO products (tenant_id, sku, title, safety_buffer, is_kit) VALUES"
		 " ('%s', '%s', '%s', %d, %s)",
		 tenant_id, sku, title, buffer, kit ? "true" : "false");
	if (on_hand)
		h_sql_ok("SELECT stock_set_on_hand('%s', '%s', %d, 'sync', 'test')", tenant_id, sku,
			 on_hand);
}

static json_t *row_with(json_t *rows, const char *field, const char *value)
{
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		const char *v = json_string_value(json_object_get(row, field));
		if (v && strcmp(v, value) == 0)
			return row;
	}
	return NULL;
}

static long long int_at(json_t *root, const char *path)
{
	json_t *v = h_json_path(root, path);
	cr_assert(json_is_integer(v), "%s is not an integer", path);
	return json_integer_value(v);
}

/* GET path as s: 200 expected; the response (caller frees). */
static h_resp_t get(const h_proc_t *srv, const session_t *s, const char *path)
{
	h_resp_t r = ident_call(srv, "GET", path, s->access, NULL);
	cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
	return r;
}

/* method path (body) as s answers 400 VALIDATION_FAILED naming field in its details. */
static void assert_invalid(const h_proc_t *srv, const session_t *s, const char *method,
			   const char *path, const char *body, const char *field)
{
	h_resp_t r = ident_call(srv, method, path, s->access, body);
	cr_assert_eq(r.status, 400, "%s %s %s: %s", method, path, body ? body : "", r.body);
	cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED", "%s", r.body);
	cr_assert_not_null(strstr(r.body, h_fmt("\"field\":\"%s\"", field)), "%s", r.body);
	h_resp_free(&r);
}

static void assert_status(const h_proc_t *srv, const session_t *s, const char *method,
			  const char *path, const char *body, long status)
{
	h_resp_t r = ident_call(srv, method, path, s->access, body);
	cr_assert_eq(r.status, status, "%s %s: %s", method, path, r.body);
	h_resp_free(&r);
}

/* Tenant a: SKU-A (10 on hand, buffer 2) sold on one listing, SKU-B (none) with an unlinked
 * listing, KIT-1 = 3 × SKU-A. Tenant b: its own SKU-A and a listing. */
typedef struct world {
	h_proc_t srv;
	session_t a, b;
	char account[40], b_account[40];
	char listing_a[40], listing_free[40], b_listing[40];
} world_t;

static void world_make(world_t *w)
{
	cr_assert(h_server_start(&w->srv, NULL));
	ident_signup(&w->srv, &w->a);
	ident_signup(&w->srv, &w->b);
	int pid = getpid();
	add_account(w->a.tenant_id, h_fmt("%d1", pid), w->account);
	add_account(w->b.tenant_id, h_fmt("%d2", pid), w->b_account);
	add_product(w->a.tenant_id, "SKU-A", "Caneca azul", 10, 2, false);
	add_product(w->a.tenant_id, "SKU-B", "Prato fundo", 0, 0, false);
	add_product(w->a.tenant_id, "KIT-1", "Jogo de canecas", 0, 0, true);
	h_sql_ok("INSERT INTO product_components VALUES ('%s', 'KIT-1', 'SKU-A', 3)",
		 w->a.tenant_id);
	/* The kit is recomputed when a component changes. */
	h_sql_ok("SELECT stock_set_on_hand('%s', 'SKU-A', 11, 'sync', 'test')", w->a.tenant_id);
	add_product(w->b.tenant_id, "SKU-A", "Outra loja", 50, 0, false);
	add_listing(w->a.tenant_id, w->account, h_fmt("MLB%d1", pid), "SKU-A", 7, w->listing_a);
	add_listing(w->a.tenant_id, w->account, h_fmt("MLB%d2", pid), NULL, 4, w->listing_free);
	add_listing(w->b.tenant_id, w->b_account, h_fmt("MLB%d3", pid), "SKU-A", 9, w->b_listing);
}

Test(inventory, lists_each_sku_with_its_stock_and_listings_only_to_its_tenant)
{
	world_t w;
	world_make(&w);

	h_resp_t r = get(&w.srv, &w.a, "/api/inventory");
	json_t *rows = h_json_path(r.json, "data.inventory");
	cr_assert_eq(json_array_size(rows), 3, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.pagination.total"), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "sku")),
			 "KIT-1", "by SKU: %s", r.body);
	json_t *a = row_with(rows, "sku", "SKU-A");
	cr_assert_not_null(a, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(a, "title")), "Caneca azul");
	cr_assert_eq(int_at(a, "onHand"), 11);
	cr_assert_eq(int_at(a, "reserved"), 0);
	cr_assert_eq(int_at(a, "safetyBuffer"), 2);
	cr_assert_eq(int_at(a, "available"), 9);
	cr_assert(json_is_string(json_object_get(a, "updatedAt")), "%s", r.body);
	json_t *ls = json_object_get(a, "listings");
	cr_assert_eq(json_array_size(ls), 1, "automatic link by sku: %s", r.body);
	json_t *l = json_array_get(ls, 0);
	cr_assert_str_eq(json_string_value(json_object_get(l, "listingId")), w.listing_a);
	cr_assert_str_eq(json_string_value(json_object_get(l, "channel")), "ml");
	cr_assert_str_eq(json_string_value(json_object_get(l, "accountId")), w.account);
	cr_assert_eq(int_at(l, "listed"), 7);
	cr_assert(json_is_null(json_object_get(l, "lastPushAt")), "%s", r.body);
	/* The kit: floor(9 / 3). */
	cr_assert_eq(int_at(row_with(rows, "sku", "KIT-1"), "available"), 3, "%s", r.body);
	cr_assert_null(strstr(r.body, "Outra loja"), "another tenant's SKU: %s", r.body);
	cr_assert_null(strstr(r.body, w.b_listing), "another tenant's listing: %s", r.body);
	h_resp_free(&r);

	/* Filters and paging. */
	static const struct {
		const char *query, *first;
		size_t n;
		long long total;
	} cases[] = {
	    {"?sku=SKU-B", "SKU-B", 1, 1},	{"?q=caneca", "KIT-1", 2, 2},
	    {"?q=sku-b", "SKU-B", 1, 1},	{"?stockLevel=critical", "SKU-B", 1, 1},
	    {"?stockLevel=low", "KIT-1", 1, 1}, {"?stockLevel=normal", "SKU-A", 1, 1},
	    {"?channel=ml", "SKU-A", 1, 1},	{"?limit=2&page=2", "SKU-B", 1, 3},
	    {"?limit=2", "KIT-1", 2, 3},	{"?sku=NOPE", NULL, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		r = get(&w.srv, &w.a, h_fmt("/api/inventory%s", cases[i].query));
		rows = h_json_path(r.json, "data.inventory");
		cr_assert_eq(json_array_size(rows), cases[i].n, "%s: %s", cases[i].query, r.body);
		cr_assert_eq(int_at(r.json, "data.pagination.total"), cases[i].total, "%s: %s",
			     cases[i].query, r.body);
		if (cases[i].first)
			cr_assert_str_eq(
			    json_string_value(json_object_get(json_array_get(rows, 0), "sku")),
			    cases[i].first, "%s: %s", cases[i].query, r.body);
		h_resp_free(&r);
	}
	r = get(&w.srv, &w.a, "/api/inventory?limit=2");
	cr_assert_eq(int_at(r.json, "data.pagination.pages"), 2, "%s", r.body);
	h_resp_free(&r);

	/* The other tenant sees its own SKU-A only. */
	r = get(&w.srv, &w.b, "/api/inventory");
	rows = h_json_path(r.json, "data.inventory");
	cr_assert_eq(json_array_size(rows), 1, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "title")),
			 "Outra loja");
	cr_assert_null(strstr(r.body, w.listing_a), "%s", r.body);
	h_resp_free(&r);
	r = get(&w.srv, &w.b, "/api/inventory?sku=SKU-B");
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.inventory")), 0, "%s", r.body);
	h_resp_free(&r);

	assert_invalid(&w.srv, &w.a, "GET", "/api/inventory?stockLevel=plenty", NULL, "stockLevel");
	assert_invalid(&w.srv, &w.a, "GET", "/api/inventory?channel=nosuch", NULL, "channel");
	assert_invalid(&w.srv, &w.a, "GET", "/api/inventory?limit=1000", NULL, "limit");
	assert_invalid(&w.srv, &w.a, "GET", "/api/inventory?page=0", NULL, "page");
	assert_invalid(&w.srv, &w.a, "GET", "/api/inventory?cursor=abc", NULL, "cursor");
	assert_status(&w.srv, &w.a, "GET", "/api/inventory?q=%25%27%3B", NULL, 200);
	h_resp_t anon = ident_call(&w.srv, "GET", "/api/inventory", NULL, NULL);
	cr_assert_eq(anon.status, 401, "%s", anon.body);
	h_resp_free(&anon);
	h_server_stop_clean(&w.srv);
}

Test(inventory, manual_adjustment_recomputes_the_sku_and_its_kits_and_is_in_the_history)
{
	world_t w;
	world_make(&w);

	h_resp_t r =
	    ident_call(&w.srv, "PUT", "/api/inventory/SKU-A", w.a.access, "{\"onHand\": 5}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.onHand"), 5, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.available"), 3, "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT available FROM products WHERE tenant_id = '%s' AND sku ="
			       " 'KIT-1'",
			       w.a.tenant_id),
		     1, "the kit follows its component");
	r = ident_call(&w.srv, "PUT", "/api/inventory/SKU-A", w.a.access,
		       "{\"safetyBuffer\": 0, \"onHand\": 6}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.safetyBuffer"), 0, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.available"), 6, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.listings")), 1, "%s", r.body);
	h_resp_free(&r);

	/* Newest first: the on-hand change, the buffer change, the first adjustment, then the
	 * sync's two changes, each with its cause and ref. */
	r = get(&w.srv, &w.a, "/api/inventory/SKU-A/history");
	json_t *rows = h_json_path(r.json, "data.changes");
	cr_assert_eq(json_array_size(rows), 5, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.pagination.total"), 5, "%s", r.body);
	json_t *c = json_array_get(rows, 0);
	cr_assert_str_eq(json_string_value(json_object_get(c, "cause")), "manual", "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(c, "ref")), w.a.user_id, "%s", r.body);
	cr_assert_eq(int_at(c, "delta"), 1, "%s", r.body);
	cr_assert_eq(int_at(c, "onHand"), 6, "%s", r.body);
	cr_assert_eq(int_at(c, "available"), 6, "%s", r.body);
	cr_assert(json_is_string(json_object_get(c, "at")), "%s", r.body);
	c = json_array_get(rows, 1);
	cr_assert_eq(int_at(c, "delta"), 0, "the buffer change: %s", r.body);
	cr_assert_eq(int_at(c, "available"), 5, "%s", r.body);
	c = json_array_get(rows, 2);
	cr_assert_eq(int_at(c, "delta"), -6, "%s", r.body);
	c = json_array_get(rows, 4);
	cr_assert_str_eq(json_string_value(json_object_get(c, "cause")), "sync", "%s", r.body);
	cr_assert_eq(int_at(c, "delta"), 10, "%s", r.body);
	h_resp_free(&r);
	r = get(&w.srv, &w.a, "/api/inventory/SKU-A/history?limit=2&page=2");
	rows = h_json_path(r.json, "data.changes");
	cr_assert_eq(json_array_size(rows), 2, "%s", r.body);
	cr_assert_eq(int_at(json_array_get(rows, 0), "delta"), -6, "%s", r.body);
	cr_assert_eq(int_at(r.json, "data.pagination.pages"), 3, "%s", r.body);
	h_resp_free(&r);
	/* The kit's history holds its recomputations. */
	r = get(&w.srv, &w.a, "/api/inventory/KIT-1/history");
	c = json_array_get(h_json_path(r.json, "data.changes"), 0);
	cr_assert_eq(int_at(c, "available"), 2, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(c, "cause")), "manual", "%s", r.body);
	h_resp_free(&r);
	/* A SKU with no change yet: an empty history, not a 404. */
	r = get(&w.srv, &w.a, "/api/inventory/SKU-B/history");
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.changes")), 0, "%s", r.body);
	h_resp_free(&r);

	/* Unknown and other tenant's SKUs: 404, nothing changed. */
	assert_status(&w.srv, &w.a, "GET", "/api/inventory/NOPE/history", NULL, 404);
	assert_status(&w.srv, &w.b, "GET", "/api/inventory/SKU-B/history", NULL, 404);
	assert_status(&w.srv, &w.b, "PUT", "/api/inventory/SKU-B", "{\"onHand\": 3}", 404);
	assert_status(&w.srv, &w.a, "PUT", "/api/inventory/NOPE", "{\"onHand\": 3}", 404);
	cr_assert_eq(h_sql_int("SELECT on_hand FROM products WHERE tenant_id = '%s' AND sku ="
			       " 'SKU-B'",
			       w.a.tenant_id),
		     0);
	r = get(&w.srv, &w.b, "/api/inventory/SKU-A/history");
	cr_assert_eq(int_at(r.json, "data.pagination.total"), 1, "b's own SKU-A: %s", r.body);
	h_resp_free(&r);

	/* Bad input: 400 naming the field, the stock as it was. */
	assert_invalid(&w.srv, &w.a, "PUT", "/api/inventory/SKU-A", "{\"onHand\": -1}", "onHand");
	assert_invalid(&w.srv, &w.a, "PUT", "/api/inventory/SKU-A", "{\"onHand\": \"7\"}",
		       "onHand");
	assert_invalid(&w.srv, &w.a, "PUT", "/api/inventory/SKU-A", "{\"onHand\": 2.5}", "onHand");
	assert_invalid(&w.srv, &w.a, "PUT", "/api/inventory/SKU-A", "{\"onHand\": 99999999999999}",
		       "onHand");
	assert_invalid(&w.srv, &w.a, "PUT", "/api/inventory/SKU-A", "{\"safetyBuffer\": null}",
		       "safetyBuffer");
	assert_invalid(&w.srv, &w.a, "PUT", "/api/inventory/SKU-A", "{\"reserved\": 1}",
		       "reserved");
	assert_invalid(&w.srv, &w.a, "PUT", "/api/inventory/SKU-A", "{}", "body");
	assert_invalid(&w.srv, &w.a, "PUT", "/api/inventory/SKU-A", "[1]", "body");
	assert_invalid(&w.srv, &w.a, "GET", "/api/inventory/SKU-A/history?limit=0", NULL, "limit");
	r = ident_call(&w.srv, "PUT", "/api/inventory/SKU-A", w.a.access, "not json");
	cr_assert(r.status == 400 || r.status == 415, "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT on_hand * 100 + safety_buffer FROM products WHERE"
			       " tenant_id = '%s' AND sku = 'SKU-A'",
			       w.a.tenant_id),
		     600);
	h_server_stop_clean(&w.srv);
}

Test(inventory, listings_link_to_and_unlink_from_a_sku_of_their_tenant)
{
	world_t w;
	world_make(&w);
	const char *link = h_fmt("/api/products/SKU-B/listings/%s", w.listing_free);

	h_resp_t r = ident_call(&w.srv, "POST", link, w.a.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_true(h_json_path(r.json, "data.linked")), "%s", r.body);
	h_resp_free(&r);
	r = get(&w.srv, &w.a, "/api/inventory?sku=SKU-B");
	json_t *ls =
	    json_object_get(json_array_get(h_json_path(r.json, "data.inventory"), 0), "listings");
	cr_assert_eq(json_array_size(ls), 1, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ls, 0), "listingId")),
			 w.listing_free);
	cr_assert_eq(int_at(json_array_get(ls, 0), "listed"), 4, "%s", r.body);
	h_resp_free(&r);
	r = get(&w.srv, &w.a, "/api/inventory?channel=ml");
	cr_assert_eq(int_at(r.json, "data.pagination.total"), 2, "%s", r.body);
	h_resp_free(&r);

	/* Relinking a listing moves it: SKU-A's listing to SKU-B. */
	assert_status(&w.srv, &w.a, "POST", h_fmt("/api/products/SKU-B/listings/%s", w.listing_a),
		      NULL, 200);
	r = get(&w.srv, &w.a, "/api/inventory?sku=SKU-A");
	ls = json_object_get(json_array_get(h_json_path(r.json, "data.inventory"), 0), "listings");
	cr_assert_eq(json_array_size(ls), 0, "%s", r.body);
	h_resp_free(&r);

	/* Unlink: gone from the SKU; a second unlink, or from a SKU it is not linked to, is 404. */
	r = ident_call(&w.srv, "DELETE", link, w.a.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_false(h_json_path(r.json, "data.linked")), "%s", r.body);
	h_resp_free(&r);
	assert_status(&w.srv, &w.a, "DELETE", link, NULL, 404);
	assert_status(&w.srv, &w.a, "DELETE", h_fmt("/api/products/SKU-A/listings/%s", w.listing_a),
		      NULL, 404);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE id = '%s' AND sku IS NULL",
			       w.listing_free),
		     1);

	/* Another tenant's listing or SKU: 404, nothing changed. */
	assert_status(&w.srv, &w.b, "POST",
		      h_fmt("/api/products/SKU-A/listings/%s", w.listing_free), NULL, 404);
	assert_status(&w.srv, &w.a, "POST", h_fmt("/api/products/SKU-A/listings/%s", w.b_listing),
		      NULL, 404);
	assert_status(&w.srv, &w.b, "DELETE", h_fmt("/api/products/SKU-B/listings/%s", w.listing_a),
		      NULL, 404);
	assert_status(&w.srv, &w.a, "POST", h_fmt("/api/products/NOPE/listings/%s", w.listing_free),
		      NULL, 404);
	assert_status(&w.srv, &w.a, "POST", "/api/products/SKU-B/listings/not-a-uuid", NULL, 404);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE id = '%s' AND sku IS NULL",
			       w.listing_free),
		     1);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE id = '%s' AND sku = 'SKU-A'",
			       w.b_listing),
		     1);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE id = '%s' AND sku = 'SKU-B'",
			       w.listing_a),
		     1);
	h_server_stop_clean(&w.srv);
}

/* An order of the account in status with lines (sku, quantity)…, inserted as a channel's
 * upsert would; its id into id (40 bytes). */
static void add_order(const world_t *w, const char *external_id, const char *status,
		      const char *lines, char *id)
{
	char *v = h_sql_text("INSERT INTO orders (tenant_id, account_id, channel, external_id,"
			     " status, date_created, last_updated, total_amount, raw) VALUES"
			     " ('%s', '%s', 'ml', '%s', '%s', now(), now(), 10, '{}') RETURNING id",
			     w->a.tenant_id, w->account, external_id, status);
	snprintf(id, 40, "%.36s", v);
	free(v);
	h_sql_ok("INSERT INTO order_items (order_id, tenant_id, sku, quantity)"
		 " SELECT '%s', '%s', s, q FROM (VALUES %s) x(s, q)",
		 id, w->a.tenant_id, lines);
}

/* SKU's on_hand, reserved and available as "on_hand/reserved/available". */
static char *stock_of(const world_t *w, const char *sku)
{
	return h_sql_text("SELECT on_hand || '/' || reserved || '/' || available FROM products"
			  " WHERE tenant_id = '%s' AND sku = '%s'",
			  w->a.tenant_id, sku);
}

static void assert_stock(const world_t *w, const char *sku, const char *want)
{
	char *got = stock_of(w, sku);
	cr_assert(strncmp(got, want, strlen(want)) == 0 &&
		      (got[strlen(want)] == '\n' || got[strlen(want)] == '\0'),
		  "%s: %s, want %s", sku, got, want);
	free(got);
}

static long long changes(const world_t *w, const char *sku, const char *cause, const char *ref)
{
	return h_sql_int("SELECT count(*) FROM stock_changes WHERE tenant_id = '%s' AND sku = '%s'"
			 " AND cause = '%s' AND ref = '%s'",
			 w->a.tenant_id, sku, cause, ref);
}

Test(inventory, open_orders_reserve_and_cancellations_release)
{
	world_t w;
	world_make(&w);
	int pid = getpid();
	/* SKU-A: 11 on hand, buffer 2. A kit line holds 3 SKU-A; lines of unknown SKUs are
	 * ignored. */
	char open[40], shipped[40];
	add_order(&w, h_fmt("2%d1", pid), "paid", "('SKU-A', 2), ('KIT-1', 1), ('NOPE', 4)", open);
	assert_stock(&w, "SKU-A", "11/5/4");
	assert_stock(&w, "KIT-1", "0/0/1");
	cr_assert_eq(changes(&w, "SKU-A", "order", open), 1);
	cr_assert_eq(changes(&w, "KIT-1", "order", open), 1);
	h_resp_t r = get(&w.srv, &w.a, "/api/inventory?sku=SKU-A");
	json_t *a = json_array_get(h_json_path(r.json, "data.inventory"), 0);
	cr_assert_eq(int_at(a, "reserved"), 5, "%s", r.body);
	cr_assert_eq(int_at(a, "available"), 4, "%s", r.body);
	h_resp_free(&r);
	r = get(&w.srv, &w.a, "/api/inventory/SKU-A/history");
	json_t *c = json_array_get(h_json_path(r.json, "data.changes"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(c, "cause")), "order", "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(c, "ref")), open, "%s", r.body);
	cr_assert_eq(int_at(c, "reserved"), 5, "%s", r.body);
	h_resp_free(&r);

	/* A replayed upsert (lines deleted and inserted again in one statement, the status
	 * written again) changes nothing; a line's quantity raised reserves the difference. */
	h_sql_ok(
	    "WITH gone AS (DELETE FROM order_items WHERE order_id = '%s' RETURNING sku, quantity)"
	    " INSERT INTO order_items (order_id, tenant_id, sku, quantity)"
	    " SELECT '%s', '%s', sku, quantity FROM gone",
	    open, open, w.a.tenant_id);
	h_sql_ok("UPDATE orders SET status = 'paid', last_updated = now() WHERE id = '%s'", open);
	assert_stock(&w, "SKU-A", "11/5/4");
	cr_assert_eq(changes(&w, "SKU-A", "order", open), 1);
	h_sql_ok("UPDATE order_items SET quantity = 3 WHERE order_id = '%s' AND sku = 'SKU-A'",
		 open);
	assert_stock(&w, "SKU-A", "11/6/3");
	assert_stock(&w, "KIT-1", "0/0/1");

	/* A manual change keeps the reservation. */
	assert_status(&w.srv, &w.a, "PUT", "/api/inventory/SKU-A", "{\"onHand\": 20}", 200);
	assert_stock(&w, "SKU-A", "20/6/12");
	assert_stock(&w, "KIT-1", "0/0/4");

	/* A shipped order's goods leave: reserved and on hand fall together. */
	add_order(&w, h_fmt("2%d2", pid), "paid", "('SKU-A', 4)", shipped);
	assert_stock(&w, "SKU-A", "20/10/8");
	h_sql_ok("UPDATE orders SET status = 'shipped' WHERE id = '%s'", shipped);
	assert_stock(&w, "SKU-A", "16/6/8");
	cr_assert_eq(changes(&w, "SKU-A", "order", shipped), 2);

	/* Cancelled: everything it held comes back, recorded as cancel; cancelling again or
	 * deleting the order changes nothing more. */
	h_sql_ok("UPDATE orders SET status = 'cancelled' WHERE id = '%s'", open);
	assert_stock(&w, "SKU-A", "16/0/14");
	assert_stock(&w, "KIT-1", "0/0/4");
	cr_assert_eq(changes(&w, "SKU-A", "cancel", open), 1);
	cr_assert_eq(changes(&w, "KIT-1", "cancel", open), 1);
	h_sql_ok("UPDATE orders SET status = 'cancelled' WHERE id = '%s'", open);
	h_sql_ok("DELETE FROM orders WHERE id = '%s'", open);
	assert_stock(&w, "SKU-A", "16/0/14");
	cr_assert_eq(changes(&w, "SKU-A", "cancel", open), 1);

	/* An open order deleted (its account removed) releases what it held. */
	char gone[40];
	add_order(&w, h_fmt("2%d3", pid), "confirmed", "('SKU-B', 1), ('SKU-A', 1)", gone);
	assert_stock(&w, "SKU-A", "16/1/13");
	assert_stock(&w, "SKU-B", "0/1/0");
	h_sql_ok("DELETE FROM orders WHERE id = '%s'", gone);
	assert_stock(&w, "SKU-A", "16/0/14");
	assert_stock(&w, "SKU-B", "0/0/0");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM stock_reservations WHERE tenant_id = '%s'",
			       w.a.tenant_id),
		     0);
	/* The other tenant's SKU-A of the same name never moved. */
	cr_assert_eq(h_sql_int("SELECT reserved * 1000 + available FROM products WHERE tenant_id ="
			       " '%s' AND sku = 'SKU-A'",
			       w.b.tenant_id),
		     50);
	h_server_stop_clean(&w.srv);
}
