/* Stock pushes and the oversell guard, end to end at marketsim: one SKU linked to an item of each
 * of two Mercado Livre sellers (by the items' own SKU, set at marketsim) and to a merchant
 * fulfilled SKU of an Amazon seller. A sale, a manual change, many changes at once, a provider's
 * 5xx, and 50 concurrent sales of 10 units: what marketsim ends up listing is what is checked. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amazon_helpers.h"
#include "ml_helpers.h"

TestSuite(stock_push, .timeout = 120);

typedef struct world {
	mlt_t t;
	amt_t a; /* the same marketsim and server, for the Amazon helpers */
	msh_tokens_t tok[2];
	char ml[2][40], amazon[40];
	char item[2][32];
	char amz_seller[32], amz_sku[64];
	char sku[40];
} world_t;

static void sim_ok(world_t *w, const char *method, const char *path, const char *body)
{
	h_resp_t r = msh_sim(&w->t.sim, method, path, body);
	cr_assert(r.status == 200 || r.status == 201, "%s %s: %ld %s", method, path, r.status,
		  r.body);
	h_resp_free(&r);
}

/* An active item of seller i without variations (its SKU is set by the test). */
static void pick_item(world_t *w, int i)
{
	h_resp_t r = msh_get(&w->t.sim, w->tok[i].access,
			     h_fmt("/users/%lld/items/search?status=active&limit=50",
				   (long long)w->t.app.sellers[i]));
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *ids = json_object_get(r.json, "results");
	size_t k;
	json_t *id;
	json_array_foreach(ids, k, id)
	{
		h_resp_t it =
		    msh_get(&w->t.sim, w->tok[i].access, h_fmt("/items/%s", json_string_value(id)));
		bool plain = it.status == 200 &&
			     json_array_size(json_object_get(it.json, "variations")) == 0;
		h_resp_free(&it);
		if (plain) {
			snprintf(w->item[i], sizeof(w->item[i]), "%s", json_string_value(id));
			h_resp_free(&r);
			return;
		}
	}
	cr_assert_fail("seller %d has no plain active item: %s", i, r.body);
}

static long ml_listed(world_t *w, int i)
{
	h_resp_t r = msh_get(&w->t.sim, w->tok[i].access, h_fmt("/items/%s", w->item[i]));
	long q = r.status == 200
		     ? (long)json_integer_value(json_object_get(r.json, "available_quantity"))
		     : -1;
	h_resp_free(&r);
	return q;
}

static long amazon_listed(world_t *w)
{
	h_resp_t r = msh_sim(&w->t.sim, "GET", h_fmt("/_sim/amazon/skus/%s", w->amz_seller), NULL);
	long q = -1;
	size_t k;
	json_t *s;
	json_array_foreach(json_object_get(r.json, "skus"), k, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "sku")), w->amz_sku) == 0)
			q = (long)json_integer_value(json_object_get(s, "quantity"));
	}
	h_resp_free(&r);
	return q;
}

/* Every linked listing at marketsim offers n. */
static bool all_listed(world_t *w, long n)
{
	return ml_listed(w, 0) == n && ml_listed(w, 1) == n && amazon_listed(w) == n;
}

static void assert_all_listed(world_t *w, long n)
{
	cr_assert(H_WAIT_UNTIL(all_listed(w, n), 20000),
		  "marketsim lists %ld, %ld and %ld, not %ld", ml_listed(w, 0), ml_listed(w, 1),
		  amazon_listed(w), n);
}

static long long stock_writes(world_t *w)
{
	h_resp_t r = msh_sim(&w->t.sim, "GET", "/_sim/stock-writes?since=1000000000", NULL);
	long long n = (long long)json_integer_value(json_object_get(r.json, "count"));
	h_resp_free(&r);
	return n;
}

/* The writes to ML item id from the index since on. */
static long long writes_to(world_t *w, long long since, const char *id)
{
	h_resp_t r = msh_sim(&w->t.sim, "GET", h_fmt("/_sim/stock-writes?since=%lld", since), NULL);
	long long n = 0;
	size_t k;
	json_t *e;
	json_array_foreach(json_object_get(r.json, "writes"), k, e)
	{
		n += strcmp(json_string_value(json_object_get(e, "id")), id) == 0;
	}
	h_resp_free(&r);
	return n;
}

