/* GET /api/products as sql/0033 serves it: every sort walked by cursor in the order a plain SQL
 * ORDER BY gives (ties by SKU, none last), the unfiltered aggregations (kept per tenant by
 * triggers) equal to a recount after inserts, updates and deletes, the filtered ones too, and
 * each SKU's sales copied on its row without touching its updatedAt. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"

/* The SKUs of every page of `query` walked by cursor, `limit` a page, joined by spaces; *pages
 * the count of pages. Every page but the last is full. */
static char *walk(const h_proc_t *srv, const session_t *s, const char *query, int limit, int *pages)
{
	size_t cap = 65536, len = 0;
	char *out = calloc(1, cap);
	char cursor[512] = "", q[512];
	snprintf(q, sizeof(q), "%s", query); /* h_fmt's buffers are reused */
	*pages = 0;
	for (;;) {
		const char *path = h_fmt("/api/products?%s&limit=%d%s%s", q, limit,
					 *cursor ? "&cursor=" : "", cursor);
		h_resp_t r = ident_call(srv, "GET", path, s->access, NULL);
		cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
		json_t *rows = h_json_path(r.json, "data.products"), *row;
		size_t i;
		json_array_foreach(rows, i, row)
		{
			len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? " " : "",
						json_string_value(json_object_get(row, "sku")));
			cr_assert_lt(len, cap - 64);
		}
		(*pages)++;
		json_t *next = h_json_path(r.json, "data.nextCursor");
		if (json_is_null(next)) {
			h_resp_free(&r);
			return out;
		}
		cr_assert_eq(json_array_size(rows), (size_t)limit, "%s", path);
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		h_resp_free(&r);
		cr_assert_lt(*pages, 100);
	}
}

/* An ml account of tenant t; its id into id (40 bytes). */
static void account(const char *t, char *id)
{
	h_sql_ok("INSERT INTO accounts (tenant_id, channel, external_id, nickname,"
		 " access_token_sealed) VALUES ('%s', 'ml', 'PL-%s', 'Loja', 'v1:k:x')",
		 t, t);
	char *v = h_sql_text("SELECT id FROM accounts WHERE tenant_id = '%s'", t);
	snprintf(id, 40, "%s", v);
	free(v);
}

/* 61 SKUs with ties in every key and none for some: stock 0..3, price 10..14 (none every 7th),
 * cost 5 (none every 3rd), updated at one of 5 hours; sales of 2 x price (fee 1) for every 4th
 * SKU, so revenues tie too. */
static void tied_products(const char *t)
{
	char acc[40];
	account(t, acc);
	h_sql_ok("INSERT INTO products (tenant_id, sku, title, price, cost, on_hand, available,"
		 " updated_at) SELECT '%s', 'T-' || lpad(g::text, 3, '0'), 'Item ' || g,"
		 " CASE WHEN g %% 7 <> 0 THEN 10 + g %% 5 END, CASE WHEN g %% 3 <> 0 THEN 5 END,"
		 " g %% 4, g %% 4, timestamptz '2026-01-01' + (g %% 5) * interval '1 hour'"
		 " FROM generate_series(1, 61) g",
		 t);
	h_sql_ok(
	    "INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
	    " date_created, last_updated, total_amount, raw) SELECT '%s', '%s', 'ml', 'O' || g,"
	    " 'paid', now(), now(), 2 * (10 + g %% 5), '{}' FROM generate_series(4, 61, 4) g;"
	    "INSERT INTO order_items (order_id, tenant_id, sku, title, quantity, unit_price,"
	    " sale_fee) SELECT o.id, o.tenant_id, 'T-' || lpad(substr(o.external_id, 2), 3, '0'),"
	    " 'x', 2, 10 + substr(o.external_id, 2)::int %% 5, 1 FROM orders o"
	    " WHERE o.tenant_id = '%s'",
	    t, acc, t);
}

