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
}