/* Set the SKU's on hand as the test's job queue (its jobs run in this test's server). */
static void set_on_hand(world_t *w, int n)
{
	h_sql_ok("SET sellerhub.job_queue = '%s'; SELECT stock_set_on_hand('%s', '%s', %d,"
		 " 'manual', 'test')",
		 h_job_queue(), w->t.owner.tenant_id, w->sku, n);
}

/* Two ML sellers and an Amazon seller of one tenant, one SKU linked to an item of each, 10 on
 * hand, and every listing at marketsim offering 10. */
static void world_start(world_t *w)
{
	memset(w, 0, sizeof(*w));
	char seed[16];
	snprintf(seed, sizeof(seed), "%d", getpid());
	const char *args[] = {"--seed",
			      seed,
			      "--sellers",
			      "2",
			      "--items",
			      "40",
			      "--orders",
			      "5",
			      "--questions",
			      "0",
			      "--amazon-redirect-uri",
			      AMT_REDIRECT,
			      NULL};
	msh_start(&w->t.sim, &w->t.app, args);
	h_resp_t r = msh_sim(&w->t.sim, "GET", "/_sim/amazon", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	w->a.truth = json_incref(r.json);
	h_resp_free(&r);
	json_t *app = json_object_get(w->a.truth, "application");
	char env[7][512];
	snprintf(env[0], 512, "AMAZON_LWA_URL=%s", h_url(&w->t.sim, ""));
	snprintf(env[1], 512, "AMAZON_SPAPI_URL=%s", h_url(&w->t.sim, ""));
	snprintf(env[2], 512, "AMAZON_CLIENT_ID=%s", msh_str(app, "client_id"));
	snprintf(env[3], 512, "AMAZON_CLIENT_SECRET=%s", msh_str(app, "client_secret"));
	snprintf(env[4], 512, "AMAZON_APP_ID=%s", msh_str(app, "application_id"));
	snprintf(env[5], 512, "AMAZON_CONSENT_URL=%s", h_url(&w->t.sim, ""));
	snprintf(env[6], 512, "AMAZON_REDIRECT_URI=%s", AMT_REDIRECT);
	const char *envp[] = {env[0], env[1], env[2], env[3], env[4], env[5], env[6], NULL};
	mlt_start_server(&w->t, &w->t.srv, envp);
	ident_signup(&w->t.srv, &w->t.owner);
	w->a.sim = w->t.sim;
	w->a.srv = w->t.srv;
	w->a.owner = w->t.owner;
	amt_add(&w->a, &w->t.owner, 0, w->amazon);
	for (int i = 0; i < 2; i++)
		mlt_add(&w->t, &w->t.owner, (size_t)i, 6 * 3600, w->ml[i], &w->tok[i]);
	sim_ok(w, "POST", "/_sim/notifications/target",
	       h_fmt("{\"url\":\"%s\"}", h_url(&w->t.srv, "/webhooks/ml")));

	/* The SKU at each seller, as the seller sets it; sellerhub takes the items from their
	 * notifications and links them by it. */
	snprintf(w->sku, sizeof(w->sku), "PUSH-%d", getpid());
	for (int i = 0; i < 2; i++) {
		pick_item(w, i);
		sim_ok(w, "PATCH", h_fmt("/_sim/items/%s", w->item[i]),
		       h_fmt("{\"seller_sku\":\"%s\",\"available_quantity\":4}", w->sku));
	}
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM listings WHERE tenant_id = '%s'"
					 " AND channel = 'ml' AND sku = '%s'",
					 w->t.owner.tenant_id, w->sku) == 2,
			       20000),
		  "the items never arrived linked to the SKU");

	/* Amazon: a merchant fulfilled SKU of the seller, linked by hand to ours. */
	snprintf(w->amz_seller, sizeof(w->amz_seller), "%s", amt_seller_id(&w->a, 0));
	r = msh_sim(&w->t.sim, "GET", h_fmt("/_sim/amazon/skus/%s", w->amz_seller), NULL);
	size_t k;
	json_t *s;
	json_array_foreach(json_object_get(r.json, "skus"), k, s)
	{
		if (!json_is_true(json_object_get(s, "fba")) && !w->amz_sku[0])
			snprintf(w->amz_sku, sizeof(w->amz_sku), "%s",
				 json_string_value(json_object_get(s, "sku")));
	}
	h_resp_free(&r);
	cr_assert(w->amz_sku[0], "the Amazon seller has no merchant fulfilled SKU");
	h_sql_ok("INSERT INTO listings (tenant_id, account_id, channel, external_id, title, sku,"
		 " available_quantity, logistic_type, last_updated, raw) VALUES ('%s', '%s',"
		 " 'amazon', '%s', 'Caneca', '%s', %ld, 'MFN', now(), '{}')",
		 w->t.owner.tenant_id, w->amazon, w->amz_sku, w->sku, amazon_listed(w));

	h_sql_ok("INSERT INTO products (tenant_id, sku, title) VALUES ('%s', '%s', 'Caneca')",
		 w->t.owner.tenant_id, w->sku);
	set_on_hand(w, 10);
	assert_all_listed(w, 10);
}

