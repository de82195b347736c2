/* marketsim: item search paging, the 1000-offset cap, scan scrolls and their expiry, the item
 * and multiget shapes, and PUT /items stock and status rules. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "marketsim_helpers.h"

static h_proc_t sim;
static msh_app_t app;
static msh_tokens_t tok;

/* One seller with 1200 items: enough to hit the offset cap. */
static void start_big(void)
{
	const char *args[] = {"--sellers",    "1", "--items", "1200", "--orders", "10",
			      "--scroll-ttl", "1", NULL};
	msh_start(&sim, &app, args);
	msh_login(&sim, &app, app.sellers[0], &tok);
}

static void start_small(void)
{
	msh_start(&sim, &app, NULL);
	msh_login(&sim, &app, app.sellers[0], &tok);
}

static void stop(void)
{
	msh_stop(&sim);
}

TestSuite(marketsim_items_paging, .init = start_big, .fini = stop, .timeout = 60);
TestSuite(marketsim_items, .init = start_small, .fini = stop, .timeout = 30);

static h_resp_t search(const char *query)
{
	char path[512];
	snprintf(path, sizeof(path), "/users/%lld/items/search%s", (long long)app.sellers[0],
		 query);
	return msh_get(&sim, tok.access, path);
}

Test(marketsim_items_paging, offset_paging_arithmetic_and_the_1000_cap)
{
	h_resp_t first = search("");
	cr_assert_eq(first.status, 200, "%s", first.body);
	json_t *paging = json_object_get(first.json, "paging");
	cr_assert_eq(json_integer_value(json_object_get(paging, "total")), 1200);
	cr_assert_eq(json_integer_value(json_object_get(paging, "limit")), 50, "default limit");
	cr_assert_eq(json_array_size(json_object_get(first.json, "results")), 50);
	char sid[32];
	snprintf(sid, sizeof(sid), "%lld", (long long)app.sellers[0]);
	cr_assert_str_eq(msh_str(first.json, "seller_id"), sid, "seller_id is a string");
	cr_assert(json_is_null(json_object_get(first.json, "query")));
	cr_assert_str_eq(msh_str(json_array_get(json_object_get(first.json, "orders"), 0), "id"),
			 "stop_time_asc");
	h_resp_free(&first);

	/* Pages of 100 up to the cap: 1000 distinct ids, none repeated. */
	json_t *seen = json_object();
	for (int off = 0; off < 1000; off += 100) {
		char q[64];
		snprintf(q, sizeof(q), "?offset=%d&limit=100", off);
		h_resp_t r = search(q);
		cr_assert_eq(r.status, 200, "offset %d: %s", off, r.body);
		json_t *res = json_object_get(r.json, "results");
		cr_assert_eq(json_array_size(res), 100);
		size_t i;
		json_t *id;
		json_array_foreach(res, i, id)
		    json_object_set(seen, json_string_value(id), json_true());
		h_resp_free(&r);
	}
	cr_assert_eq(json_object_size(seen), 1000);
	json_decref(seen);

	h_resp_t edge = search("?offset=950&limit=100");
	cr_assert_eq(json_array_size(json_object_get(edge.json, "results")), 50,
		     "offset paging stops at the 1000th result");
	h_resp_t capped = search("?offset=1000&limit=50");
	msh_assert_error(&capped, 400, "bad_request");
	h_resp_t big = search("?limit=101");
	cr_assert_eq(big.status, 400);
	h_resp_free(&edge);
	h_resp_free(&capped);
	h_resp_free(&big);
}

