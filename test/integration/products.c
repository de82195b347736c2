/* The SKU master through the API: GET /api/products filters, sorts and pages the caller's
 * tenant's products and aggregates them (checked against figures worked out by hand), PUT
 * /api/products/:sku changes the seller's settings of one SKU, and bad input is a 400 naming the
 * field. Another tenant's products are never seen nor changed. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"

TestSuite(products, .timeout = 90);

/* One product; price, cost, min, max are SQL literals ("NULL" for none). */
static void add(const char *tenant, const char *sku, const char *title, const char *brand,
		const char *category, const char *price, const char *cost, int stock,
		const char *min, const char *max, bool active)
{
	h_sql_ok(
	    "INSERT INTO products (tenant_id, sku, title, brand, category, price, cost, on_hand,"
	    " available, min_stock_alert, max_stock, active) VALUES ('%s', '%s', '%s', '%s', '%s',"
	    " %s, %s, %d, %d, %s, %s, %s)",
	    tenant, sku, title, brand, category, price, cost, stock, stock, min, max,
	    active ? "true" : "false");
}

/* Tenant a's five products (margin, level):
 *   CAN-1 Caneca Azul  Acme cozinha price 100 cost 60 stock 10 max 100  (40.00, normal)
 *   PRA-2 Prato Fundo  Acme cozinha price  50 cost 40 stock  5          (20.00, low: 5 ≤ 5)
 *   COP-3 Copo         Beta mesa    price  20 cost  5 stock  0          (75.00, critical)
 *   JAR-4 Jarra        Beta mesa    price  80 no cost stock 95 max 100  (none, high) inactive
 *   TIG-5 Tigela       Acme mesa    no price cost 10 stock 20 min 2 max 15 (none, excess)
 * Tenant b: its own CAN-1. */
typedef struct world {
	h_proc_t srv;
	session_t a, b;
} world_t;

static void world_make(world_t *w)
{
	cr_assert(h_server_start(&w->srv, NULL));
	ident_signup(&w->srv, &w->a);
	ident_signup(&w->srv, &w->b);
	const char *t = w->a.tenant_id;
	add(t, "CAN-1", "Caneca Azul", "Acme", "cozinha", "100", "60", 10, "NULL", "100", true);
	add(t, "PRA-2", "Prato Fundo", "Acme", "cozinha", "50", "40", 5, "NULL", "NULL", true);
	add(t, "COP-3", "Copo", "Beta", "mesa", "20", "5", 0, "NULL", "NULL", true);
	add(t, "JAR-4", "Jarra", "Beta", "mesa", "80", "NULL", 95, "NULL", "100", false);
	add(t, "TIG-5", "Tigela", "Acme", "mesa", "NULL", "10", 20, "2", "15", true);
	add(w->b.tenant_id, "CAN-1", "Outra loja", "Acme", "cozinha", "1", "1", 1000, "NULL",
	    "NULL", true);
}

static h_resp_t get(const world_t *w, const char *query)
{
	const char *path = h_fmt("/api/products%s", query);
	h_resp_t r = ident_call(&w->srv, "GET", path, w->a.access, NULL);
	cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
	return r;
}

/* The SKUs of GET /api/products<query>, in order, joined by spaces. */
static const char *skus(const world_t *w, const char *query)
{
	static __thread char out[256];
	h_resp_t r = get(w, query);
	json_t *rows = h_json_path(r.json, "data.products"), *row;
	cr_assert(json_is_array(rows), "%s", r.body);
	size_t i;
	out[0] = 0;
	json_array_foreach(rows, i, row)
	{
		if (i)
			strcat(out, " ");
		strcat(out, json_string_value(json_object_get(row, "sku")));
	}
	h_resp_free(&r);
	return out;
}

static double num_at(json_t *root, const char *path)
{
	json_t *v = h_json_path(root, path);
	cr_assert(json_is_number(v), "%s is not a number", path);
	return json_number_value(v);
}

static void assert_invalid(const world_t *w, const char *method, const char *path, const char *body,
			   const char *field)
{
	h_resp_t r = ident_call(&w->srv, method, path, w->a.access, body);
	cr_assert_eq(r.status, 400, "%s %s %s: %s", method, path, body ? body : "", r.body);
	cr_assert_str_eq(ident_code(&r), "VALIDATION_FAILED", "%s", r.body);
	cr_assert_not_null(strstr(r.body, h_fmt("\"field\":\"%s\"", field)), "%s", r.body);
	h_resp_free(&r);
}