static void world_stop(world_t *w)
{
	h_server_stop_clean(&w->t.srv);
	msh_stop(&w->t.sim);
	json_decref(w->a.truth);
}

static long long available(world_t *w)
{
	return h_sql_int("SELECT available FROM products WHERE tenant_id = '%s' AND sku = '%s'",
			 w->t.owner.tenant_id, w->sku);
}

Test(stock_push, a_sale_on_ml_reaches_the_other_ml_account_and_amazon)
{
	world_t w;
	world_start(&w);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM listings WHERE tenant_id = '%s' AND sku = '%s'"
			       " AND stock_push_status = 'pushed' AND stock_pushed_at IS NOT NULL",
			       w.t.owner.tenant_id, w.sku),
		     3, "every listing records its push");

	sim_ok(&w, "POST", "/_sim/orders",
	       h_fmt("{\"seller_id\":%lld,\"item_id\":\"%s\",\"quantity\":3,\"status\":\"paid\"}",
		     (long long)w.t.app.sellers[0], w.item[0]));
	assert_all_listed(&w, 7);
	cr_assert_eq(available(&w), 7);
	cr_assert_eq(
	    h_sql_int("SELECT reserved FROM products WHERE tenant_id = '%s' AND sku = '%s'",
		      w.t.owner.tenant_id, w.sku),
	    3);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM orders WHERE tenant_id = '%s' AND oversold",
			       w.t.owner.tenant_id),
		     0, "3 of 10 is no oversell");
	world_stop(&w);
}

Test(stock_push, a_manual_change_pushes_to_every_listing)
{
	world_t w;
	world_start(&w);
	h_resp_t r = ident_call(&w.t.srv, "PUT", h_fmt("/api/inventory/%s", w.sku),
				w.t.owner.access, "{\"onHand\":25,\"safetyBuffer\":2}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	assert_all_listed(&w, 23);
	world_stop(&w);
}

Test(stock_push, many_changes_coalesce_into_fewer_pushes_of_the_final_value)
{
	world_t w;
	world_start(&w);
	/* Each push takes 300 ms at Mercado Livre, so the changes outrun them however fast the
	 * host runs the jobs: what coalesces is then the queue's doing, not the timing's. */
	sim_ok(&w, "POST", "/_sim/faults",
	       h_fmt("{\"path\":\"/items/%s\",\"method\":\"PUT\",\"latency_ms\":300}", w.item[1]));
	long long since = stock_writes(&w);
	for (int n = 31; n <= 60; n++) {
		h_resp_t r = ident_call(&w.t.srv, "PUT", h_fmt("/api/inventory/%s", w.sku),
					w.t.owner.access, h_fmt("{\"onHand\":%d}", n));
		cr_assert_eq(r.status, 200, "%s", r.body);
		h_resp_free(&r);
	}
	assert_all_listed(&w, 60);
	long long pushes = writes_to(&w, since, w.item[1]);
	cr_assert(pushes >= 1 && pushes < 30, "30 changes, %lld pushes to one listing", pushes);
	/* Nothing left to push once every listing shows the value. */
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM stock_pushes WHERE tenant_id = '%s'"
					 " AND job_id IS NOT NULL",
					 w.t.owner.tenant_id) == 0,
			       10000));
	world_stop(&w);
}