Test(products, every_sort_walks_by_cursor_in_order_with_ties)
{
	h_proc_t srv;
	session_t a, b;
	cr_assert(h_server_start(&srv, NULL));
	ident_signup(&srv, &a);
	ident_signup(&srv, &b);
	tied_products(a.tenant_id);
	tied_products(b.tenant_id); /* the same SKUs elsewhere: never in a's pages */
	static const struct {
		const char *sort, *value;
	} sorts[] = {
	    {"sales", "coalesce((SELECT s.revenue FROM product_sales s WHERE s.tenant_id ="
		      " p.tenant_id AND s.sku = p.sku), 0)"},
	    {"profit", "coalesce((SELECT s.profit FROM product_sales s WHERE s.tenant_id ="
		       " p.tenant_id AND s.sku = p.sku), 0)"},
	    {"stock", "p.available"},
	    {"margin", "round((p.price - p.cost) / nullif(p.price, 0) * 100, 2)"},
	    {"updated", "p.updated_at"},
	    {"price", "p.price"},
	};
	for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++)
		for (int desc = 0; desc < 2; desc++) {
			char *want = h_sql_text(
			    "SELECT string_agg(sku, ' ' ORDER BY %s %s NULLS LAST, sku) FROM"
			    " products p WHERE tenant_id = '%s'",
			    sorts[i].value, desc ? "DESC" : "ASC", a.tenant_id);
			const char *q =
			    h_fmt("sortBy=%s&sortOrder=%s", sorts[i].sort, desc ? "desc" : "asc");
			int pages;
			char *got = walk(&srv, &a, q, 7, &pages);
			cr_assert_str_eq(got, want, "%s", q);
			cr_assert_eq(pages, 9, "%s: 61 rows, 7 a page", q);
			free(got);
			got = walk(&srv, &a, h_fmt("%s&channel=ml", q), 7, &pages);
			cr_assert_str_eq(got, "", "%s: a's SKUs have no listing", q);
			free(got);
			free(want);
		}
	/* By SKU, and a filter (stock 0 or 1 is low, or critical for 0) with a sort. */
	int pages;
	char *got = walk(&srv, &a, "page=1", 10, &pages);
	char *want = h_sql_text("SELECT string_agg(sku, ' ' ORDER BY sku) FROM products"
				" WHERE tenant_id = '%s'",
				a.tenant_id);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	got = walk(&srv, &a, "stockLevel=low&sortBy=price&sortOrder=desc", 4, &pages);
	want = h_sql_text("SELECT string_agg(sku, ' ' ORDER BY price DESC NULLS LAST, sku) FROM"
			  " products WHERE tenant_id = '%s' AND available BETWEEN 1 AND 5",
			  a.tenant_id);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	h_server_stop_clean(&srv);
}

/* GET /api/products<query>'s aggregations against a recount of the tenant's products in SQL
 * (where: an extra condition on p). */
static void assert_aggs(const h_proc_t *srv, const session_t *s, const char *query,
			const char *where)
{
	h_resp_t r = ident_call(srv, "GET", h_fmt("/api/products%s", query), s->access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char *want = h_sql_text(
	    "SELECT json_build_object('n', count(*), 'value', coalesce(sum(on_hand *"
	    " coalesce(cost, 0)), 0), 'margin', coalesce(round(avg(round((price - cost) / price"
	    " * 100, 2)) FILTER (WHERE price > 0), 2), -1), 'low', count(*) FILTER (WHERE available"
	    " <= coalesce(min_stock_alert, 5)))::text FROM products p WHERE tenant_id = '%s' AND %s",
	    s->tenant_id, where);
	json_t *w = json_loads(want, 0, NULL);
	cr_assert_not_null(w, "%s", want);
	json_t *aggs = h_json_path(r.json, "data.aggregations");
	const char *ctx = h_fmt("%s: %s vs %s", query, r.body, want);
	cr_assert_eq(json_integer_value(json_object_get(aggs, "totalProducts")),
		     json_integer_value(json_object_get(w, "n")), "%s", ctx);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")),
		     json_integer_value(json_object_get(w, "n")), "%s", ctx);
	cr_assert_float_eq(json_number_value(json_object_get(aggs, "totalValue")),
			   json_number_value(json_object_get(w, "value")), 0.001, "%s", ctx);
	json_t *margin = json_object_get(aggs, "avgMargin");
	cr_assert_float_eq(json_is_null(margin) ? -1 : json_number_value(margin),
			   json_number_value(json_object_get(w, "margin")), 0.001, "%s", ctx);
	cr_assert_eq(json_integer_value(json_object_get(aggs, "lowStockCount")),
		     json_integer_value(json_object_get(w, "low")), "%s", ctx);
	json_decref(w);
	free(want);
	h_resp_free(&r);
}