Test(products, lists_the_tenants_products_with_hand_computed_aggregations)
{
	world_t w;
	world_make(&w);
	h_resp_t r = get(&w, "");
	cr_assert_eq(json_array_size(h_json_path(r.json, "data.products")), 5, "%s", r.body);
	cr_assert_eq(num_at(r.json, "data.pagination.total"), 5);
	cr_assert_eq(num_at(r.json, "data.aggregations.totalProducts"), 5, "%s", r.body);
	/* 10×60 + 5×40 + 0×5 + 95×(no cost) + 20×10 */
	cr_assert_float_eq(num_at(r.json, "data.aggregations.totalValue"), 1000.0, 0.001, "%s",
			   r.body);
	/* (40 + 20 + 75) / 3: products without a margin do not count */
	cr_assert_float_eq(num_at(r.json, "data.aggregations.avgMargin"), 45.0, 0.001, "%s",
			   r.body);
	/* PRA-2 (5 ≤ the default 5) and COP-3 (0); TIG-5's 20 is above its own min 2 */
	cr_assert_eq(num_at(r.json, "data.aggregations.lowStockCount"), 2, "%s", r.body);
	json_t *can = json_array_get(h_json_path(r.json, "data.products"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(can, "sku")), "CAN-1", "%s", r.body);
	cr_assert_float_eq(num_at(can, "margin"), 40.0, 0.001);
	cr_assert_float_eq(num_at(can, "price"), 100.0, 0.001);
	cr_assert_eq(num_at(can, "available"), 10);
	cr_assert_str_eq(json_string_value(json_object_get(can, "title")), "Caneca Azul");
	cr_assert(json_is_true(json_object_get(can, "isActive")));
	h_resp_free(&r);

	/* Aggregations follow the filters. */
	r = get(&w, "?category=mesa");
	cr_assert_eq(num_at(r.json, "data.aggregations.totalProducts"), 3, "%s", r.body);
	cr_assert_float_eq(num_at(r.json, "data.aggregations.totalValue"), 200.0, 0.001);
	cr_assert_float_eq(num_at(r.json, "data.aggregations.avgMargin"), 75.0, 0.001);
	cr_assert_eq(num_at(r.json, "data.aggregations.lowStockCount"), 1);
	h_resp_free(&r);

	/* Tenant b sees its one product only. */
	r = ident_call(&w.srv, "GET", "/api/products", w.b.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(num_at(r.json, "data.pagination.total"), 1, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.products.0.title")),
			 "Outra loja");
	cr_assert_float_eq(num_at(r.json, "data.aggregations.totalValue"), 1000.0, 0.001);
	h_resp_free(&r);
	h_server_stop_clean(&w.srv);
}

Test(products, filters_sorts_and_pages)
{
	world_t w;
	world_make(&w);
	cr_assert_str_eq(skus(&w, ""), "CAN-1 COP-3 JAR-4 PRA-2 TIG-5");
	cr_assert_str_eq(skus(&w, "?search=CANECA"), "CAN-1");
	cr_assert_str_eq(skus(&w, "?search=pra"), "PRA-2");
	cr_assert_str_eq(skus(&w, "?brand=Acme"), "CAN-1 PRA-2 TIG-5");
	cr_assert_str_eq(skus(&w, "?category=cozinha"), "CAN-1 PRA-2");
	cr_assert_str_eq(skus(&w, "?isActive=false"), "JAR-4");
	cr_assert_str_eq(skus(&w, "?isActive=true&brand=Beta"), "COP-3");
	cr_assert_str_eq(skus(&w, "?stockLevel=critical"), "COP-3");
	cr_assert_str_eq(skus(&w, "?stockLevel=low"), "PRA-2");
	cr_assert_str_eq(skus(&w, "?stockLevel=normal"), "CAN-1");
	cr_assert_str_eq(skus(&w, "?stockLevel=high"), "JAR-4");
	cr_assert_str_eq(skus(&w, "?stockLevel=excess"), "TIG-5");
	cr_assert_str_eq(skus(&w, "?priceMin=50&priceMax=90"), "JAR-4 PRA-2");
	cr_assert_str_eq(skus(&w, "?marginMin=30"), "CAN-1 COP-3");
	cr_assert_str_eq(skus(&w, "?marginMax=40"), "CAN-1 PRA-2");
	cr_assert_str_eq(skus(&w, "?sortBy=price&sortOrder=desc"), "CAN-1 JAR-4 PRA-2 COP-3 TIG-5");
	cr_assert_str_eq(skus(&w, "?sortBy=price"), "COP-3 PRA-2 JAR-4 CAN-1 TIG-5");
	cr_assert_str_eq(skus(&w, "?sortBy=stock&sortOrder=asc"), "COP-3 PRA-2 CAN-1 TIG-5 JAR-4");
	cr_assert_str_eq(skus(&w, "?sortBy=margin&sortOrder=desc"),
			 "COP-3 CAN-1 PRA-2 JAR-4 TIG-5");
	h_sql_ok("UPDATE products SET title = title WHERE tenant_id = '%s' AND sku = 'PRA-2'",
		 w.a.tenant_id);
	cr_assert_str_eq(skus(&w, "?sortBy=updated&sortOrder=desc&limit=1"), "PRA-2");

	h_resp_t r = get(&w, "?limit=2&page=2");
	cr_assert_eq(num_at(r.json, "data.pagination.total"), 5, "%s", r.body);
	cr_assert_eq(num_at(r.json, "data.pagination.pages"), 3, "%s", r.body);
	cr_assert_eq(num_at(r.json, "data.pagination.page"), 2, "%s", r.body);
	cr_assert_eq(num_at(r.json, "data.aggregations.totalProducts"), 5, "over every page");
	h_resp_free(&r);
	cr_assert_str_eq(skus(&w, "?limit=2&page=2"), "JAR-4 PRA-2");
	cr_assert_str_eq(skus(&w, "?limit=2&page=3"), "TIG-5");
	cr_assert_str_eq(skus(&w, "?limit=2&page=4"), "");

	assert_invalid(&w, "GET", "/api/products?limit=101", NULL, "limit");
	assert_invalid(&w, "GET", "/api/products?stockLevel=bogus", NULL, "stockLevel");
	assert_invalid(&w, "GET", "/api/products?sortBy=name", NULL, "sortBy");
	assert_invalid(&w, "GET", "/api/products?sortOrder=up", NULL, "sortOrder");
	assert_invalid(&w, "GET", "/api/products?isActive=yes", NULL, "isActive");
	assert_invalid(&w, "GET", "/api/products?priceMin=abc", NULL, "priceMin");
	assert_invalid(&w, "GET", "/api/products?marginMax=101", NULL, "marginMax");
	assert_invalid(&w, "GET", "/api/products?marginMin=60&marginMax=10", NULL, "marginMin");
	h_server_stop_clean(&w.srv);
}

Test(products, put_changes_the_settings_of_the_tenants_sku_only)
{
	world_t w;
	world_make(&w);
	h_resp_t r = ident_call(&w.srv, "PUT", "/api/products/CAN-1", w.a.access,
				"{\"minStockAlert\":3,\"maxStock\":50,\"targetMargin\":35.5,"
				"\"cost\":55,\"notes\":\"frágil\",\"tags\":[\"azul\",\"vidro\"],"
				"\"customFields\":{\"cor\":\"azul\"}}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *p = h_json_path(r.json, "data");
	cr_assert_str_eq(json_string_value(json_object_get(p, "sku")), "CAN-1");
	cr_assert_eq(num_at(p, "minStockAlert"), 3);
	cr_assert_eq(num_at(p, "maxStock"), 50);
	cr_assert_float_eq(num_at(p, "targetMargin"), 35.5, 0.001);
	cr_assert_float_eq(num_at(p, "cost"), 55.0, 0.001);
	cr_assert_float_eq(num_at(p, "margin"), 45.0, 0.001, "(100 - 55) / 100: %s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(p, "notes")), "frágil");
	cr_assert_str_eq(json_string_value(h_json_path(p, "tags.1")), "vidro");
	cr_assert_str_eq(json_string_value(h_json_path(p, "customFields.cor")), "azul");
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT max_stock FROM products WHERE tenant_id = '%s' AND"
			       " sku = 'CAN-1'",
			       w.a.tenant_id),
		     50);
	/* A field left out stays; null clears. */
	r = ident_call(&w.srv, "PUT", "/api/products/CAN-1", w.a.access, "{\"notes\":null}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_null(h_json_path(r.json, "data.notes")), "%s", r.body);
	cr_assert_eq(num_at(r.json, "data.maxStock"), 50);
	h_resp_free(&r);

	/* maxStock against the stored minStockAlert (3). */
	assert_invalid(&w, "PUT", "/api/products/CAN-1", "{\"maxStock\":2}", "maxStock");
	assert_invalid(&w, "PUT", "/api/products/CAN-1", "{\"minStockAlert\":9,\"maxStock\":9}",
		       "maxStock");
	assert_invalid(&w, "PUT", "/api/products/CAN-1", "{\"minStockAlert\":-1}", "minStockAlert");
	assert_invalid(&w, "PUT", "/api/products/CAN-1", "{\"targetMargin\":101}", "targetMargin");
	assert_invalid(&w, "PUT", "/api/products/CAN-1", "{\"cost\":-1}", "cost");
	assert_invalid(&w, "PUT", "/api/products/CAN-1", "{\"color\":\"red\"}", "color");
	assert_invalid(&w, "PUT", "/api/products/CAN-1", "{\"customFields\":[1]}", "customFields");
	assert_invalid(&w, "PUT", "/api/products/CAN-1",
		       "{\"tags\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\","
		       "\"11\"]}",
		       "tags");
	char notes[600];
	memset(notes, 'x', 501);
	notes[501] = 0;
	assert_invalid(&w, "PUT", "/api/products/CAN-1", h_fmt("{\"notes\":\"%s\"}", notes),
		       "notes");
	cr_assert_eq(h_sql_int("SELECT max_stock FROM products WHERE tenant_id = '%s' AND"
			       " sku = 'CAN-1'",
			       w.a.tenant_id),
		     50, "nothing changed by a refused body");

	/* Another tenant's SKU and an unknown one are 404; b's own CAN-1 is b's. */
	r = ident_call(&w.srv, "PUT", "/api/products/COP-3", w.b.access, "{\"maxStock\":7}");
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&w.srv, "PUT", "/api/products/NOPE", w.a.access, "{\"maxStock\":7}");
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&w.srv, "PUT", "/api/products/CAN-1", w.b.access, "{\"maxStock\":7}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(r.json, "data.title")), "Outra loja");
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT max_stock FROM products WHERE tenant_id = '%s' AND"
			       " sku = 'CAN-1'",
			       w.a.tenant_id),
		     50);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM products WHERE tenant_id = '%s' AND"
			       " sku = 'COP-3' AND max_stock IS NULL",
			       w.a.tenant_id),
		     1);
	h_server_stop_clean(&w.srv);
}