Test(stock_push, a_5xx_at_the_provider_is_retried_until_the_value_lands)
{
	world_t w;
	world_start(&w);
	/* More failures than the client's own retries: the job tries again later. */
	sim_ok(&w, "POST", "/_sim/faults",
	       h_fmt("{\"path\":\"/items/%s\",\"method\":\"PUT\",\"status\":503,\"count\":5}",
		     w.item[1]));
	set_on_hand(&w, 8);
	cr_assert(H_WAIT_UNTIL(ml_listed(&w, 1) == 8, 30000), "the push never landed: %ld",
		  ml_listed(&w, 1));
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM listings WHERE tenant_id = '%s'"
					 " AND external_id = '%s' AND stock_push_status = 'pushed'",
					 w.t.owner.tenant_id, w.item[1]) == 1,
			       10000));
	cr_assert_geq(h_sql_int("SELECT max(attempts) FROM jobs WHERE tenant_id = '%s' AND kind ="
				" 'stock_push' AND payload->>'listingId' = (SELECT id::text FROM"
				" listings WHERE tenant_id = '%s' AND external_id = '%s')",
				w.t.owner.tenant_id, w.t.owner.tenant_id, w.item[1]),
		      2, "the job was retried");
	assert_all_listed(&w, 8);
	world_stop(&w);
}

/* 50 sales of one unit, 25 at each ML seller, all at once, for 10 available: exactly 10 are
 * taken, 40 flagged oversold, available never below 0, and every listing ends at 0. */
Test(stock_push, fifty_concurrent_sales_of_ten_units_oversell_forty_and_list_zero_everywhere)
{
	world_t w;
	world_start(&w);
	char *bodies[50];
	for (int i = 0; i < 50; i++)
		bodies[i] = strdup(h_fmt("{\"seller_id\":%lld,\"item_id\":\"%s\",\"quantity\":1,"
					 "\"status\":\"paid\"}",
					 (long long)w.t.app.sellers[i % 2], w.item[i % 2]));
	long status[50];
	h_http_many_bodies("POST", h_url(&w.t.sim, "/_sim/orders"), bodies, 50, status);
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(status[i], 201, "order %d: %ld", i, status[i]);
		free(bodies[i]);
	}
	const char *tenant = w.t.owner.tenant_id;
	cr_assert(
	    H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM stock_reservations WHERE"
				   " tenant_id = '%s' AND sku = '%s'",
				   tenant, w.sku) == 50,
			 60000),
	    "the 50 orders did not all arrive: %lld",
	    h_sql_int("SELECT count(*) FROM stock_reservations WHERE tenant_id = '%s'", tenant));
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM orders WHERE tenant_id = '%s' AND NOT oversold",
		      tenant),
	    10);
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM orders WHERE tenant_id = '%s' AND oversold", tenant),
	    40);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM stock_changes WHERE tenant_id = '%s' AND"
			       " sku = '%s' AND cause = 'oversold'",
			       tenant, w.sku),
		     40);
	cr_assert_eq(h_sql_int("SELECT count(*) FROM stock_changes WHERE tenant_id = '%s' AND"
			       " sku = '%s' AND cause = 'order'",
			       tenant, w.sku),
		     10);
	cr_assert_eq(h_sql_int("SELECT min(available) FROM stock_changes WHERE tenant_id = '%s'"
			       " AND sku = '%s'",
			       tenant, w.sku),
		     0);
	cr_assert_eq(available(&w), 0);
	assert_all_listed(&w, 0);

	/* The flag is on the order, and the list filters by it. */
	char *oversold = h_sql_text("SELECT id FROM orders WHERE tenant_id = '%s' AND oversold"
				    " LIMIT 1",
				    tenant);
	h_resp_t r = ident_call(&w.t.srv, "GET", h_fmt("/api/orders/%.36s", oversold),
				w.t.owner.access, NULL);
	free(oversold);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_true(h_json_path(r.json, "data.order.oversold")), "%s", r.body);
	h_resp_free(&r);
	r = ident_call(&w.t.srv, "GET", "/api/orders?oversold=true&limit=100", w.t.owner.access,
		       NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(h_json_path(r.json, "data.pagination.total")), 40, "%s",
		     r.body);
	h_resp_free(&r);
	world_stop(&w);
}