static void assert_all_aggs(const h_proc_t *srv, const session_t *s)
{
	assert_aggs(srv, s, "", "true");
	assert_aggs(srv, s, "?isActive=true", "active");
	assert_aggs(srv, s, "?category=c1", "category = 'c1'");
	assert_aggs(srv, s, "?priceMin=12", "price >= 12");
}

Test(products, aggregations_stay_exact_through_inserts_updates_and_deletes)
{
	h_proc_t srv;
	session_t a, b;
	cr_assert(h_server_start(&srv, NULL));
	ident_signup(&srv, &a);
	ident_signup(&srv, &b);
	const char *t = a.tenant_id;
	assert_all_aggs(&srv, &a); /* none yet: 0, no margin */
	h_sql_ok(
	    "INSERT INTO products (tenant_id, sku, title, category, price, cost, on_hand,"
	    " available, min_stock_alert, active) SELECT '%s', 'A-' || g, 'x', 'c' || g %% 3,"
	    " CASE WHEN g %% 5 <> 0 THEN 10 + g %% 7 END, CASE WHEN g %% 4 <> 0 THEN 3 + g %% 2"
	    " END, g * 2, g %% 9, CASE WHEN g %% 6 = 0 THEN 2 END, g %% 8 <> 0"
	    " FROM generate_series(1, 40) g",
	    t);
	h_sql_ok("INSERT INTO products (tenant_id, sku, title, price, cost, on_hand, available)"
		 " VALUES ('%s', 'B-ONLY', 'other', 50, 20, 1000, 1000)",
		 b.tenant_id);
	assert_all_aggs(&srv, &a);
	/* One statement at a time, past the point where a writer folds the tenant's rows. */
	for (int i = 0; i < 25; i++)
		h_sql_ok("INSERT INTO products (tenant_id, sku, title, category, price, cost,"
			 " on_hand, available) VALUES ('%s', 'S-%d', 'x', 'c1', %d, %d, %d, %d)",
			 t, i, 5 + i, i % 6, i, i % 7);
	cr_assert_leq(h_sql_int("SELECT count(*) FROM product_totals WHERE tenant_id = '%s'", t),
		      17, "folded");
	assert_all_aggs(&srv, &a);
	h_sql_ok("UPDATE products SET cost = cost + 1, on_hand = on_hand + 3 WHERE tenant_id = '%s'"
		 " AND sku LIKE 'A-%%';"
		 "UPDATE products SET price = NULL WHERE tenant_id = '%s' AND sku = 'S-3';"
		 "UPDATE products SET cost = NULL, min_stock_alert = 50 WHERE tenant_id = '%s'"
		 " AND sku IN ('S-4', 'A-7');"
		 "UPDATE products SET active = NOT active, title = 'y' WHERE tenant_id = '%s'",
		 t, t, t, t);
	h_sql_ok("SELECT stock_set_on_hand('%s', 'A-9', 1, 'manual', 'test')", t);
	assert_all_aggs(&srv, &a);
	h_sql_ok(
	    "DELETE FROM products WHERE tenant_id = '%s' AND (sku LIKE 'A-1%%' OR sku = 'S-0')", t);
	assert_all_aggs(&srv, &a);
	/* A rolled-back change leaves the totals as they were. */
	h_sql_ok("BEGIN; DELETE FROM products WHERE tenant_id = '%s'; ROLLBACK", t);
	assert_all_aggs(&srv, &a);
	/* b's one product, whatever a did; a tenant's delete leaves no totals behind. */
	assert_all_aggs(&srv, &b);
	cr_assert_eq(
	    h_sql_int("SELECT sum(value) FROM product_totals WHERE tenant_id = '%s'", b.tenant_id),
	    20000);
	h_sql_ok("DELETE FROM tenants WHERE id = '%s'", b.tenant_id);
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM product_totals WHERE tenant_id = '%s'", b.tenant_id),
	    0);
	h_server_stop_clean(&srv);
}