/* An account of tenant t on channel; its id into id (40 bytes). */
static void add_account(const char *t, const char *channel, char *id)
{
	h_sql_ok("INSERT INTO accounts (tenant_id, channel, external_id, nickname,"
		 " access_token_sealed) VALUES ('%s', '%s', 'P-%s-%s', 'Loja', 'v1:k:x')",
		 t, channel, channel, t);
	char *v = h_sql_text("SELECT id FROM accounts WHERE tenant_id = '%s' AND channel = '%s'", t,
			     channel);
	snprintf(id, 40, "%s", v);
	free(v);
}

/* An order of one line (sku x qty at price, fee per unit) at `at` (SQL), then its line. */
static void add_sale(const char *t, const char *account, const char *channel, const char *ext,
		     const char *status, const char *at, const char *sku, int qty,
		     const char *price, const char *fee)
{
	h_sql_ok("INSERT INTO orders (tenant_id, account_id, channel, external_id, status,"
		 " date_created, last_updated, total_amount, raw) VALUES ('%s', '%s', '%s', '%s',"
		 " '%s', %s, now(), %d * %s, '{}');"
		 "INSERT INTO order_items (order_id, tenant_id, sku, title, quantity, unit_price,"
		 " sale_fee) SELECT id, tenant_id, '%s', 'x', %d, %s, %s FROM orders"
		 " WHERE tenant_id = '%s' AND external_id = '%s'",
		 t, account, channel, ext, status, at, qty, price, sku, qty, price, fee, t, ext);
}