/* What variation vid of item lists at marketsim (-1: none). */
static long long variation_listed(const h_proc_t *sim, const char *token, const char *item,
				  long long vid)
{
	h_resp_t r = msh_get(sim, token, h_fmt("/items/%s", item));
	long long q = -1;
	size_t k;
	json_t *v;
	json_array_foreach(json_object_get(r.json, "variations"), k, v)
	{
		if ((long long)json_integer_value(json_object_get(v, "id")) == vid)
			q = (long long)json_integer_value(json_object_get(v, "available_quantity"));
	}
	h_resp_free(&r);
	return q;
}

/* A SKU sold as one variation of an item: the push sets that variation's stock, naming the
 * item's other variations unchanged. */
Test(stock_push, a_variation_linked_by_its_own_sku_gets_its_stock)
{
	mlt_t t;
	char seed[16], account[40];
	snprintf(seed, sizeof(seed), "%d", getpid());
	mlt_start(&t, seed, 1, NULL);
	msh_tokens_t tok;
	mlt_add(&t, &t.owner, 0, 6 * 3600, account, &tok);
	h_resp_t r = msh_sim(&t.sim, "POST", "/_sim/notifications/target",
			     h_fmt("{\"url\":\"%s\"}", h_url(&t.srv, "/webhooks/ml")));
	h_resp_free(&r);
	/* An item with two variations or more, and the first one's SKU. */
	r = msh_sim(&t.sim, "GET", h_fmt("/_sim/items?seller_id=%lld", (long long)t.app.sellers[0]),
		    NULL);
	char item[32] = "", vsku[64] = "";
	long long vid = 0, other = 0, other_qty = -1;
	size_t k;
	json_t *it;
	json_array_foreach(json_object_get(r.json, "items"), k, it)
	{
		if (item[0] || json_integer_value(json_object_get(it, "variations")) < 2)
			continue;
		const char *id = json_string_value(json_object_get(it, "id"));
		h_resp_t one = msh_get(&t.sim, tok.access, h_fmt("/items/%s", id));
		json_t *vars = json_object_get(one.json, "variations");
		json_t *v0 = json_array_get(vars, 0), *v1 = json_array_get(vars, 1);
		size_t a;
		json_t *attr;
		json_array_foreach(json_object_get(v0, "attributes"), a, attr)
		{
			if (strcmp(json_string_value(json_object_get(attr, "id")), "SELLER_SKU") ==
			    0)
				snprintf(vsku, sizeof(vsku), "%s",
					 json_string_value(json_object_get(attr, "value_name")));
		}
		/* A closed item takes no change (marketsim answers 400, as Mercado Livre does). */
		const char *status = json_string_value(json_object_get(one.json, "status"));
		if (!status || strcmp(status, "active") != 0)
			vsku[0] = '\0';
		if (vsku[0]) {
			snprintf(item, sizeof(item), "%s", id);
			vid = (long long)json_integer_value(json_object_get(v0, "id"));
			other = (long long)json_integer_value(json_object_get(v1, "id"));
			other_qty = (long long)json_integer_value(
			    json_object_get(v1, "available_quantity"));
		}
		h_resp_free(&one);
	}
	h_resp_free(&r);
	cr_assert(item[0], "the seller has no item with variations and SKUs");
	/* The item reaches sellerhub by its notification. */
	r = msh_sim(&t.sim, "PATCH", h_fmt("/_sim/items/%s", item), "{\"price\":99.5}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	const char *tenant = t.owner.tenant_id;
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM listing_variations WHERE"
					 " tenant_id = '%s' AND sku = '%s'",
					 tenant, vsku) == 1,
			       20000));
	h_sql_ok("INSERT INTO products (tenant_id, sku, title) VALUES ('%s', '%s', 'Camiseta')",
		 tenant, vsku);
	h_sql_ok("SET sellerhub.job_queue = '%s'; SELECT stock_set_on_hand('%s', '%s', 6,"
		 " 'manual', 'test')",
		 h_job_queue(), tenant, vsku);
	cr_assert(H_WAIT_UNTIL(variation_listed(&t.sim, tok.access, item, vid) == 6, 20000),
		  "the variation lists %lld", variation_listed(&t.sim, tok.access, item, vid));
	long long kept = variation_listed(&t.sim, tok.access, item, other);
	cr_assert_eq(kept, other_qty, "the other variation was left as it was");
	h_server_stop_clean(&t.srv);
	msh_stop(&t.sim);
}