Test(marketsim_items_paging, scan_reaches_every_item_and_the_scroll_expires)
{
	msh_clock(&sim, "{\"frozen\":true}"); /* the 1 s scroll lives until the clock moves */
	h_resp_t r = search("?search_type=scan&limit=100");
	cr_assert_eq(r.status, 200, "%s", r.body);
	char scroll[128];
	snprintf(scroll, sizeof(scroll), "%s", msh_str(r.json, "scroll_id"));
	json_t *seen = json_object();
	int pages = 0;
	for (;;) {
		json_t *res = json_object_get(r.json, "results");
		size_t i;
		json_t *id;
		json_array_foreach(res, i, id)
		    json_object_set(seen, json_string_value(id), json_true());
		size_t n = json_array_size(res);
		h_resp_free(&r);
		if (n == 0)
			break;
		pages++;
		char q[256];
		snprintf(q, sizeof(q), "?search_type=scan&scroll_id=%s", scroll);
		r = search(q);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_str_eq(msh_str(r.json, "scroll_id"), scroll, "the same scroll_id");
	}
	cr_assert_eq(pages, 12);
	cr_assert_eq(json_object_size(seen), 1200, "scan goes past the offset cap");
	json_decref(seen);

	h_resp_t mixed = search("?search_type=scan&offset=10");
	cr_assert_eq(mixed.status, 400, "scan does not mix with offset");
	h_resp_free(&mixed);
	h_resp_t fresh = search("?search_type=scan&limit=10");
	snprintf(scroll, sizeof(scroll), "%s", msh_str(fresh.json, "scroll_id"));
	h_resp_free(&fresh);
	msh_clock_advance(&sim, 1001); /* past --scroll-ttl 1, on marketsim's clock */
	char q[256];
	snprintf(q, sizeof(q), "?search_type=scan&scroll_id=%s", scroll);
	h_resp_t expired = search(q);
	msh_assert_error(&expired, 400, "bad_request");
	h_resp_free(&expired);
}

Test(marketsim_items, status_filter_partitions_the_items)
{
	h_resp_t all = search("?limit=100");
	json_int_t total =
	    json_integer_value(json_object_get(json_object_get(all.json, "paging"), "total"));
	cr_assert_gt(total, 0);
	json_int_t sum = 0;
	const char *statuses[] = {"active", "paused", "closed"};
	for (size_t s = 0; s < 3; s++) {
		char q[64];
		snprintf(q, sizeof(q), "?status=%s&limit=100", statuses[s]);
		h_resp_t r = search(q);
		cr_assert_eq(r.status, 200);
		sum +=
		    json_integer_value(json_object_get(json_object_get(r.json, "paging"), "total"));
		size_t i;
		json_t *id;
		json_array_foreach(json_object_get(r.json, "results"), i, id)
		{
			char path[64];
			snprintf(path, sizeof(path), "/items/%s", json_string_value(id));
			h_resp_t it = msh_get(&sim, tok.access, path);
			cr_assert_str_eq(msh_str(it.json, "status"), statuses[s]);
			h_resp_free(&it);
		}
		h_resp_free(&r);
	}
	cr_assert_eq(sum, total);
	h_resp_t bad = search("?status=sleeping");
	cr_assert_eq(bad.status, 400);
	h_resp_free(&bad);
	h_resp_free(&all);
}

static bool has_seller_sku(json_t *holder)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(holder, "attributes"), i, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "id")), "SELLER_SKU") == 0 &&
		    json_is_string(json_object_get(a, "value_name")))
			return true;
	}
	return false;
}