Test(products, a_sale_moves_the_sales_sort_but_not_updated_at)
{
	h_proc_t srv;
	session_t a;
	cr_assert(h_server_start(&srv, NULL));
	ident_signup(&srv, &a);
	const char *t = a.tenant_id;
	char acc[40];
	account(t, acc);
	h_sql_ok("INSERT INTO products (tenant_id, sku, title, price, updated_at) VALUES"
		 " ('%s', 'P-1', 'x', 10, '2026-01-01Z'), ('%s', 'P-2', 'x', 10, '2026-01-02Z')",
		 t, t);
	/* P-1 sells 3 x 10, and P-9, not a product yet, 1 x 99. */
	h_sql_ok("INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
		 " date_created, last_updated, total_amount, raw) VALUES ('%s', '%s', 'ml', 'O1',"
		 " 'paid', now(), now(), 129, '{}');"
		 "INSERT INTO order_items (order_id, tenant_id, sku, title, quantity, unit_price,"
		 " sale_fee) SELECT id, tenant_id, s, 'x', q, p, 0 FROM orders, (VALUES ('P-1', 3,"
		 " 10), ('P-9', 1, 99)) v(s, q, p) WHERE tenant_id = '%s' AND external_id = 'O1'",
		 t, acc, t);
	h_sql_ok("INSERT INTO products (tenant_id, sku, title) VALUES ('%s', 'P-9', 'late')", t);
	/* The line's price changed: the sales move, the product (its stock reserved as it was)
	 * is not changed. */
	char *before = h_sql_text("SELECT updated_at FROM products WHERE tenant_id = '%s' AND"
				  " sku = 'P-1'",
				  t);
	h_sql_ok("UPDATE order_items SET unit_price = 40 WHERE tenant_id = '%s' AND sku = 'P-1'",
		 t);
	h_resp_t r =
	    ident_call(&srv, "GET", "/api/products?sortBy=sales&sortOrder=desc", a.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *rows = h_json_path(r.json, "data.products");
	cr_assert_str_eq(json_string_value(h_json_path(json_array_get(rows, 0), "sku")), "P-1",
			 "%s", r.body);
	cr_assert_float_eq(json_number_value(h_json_path(json_array_get(rows, 0), "sales.revenue")),
			   120, 0.001, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(json_array_get(rows, 0), "sales.units")), 3);
	cr_assert_str_eq(json_string_value(h_json_path(json_array_get(rows, 1), "sku")), "P-9",
			 "%s", r.body);
	cr_assert_float_eq(json_number_value(h_json_path(json_array_get(rows, 1), "sales.revenue")),
			   99, 0.001, "%s", r.body);
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM products WHERE tenant_id = '%s' AND"
			       " sku = 'P-1' AND updated_at = '%s'",
			       t, before),
		     1, "updated_at moved by a sale's price");
	free(before);
	r = ident_call(&srv, "GET", "/api/products?sortBy=updated&sortOrder=desc&limit=1", a.access,
		       NULL);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.products.0.sku")), "P-9", "%s",
			 r.body);
	h_resp_free(&r);
	/* Cancelled: back to no sales. */
	h_sql_ok("UPDATE orders SET status = 'cancelled' WHERE tenant_id = '%s'", t);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM products WHERE tenant_id = '%s' AND"
			       " (sales_units, sales_revenue, sales_profit) = (0, 0, 0)",
			       t),
		     3);
	h_server_stop_clean(&srv);
}