/* A listing linked by hand to another SKU is pushed that SKU's available at once, as any change of
 * a SKU's available is pushed to its listings. */
Test(stock_push, a_listing_linked_by_hand_offers_its_new_skus_stock)
{
	world_t w;
	world_start(&w);
	const char *tenant = w.t.owner.tenant_id;
	char *listing = h_sql_text("SELECT id FROM listings WHERE tenant_id = '%s' AND"
				   " external_id = '%s'",
				   tenant, w.item[1]);
	const char *other = h_fmt("SEVEN-%d", getpid());
	h_sql_ok("INSERT INTO products (tenant_id, sku, title) VALUES ('%s', '%s', 'Jarra');"
		 " SELECT stock_set_on_hand('%s', '%s', 7, 'manual', 'test')",
		 tenant, other, tenant, other);
	cr_assert_eq(ml_listed(&w, 1), 10, "the item offers its old SKU's 10 before the link");
	h_resp_t r =
	    ident_call(&w.t.srv, "POST", h_fmt("/api/products/%s/listings/%s", other, listing),
		       w.t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	cr_assert(H_WAIT_UNTIL(ml_listed(&w, 1) == 7, 20000),
		  "the item linked to a SKU of 7 offers %ld", ml_listed(&w, 1));
	cr_assert_eq(ml_listed(&w, 0), 10, "the other seller's item keeps the first SKU's stock");
	free(listing);
	world_stop(&w);
}

/* A listing linked or unlinked by hand keeps that through the channel's next sync of it (an
 * item notification brings the item back with its seller SKU). */
Test(stock_push, a_link_made_by_hand_outlives_the_next_sync)
{
	world_t w;
	world_start(&w);
	const char *tenant = w.t.owner.tenant_id;
	char *listing = h_sql_text("SELECT id FROM listings WHERE tenant_id = '%s' AND"
				   " external_id = '%s'",
				   tenant, w.item[1]);
	const char *other = h_fmt("OTHER-%d", getpid());
	h_sql_ok("INSERT INTO products (tenant_id, sku, title) VALUES ('%s', '%s', 'Prato')",
		 tenant, other);
	h_resp_t r =
	    ident_call(&w.t.srv, "POST", h_fmt("/api/products/%s/listings/%s", other, listing),
		       w.t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);

	/* The item changes at Mercado Livre; its notification brings it back, SELLER_SKU and all.
	 */
	sim_ok(&w, "PATCH", h_fmt("/_sim/items/%s", w.item[1]), "{\"price\":77.5}");
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM listings WHERE id = '%s' AND"
					 " price = 77.5",
					 listing) == 1,
			       20000),
		  "the item's change never arrived");
	char *sku = h_sql_text("SELECT sku FROM listings WHERE id = '%s'", listing);
	cr_assert_str_eq(sku, other, "the sync took back the link made by hand");
	free(sku);

	/* Unlinked by hand: the sync does not link it again by its seller SKU. */
	r = ident_call(&w.t.srv, "DELETE", h_fmt("/api/products/%s/listings/%s", other, listing),
		       w.t.owner.access, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	sim_ok(&w, "PATCH", h_fmt("/_sim/items/%s", w.item[1]), "{\"price\":78.5}");
	cr_assert(H_WAIT_UNTIL(h_sql_int("SELECT count(*) FROM listings WHERE id = '%s' AND"
					 " price = 78.5",
					 listing) == 1,
			       20000),
		  "the item's second change never arrived");
	cr_assert_eq(
	    h_sql_int("SELECT count(*) FROM listings WHERE id = '%s' AND sku IS NULL", listing), 1,
	    "the sync linked again what was unlinked by hand");
	free(listing);
	world_stop(&w);
}