static void add_listing(const char *t, const char *account, const char *channel, const char *ext,
			const char *sku)
{
	h_sql_ok("INSERT INTO listings (tenant_id, account_id, channel, external_id, title, status,"
		 " sku, last_updated, raw) VALUES ('%s', '%s', '%s', '%s', 'x', 'active', '%s',"
		 " now(), '{}')",
		 t, account, channel, ext, sku);
}

/* Sales (revenue; profit = revenue - fees - cost at sale):
 *   CAN-1 ml 2 x 100, fee 10, cost 60: 200 (60)   PRA-2 ml 5 x 50, fee 2, cost 40: 250 (40)
 *   COP-3 amazon 1 x 20, cost 5: 20 (15)           TIG-5: only a cancelled order (0)
 * Listings: CAN-1 on ml and amazon, COP-3 on amazon. */
Test(products, sorts_by_sales_and_profit_and_filters_by_channel)
{
	world_t w;
	world_make(&w);
	const char *t = w.a.tenant_id;
	char ml[40], amz[40];
	add_account(t, "ml", ml);
	add_account(t, "amazon", amz);
	add_sale(t, ml, "ml", "1", "paid", "now() - interval '1 day'", "CAN-1", 2, "100", "10");
	add_sale(t, ml, "ml", "2", "paid", "now() - interval '400 days'", "PRA-2", 5, "50", "2");
	add_sale(t, amz, "amazon", "3", "delivered", "now()", "COP-3", 1, "20", "0");
	add_sale(t, ml, "ml", "4", "cancelled", "now()", "TIG-5", 100, "1000", "0");
	add_listing(t, ml, "ml", "MLB1", "CAN-1");
	add_listing(t, amz, "amazon", "B01", "CAN-1");
	add_listing(t, amz, "amazon", "B03", "COP-3");

	cr_assert_str_eq(skus(&w, "?sortBy=sales&sortOrder=desc"), "PRA-2 CAN-1 COP-3 JAR-4 TIG-5");
	cr_assert_str_eq(skus(&w, "?sortBy=sales"), "JAR-4 TIG-5 COP-3 CAN-1 PRA-2");
	cr_assert_str_eq(skus(&w, "?sortBy=profit&sortOrder=desc"),
			 "CAN-1 PRA-2 COP-3 JAR-4 TIG-5");
	h_resp_t r = get(&w, "?sortBy=sales&sortOrder=desc&limit=2");
	json_t *can = json_array_get(h_json_path(r.json, "data.products"), 1);
	cr_assert_float_eq(num_at(can, "sales.revenue"), 200.0, 0.001, "%s", r.body);
	cr_assert_float_eq(num_at(can, "sales.profit"), 60.0, 0.001, "%s", r.body);
	cr_assert_eq(num_at(can, "sales.units"), 2);
	h_resp_free(&r);

	/* An order cancelled, a line changed: the figures follow. */
	h_sql_ok(
	    "UPDATE orders SET status = 'cancelled' WHERE tenant_id = '%s' AND external_id = '2';"
	    "UPDATE order_items SET quantity = 4 WHERE tenant_id = '%s' AND sku = 'COP-3'",
	    t, t);
	cr_assert_str_eq(skus(&w, "?sortBy=sales&sortOrder=desc"), "CAN-1 COP-3 JAR-4 PRA-2 TIG-5");
	r = get(&w, "?search=COP");
	cr_assert_float_eq(
	    num_at(json_array_get(h_json_path(r.json, "data.products"), 0), "sales.revenue"), 80.0,
	    0.001, "%s", r.body);
	h_resp_free(&r);

	/* A listing's id finds its SKU: an item id, an Amazon seller SKU, an ASIN in any case;
	 * never another tenant's listing of the same id. */
	h_sql_ok("UPDATE listings SET raw = '{\"ASIN\": \"B0COPO0003\"}' WHERE tenant_id = '%s'"
		 " AND external_id = 'B03'",
		 t);
	char other[40];
	add_account(w.b.tenant_id, "ml", other);
	add_listing(w.b.tenant_id, other, "ml", "MLB9", "CAN-1");
	cr_assert_str_eq(skus(&w, "?search=MLB1"), "CAN-1");
	cr_assert_str_eq(skus(&w, "?search=mlb1"), "CAN-1");
	cr_assert_str_eq(skus(&w, "?search=B03"), "COP-3");
	cr_assert_str_eq(skus(&w, "?search=b0copo0003"), "COP-3");
	cr_assert_str_eq(skus(&w, "?search=MLB9"), "");
	cr_assert_str_eq(skus(&w, "?channel=amazon"), "CAN-1 COP-3");
	cr_assert_str_eq(skus(&w, "?channel=ml"), "CAN-1");
	cr_assert_str_eq(skus(&w, "?channel=amazon&sortBy=sales&sortOrder=desc"), "CAN-1 COP-3");
	assert_invalid(&w, "GET", "/api/products?channel=nosuch", NULL, "channel");
	assert_invalid(&w, "GET", "/api/products?sortBy=revenue", NULL, "sortBy");
	h_server_stop_clean(&w.srv);
}