Test(marketsim_items, item_shape_and_public_view)
{
	h_resp_t list = search("?limit=100");
	size_t i;
	json_t *id;
	int with_variations = 0;
	json_array_foreach(json_object_get(list.json, "results"), i, id)
	{
		char path[64];
		snprintf(path, sizeof(path), "/items/%s", json_string_value(id));
		h_resp_t r = msh_get(&sim, tok.access, path);
		cr_assert_eq(r.status, 200);
		json_t *it = r.json;
		cr_assert_str_eq(msh_str(it, "id"), json_string_value(id));
		cr_assert_str_eq(msh_str(it, "site_id"), "MLB");
		cr_assert_str_eq(msh_str(it, "currency_id"), "BRL");
		cr_assert(json_is_number(json_object_get(it, "price")));
		cr_assert(json_is_integer(json_object_get(it, "available_quantity")));
		cr_assert(json_is_integer(json_object_get(it, "sold_quantity")));
		cr_assert_eq(json_integer_value(json_object_get(it, "seller_id")), app.sellers[0]);
		cr_assert(strlen(msh_str(it, "title")) <= 60 + 10, "title near the 60-char limit");
		cr_assert(json_is_object(json_object_get(it, "shipping")));
		cr_assert(json_is_array(json_object_get(it, "sub_status")));
		cr_assert(json_is_string(json_object_get(it, "start_time")));
		json_t *vars = json_object_get(it, "variations");
		if (json_array_size(vars)) {
			with_variations++;
			size_t k;
			json_t *v;
			json_array_foreach(vars, k, v)
			{
				cr_assert(has_seller_sku(v), "variation SKU in SELLER_SKU");
				cr_assert(
				    json_is_array(json_object_get(v, "attribute_combinations")));
			}
		} else {
			cr_assert(has_seller_sku(it), "item SKU in SELLER_SKU");
		}
		h_resp_free(&r);
	}
	cr_assert_gt(with_variations, 0, "some items have variations");

	/* Another seller sees the public view: no sold_quantity, stock as a bucket. */
	msh_tokens_t other;
	msh_login(&sim, &app, app.sellers[1], &other);
	char path[64];
	snprintf(path, sizeof(path), "/items/%s",
		 json_string_value(json_array_get(json_object_get(list.json, "results"), 0)));
	h_resp_t pub = msh_get(&sim, other.access, path);
	cr_assert_eq(pub.status, 200);
	cr_assert_null(json_object_get(pub.json, "sold_quantity"));
	json_int_t q = json_integer_value(json_object_get(pub.json, "available_quantity"));
	cr_assert(q == 0 || q == 1 || q == 50 || q == 100 || q == 150 || q == 200 || q == 250 ||
		  q == 500 || q == 5000 || q == 50000);
	h_resp_t forbidden = msh_get(&sim, other.access, "/users/1/items/search");
	cr_assert_eq(forbidden.status, 404);
	char own[96];
	snprintf(own, sizeof(own), "/users/%lld/items/search", (long long)app.sellers[0]);
	h_resp_t not_yours = msh_get(&sim, other.access, own);
	msh_assert_error(&not_yours, 403, "forbidden_error");
	h_resp_free(&pub);
	h_resp_free(&forbidden);
	h_resp_free(&not_yours);
	h_resp_free(&list);
}

Test(marketsim_items, multiget_and_bulk_shapes)
{
	h_resp_t r = msh_get(&sim, tok.access, "/items?ids=MLB3000000001,MLB3000000002,MLB1");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_array_size(r.json), 3);
	json_t *a = json_array_get(r.json, 0), *c = json_array_get(r.json, 2);
	cr_assert_eq(json_integer_value(json_object_get(a, "code")), 200);
	cr_assert_str_eq(msh_str(json_object_get(a, "body"), "id"), "MLB3000000001");
	cr_assert_eq(json_integer_value(json_object_get(c, "code")), 404);
	cr_assert_str_eq(msh_str(json_object_get(c, "body"), "error"), "not_found");
	h_resp_free(&r);

	r = msh_get(&sim, tok.access, "/items?ids=MLB3000000001&attributes=id,price");
	json_t *body = json_object_get(json_array_get(r.json, 0), "body");
	cr_assert_eq(json_object_size(body), 2, "attributes selects fields: %s", r.body);
	cr_assert(json_is_number(json_object_get(body, "price")));
	h_resp_free(&r);

	r = msh_get(&sim, tok.access,
		    "/items/bulk?ids=MLB3000000003&attributes=body.id,body.title");
	json_t *e = json_array_get(r.json, 0);
	cr_assert_str_eq(msh_str(e, "id"), "MLB3000000003");
	cr_assert_eq(json_integer_value(json_object_get(e, "status_code")), 200);
	cr_assert_null(json_object_get(e, "code"));
	cr_assert_eq(json_object_size(json_object_get(e, "body")), 2);
	h_resp_free(&r);

	char many[512] = "/items?ids=";
	for (int i = 1; i <= 21; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sMLB%lld",
			 i > 1 ? "," : "", 3000000000LL + i);
	r = msh_get(&sim, tok.access, many);
	msh_assert_error(&r, 400, "bad_request");
	h_resp_free(&r);
}