/* X-Cache of GET /api/products<query> (a filtered list's aggregations), after checking them. */
static const char *cache_of(const h_proc_t *srv, const session_t *s, const char *query,
			    const char *where)
{
	assert_aggs(srv, s, query, where);
	h_resp_t r = ident_call(srv, "GET", h_fmt("/api/products%s", query), s->access, NULL);
	static __thread char out[16];
	const char *v = h_header(&r, "X-Cache");
	snprintf(out, sizeof(out), "%s", v ? v : "");
	h_resp_free(&r);
	return out;
}

Test(products, cached_filtered_aggregations_follow_every_change)
{
	h_proc_t srv;
	session_t a;
	cr_assert(h_server_start(&srv, NULL));
	ident_signup(&srv, &a);
	const char *t = a.tenant_id;
	char acc[40];
	account(t, acc);
	h_sql_ok("INSERT INTO products (tenant_id, sku, title, category, price, cost, on_hand,"
		 " available) SELECT '%s', 'C-' || g, 'x', 'c1', 10 + g, 4, g, g"
		 " FROM generate_series(1, 8) g",
		 t);
	cr_assert_str_eq(cache_of(&srv, &a, "?category=c1", "category = 'c1'"), "hit");
	/* A setting through the API, a stock change, a title (search), a category: each moves
	 * the version, and the next answer is a recount. */
	h_resp_t r = ident_call(&srv, "PUT", "/api/products/C-1", a.access, "{\"cost\":9}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	cr_assert_str_eq(cache_of(&srv, &a, "?category=c1", "category = 'c1'"), "hit");
	h_sql_ok("SELECT stock_set_on_hand('%s', 'C-2', 100, 'manual', 'test')", t);
	cr_assert_str_eq(cache_of(&srv, &a, "?category=c1", "category = 'c1'"), "hit");
	cr_assert_str_eq(cache_of(&srv, &a, "?search=zz", "title LIKE '%%zz%%'"), "hit");
	h_sql_ok("UPDATE products SET title = 'azzb' WHERE tenant_id = '%s' AND sku = 'C-3'", t);
	cr_assert_str_eq(cache_of(&srv, &a, "?search=zz", "title LIKE '%%zz%%'"), "hit");
	h_sql_ok("UPDATE products SET category = 'c2' WHERE tenant_id = '%s' AND sku = 'C-4'", t);
	cr_assert_str_eq(cache_of(&srv, &a, "?category=c1", "category = 'c1'"), "hit");
	/* Listings: the channel filter follows a SKU linked, moved and unlinked. */
	const char *on_ml = "sku IN (SELECT sku FROM listings WHERE channel = 'ml')";
	cr_assert_str_eq(cache_of(&srv, &a, "?channel=ml", on_ml), "hit");
	h_sql_ok("INSERT INTO listings (tenant_id, account_id, channel, external_id, title, status,"
		 " sku, last_updated, raw) VALUES ('%s', '%s', 'ml', 'MLB9', 'x', 'active', 'C-5',"
		 " now(), '{}')",
		 t, acc);
	cr_assert_str_eq(cache_of(&srv, &a, "?channel=ml", on_ml), "hit");
	h_sql_ok("UPDATE listings SET sku = 'C-6' WHERE tenant_id = '%s'", t);
	cr_assert_str_eq(cache_of(&srv, &a, "?channel=ml", on_ml), "hit");
	h_sql_ok("UPDATE listings SET sku = NULL WHERE tenant_id = '%s'", t);
	cr_assert_str_eq(cache_of(&srv, &a, "?channel=ml", on_ml), "hit");
	h_server_stop_clean(&srv);
}