/* Walks 1,055 products by cursor, 100 a page, while new ones arrive: every product there when
 * the walk began comes exactly once, in order (stock descending, then SKU). */
Test(products, cursor_pages_past_1000_rows_stably)
{
	world_t w;
	world_make(&w);
	const char *t = w.a.tenant_id;
	h_sql_ok("INSERT INTO products (tenant_id, sku, title, on_hand, available)"
		 " SELECT '%s', 'P-' || lpad(g::text, 4, '0'), 'Item ' || g, g %% 7, g %% 7"
		 " FROM generate_series(1, 1050) g",
		 t);
	/* The first two pages by offset, for comparison. */
	char first[2][4096];
	for (int p = 0; p < 2; p++)
		snprintf(first[p], sizeof(first[p]), "%s",
			 skus(&w, h_fmt("?sortBy=stock&sortOrder=desc&limit=100&page=%d", p + 1)));
	static char seen[1200][16];
	int n = 0, pages = 0;
	long prev_stock = 1L << 30;
	char prev_sku[16] = "";
	char cursor[700] = "";
	for (;;) {
		h_resp_t r = get(&w, h_fmt("?sortBy=stock&sortOrder=desc&limit=100%s%s",
					   *cursor ? "&cursor=" : "", cursor));
		json_t *rows = h_json_path(r.json, "data.products"), *row;
		size_t i;
		char page[4096] = "";
		json_array_foreach(rows, i, row)
		{
			const char *sku = json_string_value(json_object_get(row, "sku"));
			long stock = (long)num_at(row, "available");
			cr_assert(stock < prev_stock ||
				      (stock == prev_stock && strcmp(sku, prev_sku) > 0),
				  "page %d: %s (%ld) after %s (%ld)", pages + 1, sku, stock,
				  prev_sku, prev_stock);
			prev_stock = stock;
			snprintf(prev_sku, sizeof(prev_sku), "%s", sku);
			if (strncmp(sku, "NEW-", 4) != 0)
				snprintf(seen[n++], sizeof(seen[0]), "%s", sku);
			if (i)
				strcat(page, " ");
			strcat(page, sku);
		}
		if (pages < 2)
			cr_assert_str_eq(page, first[pages], "cursor page %d vs offset page",
					 pages + 1);
		pages++;
		json_t *next = h_json_path(r.json, "data.nextCursor");
		if (json_is_null(next)) {
			cr_assert_lt(json_array_size(rows), 100, "a full page has a next cursor");
			h_resp_free(&r);
			break;
		}
		cr_assert_eq(json_array_size(rows), 100);
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		h_resp_free(&r);
		if (pages == 3) /* arrivals before and after the walk's place */
			h_sql_ok("INSERT INTO products (tenant_id, sku, title, on_hand, available)"
				 " VALUES ('%s', 'NEW-1', 'x', 6, 6), ('%s', 'NEW-2', 'x', 0, 0)",
				 t, t);
		cr_assert_lt(pages, 20);
	}
	cr_assert_eq(n, 1055, "every product once: %d", n);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			cr_assert_str_neq(seen[i], seen[j]);
	cr_assert_eq(pages, 11);
	assert_invalid(&w, "GET", "/api/products?cursor=zz", NULL, "cursor");
	assert_invalid(&w, "GET", "/api/products?cursor=61627c50", NULL, "cursor"); /* "ab|P" */
	h_server_stop_clean(&w.srv);
}