/* The first item of seller 0 that is new, non-free and has no variations. */
static const char *plain_item(void)
{
	static char id[32];
	h_resp_t list = search("?status=active&limit=100");
	size_t i;
	json_t *v;
	id[0] = '\0';
	json_array_foreach(json_object_get(list.json, "results"), i, v)
	{
		char path[64];
		snprintf(path, sizeof(path), "/items/%s", json_string_value(v));
		h_resp_t it = msh_get(&sim, tok.access, path);
		bool ok = json_array_size(json_object_get(it.json, "variations")) == 0 &&
			  strcmp(msh_str(it.json, "condition"), "new") == 0 &&
			  strcmp(msh_str(it.json, "listing_type_id"), "free") != 0;
		h_resp_free(&it);
		if (ok) {
			snprintf(id, sizeof(id), "%s", json_string_value(v));
			break;
		}
	}
	h_resp_free(&list);
	cr_assert(id[0], "no plain active item in the catalogue");
	return id;
}

static h_resp_t put(const char *id, const char *body)
{
	char path[64];
	snprintf(path, sizeof(path), "/items/%s", id);
	return msh_api(&sim, "PUT", tok.access, path, body);
}

static void assert_state(const h_resp_t *r, const char *status, const char *sub)
{
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(msh_str(r->json, "status"), status);
	json_t *s = json_object_get(r->json, "sub_status");
	if (sub)
		cr_assert_str_eq(json_string_value(json_array_get(s, 0)), sub);
	else
		cr_assert_eq(json_array_size(s), 0, "%s", r->body);
}

Test(marketsim_items, put_price_stock_and_status_rules)
{
	const char *id = plain_item();
	h_resp_t r = put(id, "{\"price\": 123.45}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_float_eq(json_number_value(json_object_get(r.json, "price")), 123.45, 1e-9);
	h_resp_free(&r);
	r = put(id, "{\"available_quantity\": 0}");
	assert_state(&r, "paused", "out_of_stock");
	h_resp_free(&r);
	r = put(id, "{\"available_quantity\": 7}");
	assert_state(&r, "active", NULL);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "available_quantity")), 7);
	h_resp_free(&r);
	r = put(id, "{\"status\": \"paused\"}");
	assert_state(&r, "paused", "paused_by_seller");
	h_resp_free(&r);
	r = put(id, "{\"available_quantity\": 9}");
	assert_state(&r, "paused", "paused_by_seller"); /* stock does not undo a seller's pause */
	h_resp_free(&r);
	r = put(id, "{\"status\": \"active\"}");
	assert_state(&r, "active", NULL);
	h_resp_free(&r);
	r = put(id, "{\"price\": -1}");
	msh_assert_error(&r, 400, "validation_error");
	h_resp_free(&r);
	r = put(id, "{\"status\": \"Paused\"}");
	cr_assert_eq(r.status, 400, "status is lower case");
	h_resp_free(&r);
	r = put(id, "{\"status\": \"closed\"}");
	assert_state(&r, "closed", NULL);
	h_resp_free(&r);
	r = put(id, "{\"price\": 10}");
	cr_assert_eq(r.status, 400, "a closed item can not be changed");
	h_resp_free(&r);
	r = put(id, "{\"deleted\": \"true\"}");
	assert_state(&r, "closed", "deleted");
	h_resp_free(&r);

	msh_tokens_t other;
	msh_login(&sim, &app, app.sellers[1], &other);
	char path[64];
	snprintf(path, sizeof(path), "/items/%s", id);
	r = msh_api(&sim, "PUT", other.access, path, "{\"price\": 1}");
	msh_assert_error(&r, 403, "forbidden_error");
	h_resp_free(&r);
}