Test(products, detail_with_metrics_history_and_recommendations)
{
	world_t w;
	world_make(&w);
	const char *t = w.a.tenant_id;
	char ml[40];
	add_account(t, "ml", ml);
	add_listing(t, ml, "ml", "MLB1", "CAN-1");
	h_sql_ok("UPDATE products SET target_margin = 50 WHERE tenant_id = '%s' AND sku = 'CAN-1'",
		 t);
	/* 30 units today at 100; 6 at 90 sixty days ago; 10 long ago (outside 90 days). */
	add_sale(t, ml, "ml", "1", "delivered", "now()", "CAN-1", 30, "100", "1");
	add_sale(t, ml, "ml", "2", "delivered", "now() - interval '60 days'", "CAN-1", 6, "90",
		 "1");
	add_sale(t, ml, "ml", "3", "delivered", "now() - interval '200 days'", "CAN-1", 10, "80",
		 "1");
	h_sql_ok("SELECT stock_set_on_hand('%s', 'CAN-1', 40, 'manual', 'test')", t);
	long avail = (long)h_sql_int("SELECT available FROM products WHERE tenant_id = '%s' AND"
				     " sku = 'CAN-1'",
				     t);
	h_resp_t r = ident_call(&w.srv, "GET", "/api/products/CAN-1", w.a.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *d = h_json_path(r.json, "data");
	cr_assert_str_eq(json_string_value(h_json_path(d, "product.sku")), "CAN-1");
	cr_assert_float_eq(num_at(d, "metrics.sales30d"), 3000.0, 0.001, "%s", r.body);
	cr_assert_float_eq(num_at(d, "metrics.sales90d"), 3540.0, 0.001, "%s", r.body);
	cr_assert_eq(num_at(d, "metrics.units30d"), 30);
	cr_assert_float_eq(num_at(d, "metrics.velocity"), 1.0, 0.001);
	cr_assert_float_eq(num_at(d, "metrics.daysOfStock"), (double)avail, 0.001, "%s", r.body);
	cr_assert_eq(json_array_size(h_json_path(d, "history.sales")), 2, "%s", r.body);
	cr_assert_float_eq(num_at(json_array_get(h_json_path(d, "history.price"), 0), "avgPrice"),
			   90.0, 0.001);
	json_t *stock = h_json_path(d, "history.stock");
	cr_assert_geq(json_array_size(stock), 1, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(
			     json_array_get(stock, json_array_size(stock) - 1), "cause")),
			 "manual");
	cr_assert_eq(json_array_size(h_json_path(d, "listings")), 1, "%s", r.body);
	/* Velocity 1 a day, minimum 5: the restock day is (available - 5) days away; 30 days more
	 * above the minimum within maxStock 100; 60 / (1 - 0.5). */
	char *day = h_sql_text("SELECT (current_date + greatest(%ld - 5, 0))::text", avail);
	cr_assert_str_eq(json_string_value(h_json_path(d, "recommendations.restockDate")), day,
			 "%s", r.body);
	free(day);
	long want_qty = 30 + 5 - avail < 100 - avail ? 30 + 5 - avail : 100 - avail;
	if (want_qty > 0)
		cr_assert_eq(num_at(d, "recommendations.restockQuantity"), want_qty, "%s", r.body);
	cr_assert_float_eq(num_at(d, "recommendations.targetPrice"), 120.0, 0.001, "%s", r.body);
	cr_assert_not_null(strstr(r.body, "BELOW_TARGET_MARGIN"), "%s", r.body);
	h_resp_free(&r);

	r = ident_call(&w.srv, "GET", "/api/products/COP-3", w.a.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_not_null(strstr(r.body, "OUT_OF_STOCK"), "%s", r.body);
	cr_assert(json_is_null(h_json_path(r.json, "data.metrics.daysOfStock")), "%s", r.body);
	cr_assert_null(h_json_path(r.json, "data.recommendations.restockDate"), "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&w.srv, "GET", "/api/products/JAR-4", w.a.access, NULL);
	cr_assert_not_null(strstr(r.body, "NO_COST"), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "NO_SALES_30D"), "%s", r.body);
	h_resp_free(&r);

	/* Another tenant's SKU, an unknown one: 404. */
	add(w.b.tenant_id, "B-ONLY", "x", "x", "x", "1", "1", 1, "NULL", "NULL", true);
	r = ident_call(&w.srv, "GET", "/api/products/B-ONLY", w.a.access, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&w.srv, "GET", "/api/products/NOPE", w.a.access, NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	h_resp_free(&r);
	h_server_stop_clean(&w.srv);
}

Test(products, bulk_update_changes_what_it_can_and_names_the_rest)
{
	world_t w;
	world_make(&w);
	const char *t = w.a.tenant_id;
	add(w.b.tenant_id, "B-ONLY", "x", "x", "x", "1", "1", 1, "NULL", "NULL", true);
	h_sql_ok("UPDATE products SET min_stock_alert = 5 WHERE tenant_id = '%s' AND sku = 'PRA-2'",
		 t);
	h_resp_t r = ident_call(&w.srv, "POST", "/api/products/bulk-update", w.a.access,
				"{\"skus\":[\"CAN-1\",\"PRA-2\",\"NOPE\",\"COP-3\",\"B-ONLY\","
				"\"CAN-1\"],\"updates\":{\"maxStock\":3,\"notes\":\"lote\"}}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(num_at(r.json, "data.updated"), 2, "%s", r.body);
	json_t *failed = h_json_path(r.json, "data.failed");
	cr_assert_eq(json_array_size(failed), 3, "%s", r.body);
	cr_assert_str_eq(json_string_value(h_json_path(json_array_get(failed, 0), "sku")),
			 "B-ONLY");
	cr_assert_str_eq(json_string_value(h_json_path(json_array_get(failed, 0), "code")),
			 "NOT_FOUND");
	cr_assert_str_eq(json_string_value(h_json_path(json_array_get(failed, 1), "sku")), "NOPE");
	cr_assert_str_eq(json_string_value(h_json_path(json_array_get(failed, 2), "sku")), "PRA-2");
	cr_assert_str_eq(json_string_value(h_json_path(json_array_get(failed, 2), "code")),
			 "VALIDATION_FAILED");
	h_resp_free(&r);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM products WHERE tenant_id = '%s' AND"
			       " max_stock = 3 AND notes = 'lote'",
			       t),
		     2);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM products WHERE tenant_id = '%s' AND"
			       " sku = 'PRA-2' AND notes IS NULL AND max_stock IS NULL",
			       t),
		     1, "the failed SKU is left as it was");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM products WHERE tenant_id = '%s' AND"
			       " notes IS NOT NULL",
			       w.b.tenant_id),
		     0, "another tenant's SKU is never changed");

	char many[2000] = "{\"skus\":[";
	for (int i = 0; i < 101; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s\"S%d\"",
			 i ? "," : "", i);
	strcat(many, "],\"updates\":{\"notes\":\"x\"}}");
	assert_invalid(&w, "POST", "/api/products/bulk-update", many, "skus");
	assert_invalid(&w, "POST", "/api/products/bulk-update",
		       "{\"skus\":[\"CAN-1\"],\"updates\":{\"targetMargin\":101}}",
		       "updates.targetMargin");
	assert_invalid(&w, "POST", "/api/products/bulk-update",
		       "{\"skus\":[\"CAN-1\"],\"updates\":{}}", "updates");
	assert_invalid(&w, "POST", "/api/products/bulk-update",
		       "{\"skus\":[],\"updates\":{\"notes\":\"x\"}}", "skus");
	assert_invalid(&w, "POST", "/api/products/bulk-update",
		       "{\"skus\":[\"CAN-1\"],\"updates\":{\"notes\":\"x\"},\"all\":true}", "all");
	cr_assert_eq(h_sql_int("SELECT count(*) FROM products WHERE tenant_id = '%s' AND"
			       " notes = 'x'",
			       t),
		     0, "nothing changed by a refused body");
	h_server_stop_clean(&w.srv);
}
