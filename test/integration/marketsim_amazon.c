/* marketsim speaks Amazon: Login with Amazon (both grants, its errors, the website authorization
 * workflow), the x-amz-access-token check, getOrders paging through NextToken to the counts of
 * /_sim/amazon, getOrderItems, the per-operation token bucket (429 QuotaExceeded and its
 * headers), the report lifecycle to a gzip document and its expiring URL, patchListingsItem, and
 * notifications delivered to a listener. Every test starts its own marketsim. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "marketsim_helpers.h"

#define MARKETPLACE "ATVPDKIKX0DER"

static h_proc_t sim;
static bool running;
static json_t *truth; /* GET /_sim/amazon */

static void start_with(const char *const extra[])
{
	const char *args[24] = {"--now", "2026-03-01T12:00:00Z", "--amazon-orders", "250"};
	size_t n = 4;
	for (size_t i = 0; extra && extra[i] && n < 23; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	msh_start(&sim, NULL, args);
	running = true;
	h_resp_t r = h_http("GET", h_url(&sim, "/_sim/amazon"), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	truth = json_incref(r.json);
	h_resp_free(&r);
}

static void start(void)
{
	start_with(NULL);
}

/* Stop marketsim and assert a clean exit (under ASan: no leak). A test that calls it itself
 * makes that part of its verdict: a failed assertion in .fini does not fail the test. */
static void stop(void)
{
	if (!running)
		return;
	running = false;
	json_decref(truth);
	msh_stop(&sim);
}

TestSuite(marketsim_amazon, .init = start, .fini = stop, .timeout = 60);
/* Tests that start marketsim with flags of their own (start_with). */
TestSuite(marketsim_amazon_flags, .fini = stop, .timeout = 120);

static const char *app(const char *key)
{
	return msh_str(json_object_get(truth, "application"), key);
}

static json_t *seller(int i)
{
	return json_array_get(json_object_get(truth, "sellers"), (size_t)i);
}

static json_int_t count(int i, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(seller(i), "counts"), key));
}

static char *esc(const char *s)
{
	static __thread char bufs[32][4096];
	static __thread int next;
	char *e = curl_easy_escape(NULL, s, 0);
	char *b = bufs[next++ % 32];
	snprintf(b, sizeof(bufs[0]), "%s", e);
	curl_free(e);
	return b;
}

static h_resp_t lwa(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static h_resp_t lwa(const char *fmt, ...)
{
	char form[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(form, sizeof(form), fmt, ap);
	va_end(ap);
	const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded;charset=UTF-8", NULL};
	return h_http("POST", h_url(&sim, "/auth/o2/token"), form, hdr);
}

/* An access token for seller i through its refresh token (static storage, one per seller). */
static const char *access_token(int i)
{
	static char tokens[4][512];
	h_resp_t r = lwa("grant_type=refresh_token&refresh_token=%s&client_id=%s&client_secret=%s",
			 esc(msh_str(seller(i), "refresh_token")), esc(app("client_id")),
			 esc(app("client_secret")));
	cr_assert_eq(r.status, 200, "refresh grant: %s", r.body);
	snprintf(tokens[i], sizeof(tokens[i]), "%s", msh_str(r.json, "access_token"));
	h_resp_free(&r);
	return tokens[i];
}

static h_resp_t sp(const char *method, const char *token, const char *path, const char *body)
{
	char auth[600];
	snprintf(auth, sizeof(auth), "x-amz-access-token: %s", token ? token : "");
	const char *hdr[] = {"Content-Type: application/json", "user-agent: sellerhub-test/1.0",
			     token ? auth : NULL, NULL};
	return h_http(method, h_url(&sim, path), body, hdr);
}

static void assert_sp_error(const h_resp_t *r, long status, const char *code)
{
	cr_assert_eq(r->status, status, "expected %ld, got %ld: %s", status, r->status, r->body);
	json_t *e = json_array_get(json_object_get(r->json, "errors"), 0);
	cr_assert(e, "errors[] body: %s", r->body);
	cr_assert_str_eq(msh_str(e, "code"), code);
	cr_assert(json_is_string(json_object_get(e, "message")));
	cr_assert(h_header(r, "x-amzn-RequestId"), "x-amzn-RequestId on every answer");
}

/* ---- Login with Amazon ---- */

Test(marketsim_amazon, refresh_token_grant_gives_an_hour_long_access_token)
{
	h_resp_t r = lwa("grant_type=refresh_token&refresh_token=%s&client_id=%s&client_secret=%s",
			 esc(msh_str(seller(0), "refresh_token")), esc(app("client_id")),
			 esc(app("client_secret")));
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strncmp(msh_str(r.json, "access_token"), "Atza|", 5) == 0);
	cr_assert_str_eq(msh_str(r.json, "token_type"), "bearer");
	cr_assert_eq(json_integer_value(json_object_get(r.json, "expires_in")), 3600);
	cr_assert_str_eq(msh_str(r.json, "refresh_token"), msh_str(seller(0), "refresh_token"));
	cr_assert_str_eq(h_header(&r, "Cache-Control"), "no-store");
	h_resp_free(&r);
	cr_assert_str_eq(
	    json_string_value(json_array_get(json_object_get(seller(0), "marketplace_ids"), 0)),
	    MARKETPLACE);
	cr_assert(strncmp(app("client_id"), "amzn1.application-oa2-client.", 29) == 0);
}

static void assert_lwa_error(h_resp_t *r, long status, const char *error)
{
	cr_assert_eq(r->status, status, "expected %ld, got %ld: %s", status, r->status, r->body);
	cr_assert_str_eq(msh_str(r->json, "error"), error);
	cr_assert(json_is_string(json_object_get(r->json, "error_description")));
	h_resp_free(r);
}

Test(marketsim_amazon, token_endpoint_errors_as_lwa_sends_them)
{
	const char *rt = esc(msh_str(seller(0), "refresh_token"));
	const char *id = esc(app("client_id")), *secret = esc(app("client_secret"));
	h_resp_t r =
	    lwa("grant_type=refresh_token&refresh_token=%s&client_id=%s&client_secret=x", rt, id);
	assert_lwa_error(&r, 401, "invalid_client");
	r = lwa("grant_type=refresh_token&refresh_token=Atzr%%7Cnope&client_id=%s&client_secret=%s",
		id, secret);
	cr_assert(strstr(r.body, "invalid grant parameter : refresh_token"), "%s", r.body);
	assert_lwa_error(&r, 400, "invalid_grant");
	r = lwa("grant_type=refresh_token&client_id=%s&client_secret=%s", id, secret);
	assert_lwa_error(&r, 400, "invalid_request");
	r = lwa("refresh_token=%s&client_id=%s&client_secret=%s", rt, id, secret);
	assert_lwa_error(&r, 400, "invalid_request");
	r = lwa("grant_type=password&client_id=%s&client_secret=%s", id, secret);
	assert_lwa_error(&r, 400, "unsupported_grant_type");

	/* A revoked authorization: its refresh token and its access tokens die. */
	const char *token = access_token(0);
	char path[128];
	snprintf(path, sizeof(path), "/_sim/amazon/sellers/%s/revoke",
		 msh_str(seller(0), "selling_partner_id"));
	h_resp_t rv = msh_sim(&sim, "POST", path, NULL);
	cr_assert_eq(rv.status, 200, "%s", rv.body);
	h_resp_free(&rv);
	r = lwa("grant_type=refresh_token&refresh_token=%s&client_id=%s&client_secret=%s", rt, id,
		secret);
	assert_lwa_error(&r, 400, "invalid_grant");
	h_resp_t o = sp("GET", token, "/orders/v0/orders/111-0000000-0000000", NULL);
	assert_sp_error(&o, 403, "Unauthorized");
	h_resp_free(&o);
}

/* The consent page as seller i; returns the Location header (static storage). */
static const char *consent(const char *query)
{
	static char loc[2048];
	char path[1024];
	snprintf(path, sizeof(path), "/apps/authorize/consent?application_id=%s%s",
		 esc(app("application_id")), query);
	h_resp_t r = h_http("GET", h_url(&sim, path), NULL, NULL);
	loc[0] = '\0';
	if (r.status == 302)
		snprintf(loc, sizeof(loc), "%s", h_header(&r, "Location"));
	h_resp_free(&r);
	return loc;
}

static const char *query_value(const char *url, const char *name, char *out, size_t size)
{
	char key[64];
	snprintf(key, sizeof(key), "%s=", name);
	const char *p = strstr(url, key);
	cr_assert(p, "%s in %s", name, url);
	p += strlen(key);
	snprintf(out, size, "%.*s", (int)strcspn(p, "&"), p);
	return out;
}

Test(marketsim_amazon, website_authorization_workflow)
{
	const char *spid = msh_str(seller(1), "selling_partner_id");
	char q[512], code[128], value[128];
	snprintf(q, sizeof(q), "&state=xyz-42&version=beta&redirect_uri=%s&selling_partner_id=%s",
		 esc("https://app.test/amazon/callback"), spid);
	const char *loc = consent(q);
	cr_assert(strncmp(loc, "https://app.test/amazon/callback?", 33) == 0, "Location: %s", loc);
	cr_assert_str_eq(query_value(loc, "state", value, sizeof(value)), "xyz-42");
	cr_assert_str_eq(query_value(loc, "selling_partner_id", value, sizeof(value)), spid);
	query_value(loc, "spapi_oauth_code", code, sizeof(code));

	const char *id = esc(app("client_id")), *secret = esc(app("client_secret"));
	const char *redirect = esc("https://app.test/amazon/callback");
	h_resp_t r = lwa("grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s"
			 "&client_secret=%s",
			 code, redirect, id, secret);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char refresh[256];
	snprintf(refresh, sizeof(refresh), "%s", msh_str(r.json, "refresh_token"));
	cr_assert(strncmp(refresh, "Atzr|", 5) == 0);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "expires_in")), 3600);
	h_resp_free(&r);
	r = lwa("grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s"
		"&client_secret=%s",
		code, redirect, id, secret);
	assert_lwa_error(&r, 400, "invalid_grant"); /* single use */

	/* The new refresh token belongs to the seller who consented. */
	r = lwa("grant_type=refresh_token&refresh_token=%s&client_id=%s&client_secret=%s",
		esc(refresh), id, secret);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char path[128];
	snprintf(path, sizeof(path),
		 "/listings/2021-08-01/items/%s/NOPE-00001-XX?marketplaceIds=%s", spid,
		 MARKETPLACE);
	h_resp_t l = sp("GET", msh_str(r.json, "access_token"), path, NULL);
	assert_sp_error(&l, 404, "NotFound"); /* its own listings: 404, not 403 */
	h_resp_free(&l);
	h_resp_free(&r);

	/* The code lives 5 minutes. */
	msh_clock(&sim, "{\"frozen\":true}");
	query_value(consent(q), "spapi_oauth_code", code, sizeof(code));
	msh_clock_advance(&sim, 300001);
	r = lwa("grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s"
		"&client_secret=%s",
		code, redirect, id, secret);
	cr_assert(strstr(r.body, "invalid grant parameter : code"), "%s", r.body);
	assert_lwa_error(&r, 400, "invalid_grant");

	/* A draft app needs version=beta; the redirect URI must be there. */
	cr_assert_str_eq(consent("&state=s"), "");
	snprintf(q, sizeof(q), "&state=s&version=beta");
	cr_assert_str_eq(consent(q), "");
}

Test(marketsim_amazon, access_token_required_and_it_expires_after_an_hour)
{
	const char *path = "/orders/v0/orders?MarketplaceIds=" MARKETPLACE
			   "&CreatedAfter=2026-01-01T00:00:00Z&MaxResultsPerPage=1";
	h_resp_t r = sp("GET", NULL, path, NULL);
	assert_sp_error(&r, 403, "Unauthorized");
	cr_assert_str_eq(msh_str(json_array_get(json_object_get(r.json, "errors"), 0), "message"),
			 "Access to requested resource is denied.");
	cr_assert_null(h_header(&r, "x-amzn-RateLimit-Limit"), "never on 403");
	h_resp_free(&r);
	r = sp("GET", "Atza|forged", path, NULL);
	assert_sp_error(&r, 403, "Unauthorized");
	h_resp_free(&r);

	msh_clock(&sim, "{\"frozen\":true}");
	const char *token = access_token(0);
	msh_clock_advance(&sim, 3599999);
	r = sp("GET", token, path, NULL);
	cr_assert_eq(r.status, 200, "1 ms before the hour: %s", r.body);
	h_resp_free(&r);
	msh_clock_advance(&sim, 2);
	r = sp("GET", token, path, NULL);
	assert_sp_error(&r, 403, "Unauthorized");
	cr_assert_str_eq(msh_str(json_array_get(json_object_get(r.json, "errors"), 0), "message"),
			 "The security token included in the request is expired");
	cr_assert_str_eq(h_header(&r, "x-amzn-ErrorType"), "ExpiredTokenException");
	h_resp_free(&r);
}

/* ---- Orders ---- */

/* Every order of seller 0 for query, page by page; resend: send the filters with NextToken. */
static json_t *all_orders(const char *token, const char *query, bool resend, int *pages)
{
	json_t *all = json_array();
	char path[4096], next[2048] = "";
	*pages = 0;
	do {
		if (!next[0] || resend)
			snprintf(path, sizeof(path), "/orders/v0/orders?%s%s%s", query,
				 next[0] ? "&NextToken=" : "", next[0] ? esc(next) : "");
		else
			snprintf(path, sizeof(path), "/orders/v0/orders?NextToken=%s", esc(next));
		h_resp_t r = sp("GET", token, path, NULL);
		cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
		cr_assert_str_eq(h_header(&r, "x-amzn-RateLimit-Limit"), "0.0167");
		json_t *payload = json_object_get(r.json, "payload");
		json_t *orders = json_object_get(payload, "Orders");
		cr_assert_leq(json_array_size(orders), 100);
		json_array_extend(all, orders);
		const char *t = json_string_value(json_object_get(payload, "NextToken"));
		snprintf(next, sizeof(next), "%s", t ? t : "");
		(*pages)++;
		h_resp_free(&r);
	} while (next[0] && *pages < 100);
	return all;
}

static size_t unique_ids(json_t *orders)
{
	json_t *seen = json_object();
	for (size_t i = 0; i < json_array_size(orders); i++)
		json_object_set_new(seen, msh_str(json_array_get(orders, i), "AmazonOrderId"),
				    json_true());
	size_t n = json_object_size(seen);
	json_decref(seen);
	return n;
}

Test(marketsim_amazon, get_orders_pages_through_next_token_to_the_seeded_count)
{
	const char *token = access_token(0);
	json_int_t want = count(0, "orders");
	cr_assert_eq(want, 250);
	int pages;
	json_t *all = all_orders(token,
				 "MarketplaceIds=" MARKETPLACE
				 "&CreatedAfter=2025-11-01T00:00:00Z&MaxResultsPerPage=100",
				 false, &pages);
	cr_assert_eq((json_int_t)json_array_size(all), want);
	cr_assert_eq(unique_ids(all), (size_t)want, "each order once");
	cr_assert_eq(pages, 3);
	json_t *o = json_array_get(all, 0);
	cr_assert(strlen(msh_str(o, "AmazonOrderId")) == 19);
	cr_assert(json_is_string(json_object_get(json_object_get(o, "OrderTotal"), "Amount")),
		  "Orders money is a string");
	json_decref(all);

	/* The same by LastUpdatedAfter, sending the filters again with each token. */
	all = all_orders(token,
			 "MarketplaceIds=" MARKETPLACE "&LastUpdatedAfter=2025-11-01T00:00:00Z",
			 true, &pages);
	cr_assert_eq((json_int_t)json_array_size(all), want);
	cr_assert_eq(unique_ids(all), (size_t)want);
	json_decref(all);

	/* Status filter: the shipped ones are fewer, and all Shipped. */
	all = all_orders(token,
			 "MarketplaceIds=" MARKETPLACE
			 "&CreatedAfter=2025-11-01T00:00:00Z&OrderStatuses=Shipped",
			 false, &pages);
	cr_assert(json_array_size(all) > 0 && (json_int_t)json_array_size(all) < want);
	for (size_t i = 0; i < json_array_size(all); i++)
		cr_assert_str_eq(msh_str(json_array_get(all, i), "OrderStatus"), "Shipped");
	json_decref(all);
}

Test(marketsim_amazon, next_token_must_be_url_encoded_and_bad_queries_are_400)
{
	const char *token = access_token(0);
	h_resp_t r = sp("GET", token,
			"/orders/v0/orders?MarketplaceIds=" MARKETPLACE
			"&CreatedAfter=2025-11-01T00:00:00Z&MaxResultsPerPage=10",
			NULL);
	const char *next = msh_str(json_object_get(r.json, "payload"), "NextToken");
	cr_assert(strpbrk(next, "+/="), "a token that needs encoding: %s", next);
	char path[2048];
	snprintf(path, sizeof(path), "/orders/v0/orders?NextToken=%s", next); /* not encoded */
	h_resp_t bad = sp("GET", token, path, NULL);
	assert_sp_error(&bad, 400, "InvalidInput");
	cr_assert(strstr(bad.body, "We could not decode your NextToken"), "%s", bad.body);
	cr_assert_str_eq(h_header(&bad, "x-amzn-RateLimit-Limit"), "0.0167", "sent on 400");
	h_resp_free(&bad);
	h_resp_free(&r);

	const char *queries[] = {
	    "CreatedAfter=2025-11-01T00:00:00Z", /* no MarketplaceIds */
	    "MarketplaceIds=" MARKETPLACE,	 /* no date */
	    "MarketplaceIds=" MARKETPLACE "&CreatedAfter=2025-11-01T00:00:00Z"
	    "&LastUpdatedAfter=2025-11-01T00:00:00Z", /* both */
	    "MarketplaceIds=" MARKETPLACE
	    "&CreatedAfter=2025-11-01T00:00:00Z&MaxResultsPerPage=101",
	    "MarketplaceIds=" MARKETPLACE
	    "&CreatedAfter=2025-11-01T00:00:00Z&OrderStatuses=Unshipped",
	    "MarketplaceIds=" MARKETPLACE "&CreatedAfter=2099-01-01T00:00:00Z", /* future */
	    "MarketplaceIds=" MARKETPLACE "&CreatedAfter=yesterday",
	};
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		snprintf(path, sizeof(path), "/orders/v0/orders?%s", queries[i]);
		h_resp_t e = sp("GET", token, path, NULL);
		assert_sp_error(&e, 400, "InvalidInput");
		h_resp_free(&e);
	}
	h_resp_t nf = sp("GET", token, "/orders/v0/orders/111-0000000-9999999", NULL);
	assert_sp_error(&nf, 404, "NotFound");
	h_resp_free(&nf);
}

Test(marketsim_amazon, get_order_items_match_the_order)
{
	const char *token = access_token(0);
	h_resp_t r = sp("GET", token,
			"/orders/v0/orders?MarketplaceIds=" MARKETPLACE
			"&CreatedAfter=2025-11-01T00:00:00Z&MaxResultsPerPage=20",
			NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *orders = json_object_get(json_object_get(r.json, "payload"), "Orders");
	for (size_t i = 0; i < json_array_size(orders); i++) {
		json_t *o = json_array_get(orders, i);
		const char *id = msh_str(o, "AmazonOrderId");
		char path[128];
		snprintf(path, sizeof(path), "/orders/v0/orders/%s/orderItems", id);
		h_resp_t it = sp("GET", token, path, NULL);
		cr_assert_eq(it.status, 200, "%s", it.body);
		json_t *p = json_object_get(it.json, "payload");
		cr_assert_str_eq(msh_str(p, "AmazonOrderId"), id);
		json_t *items = json_object_get(p, "OrderItems");
		cr_assert(json_array_size(items) >= 1 && json_array_size(items) <= 5);
		json_int_t qty = 0;
		for (size_t k = 0; k < json_array_size(items); k++) {
			json_t *line = json_array_get(items, k);
			qty += json_integer_value(json_object_get(line, "QuantityOrdered"));
			cr_assert(strncmp(msh_str(line, "ASIN"), "B0", 2) == 0);
			cr_assert(json_is_string(json_object_get(line, "SellerSKU")));
			cr_assert_eq(strlen(msh_str(line, "OrderItemId")), 14);
			if (strcmp(msh_str(o, "OrderStatus"), "Pending") != 0)
				cr_assert(json_is_string(
				    json_object_get(json_object_get(line, "ItemPrice"), "Amount")));
		}
		if (strcmp(msh_str(o, "OrderStatus"), "Canceled") != 0)
			cr_assert_eq(
			    qty,
			    json_integer_value(json_object_get(o, "NumberOfItemsShipped")) +
				json_integer_value(json_object_get(o, "NumberOfItemsUnshipped")));
		h_resp_free(&it);
		snprintf(path, sizeof(path), "/orders/v0/orders/%s", id);
		h_resp_t one = sp("GET", token, path, NULL);
		cr_assert(json_equal(json_object_get(one.json, "payload"), o),
			  "getOrder = getOrders");
		h_resp_free(&one);
	}
	h_resp_free(&r);
}

/* ---- rate limits ---- */

Test(marketsim_amazon, quota_exceeded_after_the_burst_then_refills_with_the_clock)
{
	msh_clock(&sim, "{\"frozen\":true}");
	const char *path =
	    "/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId=" MARKETPLACE
	    "&marketplaceIds=" MARKETPLACE "&details=true";
	const char *t0 = access_token(0), *t1 = access_token(1);
	for (int i = 0; i < 2; i++) { /* getInventorySummaries: rate 2, burst 2 */
		h_resp_t r = sp("GET", t0, path, NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_str_eq(h_header(&r, "x-amzn-RateLimit-Limit"), "2");
		cr_assert(h_header(&r, "x-amzn-RequestId"));
		h_resp_free(&r);
	}
	h_resp_t r = sp("GET", t0, path, NULL);
	assert_sp_error(&r, 429, "QuotaExceeded");
	cr_assert_str_eq(msh_str(json_array_get(json_object_get(r.json, "errors"), 0), "message"),
			 "You exceeded your quota for the requested resource.");
	cr_assert_null(h_header(&r, "x-amzn-RateLimit-Limit"), "never on 429");
	h_resp_free(&r);
	/* The other seller's bucket is its own. */
	r = sp("GET", t1, path, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	/* Half a second of marketsim time gives one token back. */
	msh_clock_advance(&sim, 500);
	r = sp("GET", t0, path, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	r = sp("GET", t0, path, NULL);
	cr_assert_eq(r.status, 429);
	h_resp_free(&r);

	h_resp_t s = h_http("GET", h_url(&sim, "/_sim/amazon"), NULL, NULL);
	json_t *op =
	    json_object_get(json_object_get(s.json, "operations"), "getInventorySummaries");
	cr_assert_eq(json_integer_value(json_object_get(op, "calls")), 6);
	cr_assert_eq(json_integer_value(json_object_get(op, "throttled")), 2);
	h_resp_free(&s);
}

Test(marketsim_amazon_flags, rate_scale_flag_multiplies_the_documented_rates)
{
	const char *args[] = {"--amazon-rate-scale", "10", NULL};
	start_with(args);
	h_resp_t r = sp("GET", access_token(0),
			"/orders/v0/orders?MarketplaceIds=" MARKETPLACE
			"&CreatedAfter=2026-01-01T00:00:00Z&MaxResultsPerPage=1",
			NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(h_header(&r, "x-amzn-RateLimit-Limit"), "0.167");
	h_resp_free(&r);
}

/* ---- reports ---- */

/* Lines of a gzip body (header included). */
static long gunzip_lines(const char *data, size_t len)
{
	z_stream z = {0};
	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	unsigned char buf[65536];
	long lines = 0;
	int rc;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = inflate(&z, Z_NO_FLUSH);
		cr_assert(rc == Z_OK || rc == Z_STREAM_END, "inflate: %d", rc);
		for (size_t i = 0; i < sizeof(buf) - z.avail_out; i++)
			lines += buf[i] == '\n';
	} while (rc != Z_STREAM_END);
	inflateEnd(&z);
	return lines;
}

static const char *report_status(const char *token, const char *id, json_t **report)
{
	static char status[32];
	char path[128];
	snprintf(path, sizeof(path), "/reports/2021-06-30/reports/%s", id);
	h_resp_t r = sp("GET", token, path, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_null(json_object_get(r.json, "payload"), "Reports has no payload wrapper");
	snprintf(status, sizeof(status), "%s", msh_str(r.json, "processingStatus"));
	if (report)
		*report = json_incref(r.json);
	h_resp_free(&r);
	return status;
}

/* Create a report for seller 0 and move the clock until it is DONE; its document's JSON. */
static json_t *report_document(const char *token, const char *type)
{
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"reportType\":\"%s\",\"marketplaceIds\":[\"%s\"],"
		 "\"dataStartTime\":\"2025-06-01T00:00:00Z\"}",
		 type, MARKETPLACE);
	h_resp_t c = sp("POST", token, "/reports/2021-06-30/reports", body);
	cr_assert_eq(c.status, 202, "%s", c.body);
	char id[32];
	snprintf(id, sizeof(id), "%s", msh_str(c.json, "reportId"));
	h_resp_free(&c);
	cr_assert_str_eq(report_status(token, id, NULL), "IN_QUEUE");
	msh_clock_advance(&sim, 10000);
	cr_assert_str_eq(report_status(token, id, NULL), "IN_PROGRESS");
	msh_clock_advance(&sim, 30000);
	json_t *rep;
	cr_assert_str_eq(report_status(token, id, &rep), "DONE");
	char path[256];
	snprintf(path, sizeof(path), "/reports/2021-06-30/documents/%s",
		 msh_str(rep, "reportDocumentId"));
	json_decref(rep);
	h_resp_t d = sp("GET", token, path, NULL);
	cr_assert_eq(d.status, 200, "%s", d.body);
	json_t *doc = json_incref(d.json);
	h_resp_free(&d);
	return doc;
}

Test(marketsim_amazon, report_lifecycle_to_a_gzip_document_with_every_order_line)
{
	msh_clock(&sim, "{\"frozen\":true}");
	const char *token = access_token(0);
	json_t *doc =
	    report_document(token, "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL");
	cr_assert_str_eq(msh_str(doc, "compressionAlgorithm"), "GZIP");
	const char *url = msh_str(doc, "url");
	cr_assert(strstr(url, "/amazon-reports/") && strstr(url, "X-Amz-Expires=300"), "%s", url);
	h_resp_t f = h_http("GET", url, NULL, NULL); /* no SP-API headers, like S3 */
	cr_assert_eq(f.status, 200);
	cr_assert((unsigned char)f.body[0] == 0x1f && (unsigned char)f.body[1] == 0x8b, "gzip");
	long lines = gunzip_lines(f.body, f.len);
	cr_assert_eq(lines - 1, count(0, "order_items"), "a header row and one row per order line");
	h_resp_free(&f);

	/* The URL lives 300 s. */
	msh_clock_advance(&sim, 299000);
	f = h_http("GET", url, NULL, NULL);
	cr_assert_eq(f.status, 200);
	h_resp_free(&f);
	msh_clock_advance(&sim, 2000);
	f = h_http("GET", url, NULL, NULL);
	cr_assert_eq(f.status, 403);
	cr_assert(strstr(f.body, "Request has expired"), "%s", f.body);
	h_resp_free(&f);
	json_decref(doc);
}

Test(marketsim_amazon_flags, listings_report_and_empty_order_report)
{
	const char *args[] = {"--amazon-report-plain", NULL};
	start_with(args);
	msh_clock(&sim, "{\"frozen\":true}");
	const char *token = access_token(0);
	json_t *doc = report_document(token, "GET_MERCHANT_LISTINGS_ALL_DATA");
	cr_assert_null(json_object_get(doc, "compressionAlgorithm"));
	h_resp_t f = h_http("GET", msh_str(doc, "url"), NULL, NULL);
	cr_assert_eq(f.status, 200);
	cr_assert(strncmp(f.body, "item-name\titem-description\tlisting-id\tseller-sku\t", 48) ==
		  0);
	long lines = 0;
	for (size_t i = 0; i < f.len; i++)
		lines += f.body[i] == '\n';
	cr_assert_eq(lines - 1, count(0, "skus"));
	h_resp_free(&f);
	json_decref(doc);

	/* No data in the range: CANCELLED, as Amazon does. */
	const char *body =
	    "{\"reportType\":\"GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL\","
	    "\"marketplaceIds\":[\"" MARKETPLACE "\"],"
	    "\"dataStartTime\":\"2020-01-01T00:00:00Z\","
	    "\"dataEndTime\":\"2020-02-01T00:00:00Z\"}";
	h_resp_t c = sp("POST", token, "/reports/2021-06-30/reports", body);
	cr_assert_eq(c.status, 202, "%s", c.body);
	msh_clock_advance(&sim, 60000);
	cr_assert_str_eq(report_status(token, msh_str(c.json, "reportId"), NULL), "CANCELLED");
	h_resp_free(&c);
	/* getReports pages with the token alone. */
	const char *list = "/reports/2021-06-30/reports?pageSize=1&reportTypes="
			   "GET_MERCHANT_LISTINGS_ALL_DATA,"
			   "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";
	h_resp_t l = sp("GET", token, list, NULL);
	cr_assert_eq(l.status, 200, "%s", l.body);
	cr_assert_eq(json_array_size(json_object_get(l.json, "reports")), 1);
	char path[2048];
	snprintf(path, sizeof(path), "/reports/2021-06-30/reports?nextToken=%s",
		 esc(msh_str(l.json, "nextToken")));
	h_resp_free(&l);
	l = sp("GET", token, path, NULL);
	cr_assert_eq(l.status, 200, "%s", l.body);
	cr_assert_str_eq(
	    msh_str(json_array_get(json_object_get(l.json, "reports"), 0), "reportType"),
	    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL");
	cr_assert_null(json_object_get(l.json, "nextToken"), "two reports, two pages");
	h_resp_free(&l);
	c = sp("POST", token, "/reports/2021-06-30/reports", "{\"reportType\":\"GET_NOPE\"}");
	assert_sp_error(&c, 400, "InvalidInput");
	h_resp_free(&c);
}

Test(marketsim_amazon_flags, twenty_thousand_orders_report_streams_whole)
{
	const char *args[] = {"--amazon-orders", "20000", "--amazon-sellers", "1", NULL};
	start_with(args);
	msh_clock(&sim, "{\"frozen\":true}");
	const char *token = access_token(0);
	json_t *doc =
	    report_document(token, "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL");
	h_resp_t f = h_http("GET", msh_str(doc, "url"), NULL, NULL);
	cr_assert_eq(f.status, 200);
	long lines = gunzip_lines(f.body, f.len);
	cr_assert_eq(count(0, "orders"), 20000);
	cr_assert_eq(lines - 1, count(0, "order_items"));
	h_resp_free(&f);
	json_decref(doc);
	stop();
}

/* ---- listings ---- */

Test(marketsim_amazon, patch_listings_item_changes_what_later_reads_return)
{
	const char *token = access_token(0), *spid = msh_str(seller(0), "selling_partner_id");
	/* A merchant-fulfilled SKU: one of an MFN order's lines whose listing says DEFAULT. */
	char path[512], sku[64] = "";
	h_resp_t o = sp("GET", token,
			"/orders/v0/orders?MarketplaceIds=" MARKETPLACE
			"&CreatedAfter=2025-11-01T00:00:00Z&FulfillmentChannels=MFN"
			"&MaxResultsPerPage=1",
			NULL);
	cr_assert_eq(o.status, 200, "%s", o.body);
	snprintf(path, sizeof(path), "/orders/v0/orders/%s/orderItems",
		 msh_str(json_array_get(
			     json_object_get(json_object_get(o.json, "payload"), "Orders"), 0),
			 "AmazonOrderId"));
	h_resp_free(&o);
	h_resp_t items = sp("GET", token, path, NULL);
	json_t *lines = json_object_get(json_object_get(items.json, "payload"), "OrderItems");
	for (size_t i = 0; i < json_array_size(lines) && !sku[0]; i++) {
		const char *s = msh_str(json_array_get(lines, i), "SellerSKU");
		snprintf(path, sizeof(path),
			 "/listings/2021-08-01/items/%s/%s?marketplaceIds=%s"
			 "&includedData=fulfillmentAvailability",
			 spid, s, MARKETPLACE);
		h_resp_t l = sp("GET", token, path, NULL);
		cr_assert_eq(l.status, 200, "%s", l.body);
		const char *code =
		    msh_str(json_array_get(json_object_get(l.json, "fulfillmentAvailability"), 0),
			    "fulfillmentChannelCode");
		if (strcmp(code, "DEFAULT") == 0)
			snprintf(sku, sizeof(sku), "%s", s);
		h_resp_free(&l);
	}
	h_resp_free(&items);
	cr_assert(sku[0], "a merchant-fulfilled SKU in an MFN order");

	snprintf(path, sizeof(path), "/listings/2021-08-01/items/%s/%s?marketplaceIds=%s", spid,
		 esc(sku), MARKETPLACE);
	const char *patch =
	    "{\"productType\":\"PRODUCT\",\"patches\":["
	    "{\"op\":\"replace\",\"path\":\"/attributes/purchasable_offer\",\"value\":[{"
	    "\"marketplace_id\":\"" MARKETPLACE "\",\"currency\":\"USD\",\"our_price\":[{"
	    "\"schedule\":[{\"value_with_tax\":12.34}]}]}]},"
	    "{\"op\":\"replace\",\"path\":\"/attributes/fulfillment_availability\",\"value\":[{"
	    "\"fulfillment_channel_code\":\"DEFAULT\",\"quantity\":7}]}]}";
	h_resp_t p = sp("PATCH", token, path, patch);
	cr_assert_eq(p.status, 200, "%s", p.body);
	cr_assert_str_eq(msh_str(p.json, "status"), "ACCEPTED");
	cr_assert(json_is_string(json_object_get(p.json, "submissionId")));
	cr_assert_str_eq(h_header(&p, "x-amzn-RateLimit-Limit"), "5");
	h_resp_free(&p);

	char get[600];
	snprintf(get, sizeof(get), "%s&includedData=summaries,offers,fulfillmentAvailability",
		 path);
	h_resp_t g = sp("GET", token, get, NULL);
	cr_assert_eq(g.status, 200, "%s", g.body);
	cr_assert_str_eq(
	    msh_str(json_object_get(json_array_get(json_object_get(g.json, "offers"), 0), "price"),
		    "amount"),
	    "12.34");
	cr_assert_eq(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(g.json, "fulfillmentAvailability"), 0), "quantity")),
	    7);
	h_resp_free(&g);

	/* getPricing sees the new price too. */
	snprintf(get, sizeof(get),
		 "/products/pricing/v0/price?MarketplaceId=%s&ItemType=Sku&Skus=%s", MARKETPLACE,
		 esc(sku));
	g = sp("GET", token, get, NULL);
	cr_assert_eq(g.status, 200, "%s", g.body);
	json_t *offer = json_array_get(
	    json_object_get(
		json_object_get(json_array_get(json_object_get(g.json, "payload"), 0), "Product"),
		"Offers"),
	    0);
	cr_assert_float_eq(
	    json_number_value(json_object_get(
		json_object_get(json_object_get(offer, "BuyingPrice"), "ListingPrice"), "Amount")),
	    12.34, 1e-9);
	h_resp_free(&g);

	/* Another seller's listing is not the caller's. */
	snprintf(path, sizeof(path), "/listings/2021-08-01/items/%s/%s?marketplaceIds=%s",
		 msh_str(seller(1), "selling_partner_id"), esc(sku), MARKETPLACE);
	g = sp("GET", token, path, NULL);
	assert_sp_error(&g, 403, "Unauthorized");
	h_resp_free(&g);
}

/* ---- notifications ---- */

Test(marketsim_amazon, notifications_reach_a_listener_as_the_sqs_body)
{
	msh_receiver_t rc;
	msh_receiver_start(&rc, 0, 0);
	const char *spid = msh_str(seller(0), "selling_partner_id");
	const char *token = access_token(0);
	h_resp_t o = sp("GET", token,
			"/orders/v0/orders?MarketplaceIds=" MARKETPLACE
			"&CreatedAfter=2025-11-01T00:00:00Z&MaxResultsPerPage=1",
			NULL);
	char order[32];
	snprintf(order, sizeof(order), "%s",
		 msh_str(json_array_get(
			     json_object_get(json_object_get(o.json, "payload"), "Orders"), 0),
			 "AmazonOrderId"));
	h_resp_free(&o);
	h_resp_t inv =
	    sp("GET", token,
	       "/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId=" MARKETPLACE
	       "&marketplaceIds=" MARKETPLACE,
	       NULL);
	char sku[64];
	snprintf(sku, sizeof(sku), "%s",
		 msh_str(json_array_get(json_object_get(json_object_get(inv.json, "payload"),
							"inventorySummaries"),
					0),
			 "sellerSku"));
	h_resp_free(&inv);

	char body[512];
	snprintf(body, sizeof(body),
		 "{\"url\":\"http://127.0.0.1:%d/webhooks/amazon\",\"type\":\"ORDER_CHANGE\","
		 "\"sellerId\":\"%s\",\"orderId\":\"%s\"}",
		 rc.port, spid, order);
	h_resp_t n = msh_sim(&sim, "POST", "/_sim/amazon/notify", body);
	cr_assert_eq(n.status, 202, "%s", n.body);
	h_resp_free(&n);
	snprintf(
	    body, sizeof(body),
	    "{\"url\":\"http://127.0.0.1:%d/webhooks/amazon\","
	    "\"type\":\"FBA_INVENTORY_AVAILABILITY_CHANGES\",\"sellerId\":\"%s\",\"sku\":\"%s\"}",
	    rc.port, spid, sku);
	n = msh_sim(&sim, "POST", "/_sim/amazon/notify", body);
	cr_assert_eq(n.status, 202, "%s", n.body);
	h_resp_free(&n);
	cr_assert(H_WAIT_UNTIL(msh_receiver_hits(&rc) == 2, 10000), "both delivered");

	json_t *a = msh_receiver_body(&rc, 0), *b = msh_receiver_body(&rc, 1);
	json_t *change = strcmp(msh_str(a, "NotificationType"), "ORDER_CHANGE") == 0 ? a : b;
	json_t *stock = change == a ? b : a;
	cr_assert_str_eq(msh_str(change, "NotificationVersion"), "1.0");
	cr_assert_str_eq(msh_str(change, "PayloadVersion"), "1.0");
	cr_assert(json_is_string(json_object_get(change, "EventTime")));
	cr_assert_str_eq(msh_str(json_object_get(change, "NotificationMetadata"), "ApplicationId"),
			 app("application_id"));
	json_t *oc = json_object_get(json_object_get(change, "Payload"), "OrderChangeNotification");
	cr_assert_str_eq(msh_str(oc, "AmazonOrderId"), order);
	cr_assert_str_eq(msh_str(oc, "SellerId"), spid);
	cr_assert(json_array_size(json_object_get(json_object_get(oc, "Summary"), "OrderItems")) >=
		  1);
	cr_assert_str_eq(msh_str(stock, "NotificationType"), "FBA_INVENTORY_AVAILABILITY_CHANGES");
	json_t *p = json_object_get(stock, "Payload");
	cr_assert_str_eq(msh_str(p, "SKU"), sku);
	json_t *fi = json_object_get(
	    json_array_get(json_object_get(p, "FulfillmentInventoryByMarketplace"), 0),
	    "FulfillmentInventory");
	cr_assert(json_is_integer(json_object_get(fi, "Fulfillable")));
	json_decref(a);
	json_decref(b);

	h_resp_t s = h_http("GET", h_url(&sim, "/_sim/amazon"), NULL, NULL);
	cr_assert(H_WAIT_UNTIL(({
				       h_resp_free(&s);
				       s = h_http("GET", h_url(&sim, "/_sim/amazon"), NULL, NULL);
				       json_integer_value(
					   json_object_get(json_object_get(s.json, "notifications"),
							   "delivered")) == 2;
			       }),
			       10000));
	h_resp_free(&s);
	msh_receiver_stop(&rc);
}

/* ---- finances, inventory, catalog and offers ---- */

Test(marketsim_amazon_flags, finances_inventory_catalog_and_offers_page_to_the_truth)
{
	const char *args[] = {"--amazon-skus", "200", NULL};
	start_with(args);
	msh_clock(&sim, "{\"frozen\":true}");
	const char *token = access_token(0);

	/* Every financial event, 100 a page, over the seeded 90 days (less than 180 apart). */
	char path[4096], next[2048] = "";
	json_int_t events = 0, refunds = 0;
	do {
		if (next[0])
			snprintf(path, sizeof(path), "/finances/v0/financialEvents?NextToken=%s",
				 esc(next));
		else
			snprintf(path, sizeof(path),
				 "/finances/v0/financialEvents?PostedAfter=%s"
				 "&PostedBefore=%s&MaxResultsPerPage=100",
				 "2025-11-20T00:00:00Z", "2026-03-01T12:00:00Z");
		h_resp_t r = sp("GET", token, path, NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		json_t *p = json_object_get(r.json, "payload");
		json_t *lists = json_object_get(p, "FinancialEvents");
		events +=
		    (json_int_t)(json_array_size(json_object_get(lists, "ShipmentEventList")) +
				 json_array_size(json_object_get(lists, "RefundEventList")));
		refunds += (json_int_t)json_array_size(json_object_get(lists, "RefundEventList"));
		json_t *ship = json_array_get(json_object_get(lists, "ShipmentEventList"), 0);
		if (ship) {
			json_t *fee = json_array_get(
			    json_object_get(
				json_array_get(json_object_get(ship, "ShipmentItemList"), 0),
				"ItemFeeList"),
			    0);
			cr_assert_str_eq(msh_str(fee, "FeeType"), "Commission");
			cr_assert(json_number_value(json_object_get(
				      json_object_get(fee, "FeeAmount"), "CurrencyAmount")) < 0,
				  "fees are negative numbers");
		}
		const char *t = json_string_value(json_object_get(p, "NextToken"));
		snprintf(next, sizeof(next), "%s", t ? t : "");
		h_resp_free(&r);
	} while (next[0]);
	cr_assert_eq(events, count(0, "financial_events"));
	cr_assert_eq(refunds, count(0, "refunds"));
	h_resp_t g =
	    sp("GET", token, "/finances/v0/financialEventGroups?MaxResultsPerPage=100", NULL);
	cr_assert_eq((json_int_t)json_array_size(json_object_get(json_object_get(g.json, "payload"),
								 "FinancialEventGroupList")),
		     count(0, "financial_event_groups"));
	h_resp_free(&g);

	/* FBA inventory: 50 a page; the token lives 30 s. */
	json_int_t fba = 0;
	next[0] = '\0';
	char first_token[2048] = "";
	do {
		snprintf(path, sizeof(path),
			 "/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId=%s"
			 "&marketplaceIds=%s%s%s",
			 MARKETPLACE, MARKETPLACE, next[0] ? "&nextToken=" : "",
			 next[0] ? esc(next) : "");
		msh_clock_advance(&sim, 500); /* the bucket refills at 2/s */
		h_resp_t r = sp("GET", token, path, NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		json_t *list =
		    json_object_get(json_object_get(r.json, "payload"), "inventorySummaries");
		cr_assert_leq(json_array_size(list), 50);
		fba += (json_int_t)json_array_size(list);
		const char *t = json_string_value(
		    json_object_get(json_object_get(r.json, "pagination"), "nextToken"));
		snprintf(next, sizeof(next), "%s", t ? t : "");
		if (t && !first_token[0])
			snprintf(first_token, sizeof(first_token), "%s", t);
		h_resp_free(&r);
	} while (next[0]);
	cr_assert_eq(fba, count(0, "fba_skus"));
	cr_assert(first_token[0], "more than one page");
	msh_clock_advance(&sim, 30001);
	snprintf(path, sizeof(path),
		 "/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId=%s"
		 "&marketplaceIds=%s&nextToken=%s",
		 MARKETPLACE, MARKETPLACE, esc(first_token));
	h_resp_t x = sp("GET", token, path, NULL);
	assert_sp_error(&x, 400, "InvalidInput");
	h_resp_free(&x);

	/* Catalog: search by keyword, then the item; its offers: one buy box winner at most. */
	msh_clock_advance(&sim, 1000);
	h_resp_t s = sp("GET", token,
			"/catalog/2022-04-01/items?marketplaceIds=" MARKETPLACE
			"&keywords=wireless&pageSize=5",
			NULL);
	cr_assert_eq(s.status, 200, "%s", s.body);
	cr_assert_null(json_object_get(s.json, "payload"), "no payload wrapper");
	cr_assert_gt(json_integer_value(json_object_get(s.json, "numberOfResults")), 0);
	const char *asin = msh_str(json_array_get(json_object_get(s.json, "items"), 0), "asin");
	snprintf(path, sizeof(path),
		 "/catalog/2022-04-01/items/%s?marketplaceIds=%s&includedData=summaries,salesRanks",
		 asin, MARKETPLACE);
	h_resp_t item = sp("GET", token, path, NULL);
	cr_assert_eq(item.status, 200, "%s", item.body);
	json_t *sum = json_array_get(json_object_get(item.json, "summaries"), 0);
	cr_assert(strstr(msh_str(sum, "itemName"), "Wireless"), "%s", item.body);
	cr_assert(json_is_string(json_object_get(sum, "brand")));
	cr_assert(json_array_size(json_object_get(item.json, "salesRanks")) == 1);
	h_resp_free(&item);
	snprintf(path, sizeof(path),
		 "/products/pricing/v0/items/%s/offers?MarketplaceId=%s&ItemCondition=New", asin,
		 MARKETPLACE);
	h_resp_t o = sp("GET", token, path, NULL);
	cr_assert_eq(o.status, 200, "%s", o.body);
	json_t *offers = json_object_get(json_object_get(o.json, "payload"), "Offers");
	int winners = 0;
	for (size_t i = 0; i < json_array_size(offers); i++)
		winners +=
		    json_is_true(json_object_get(json_array_get(offers, i), "IsBuyBoxWinner"));
	cr_assert_eq(winners, 1);
	cr_assert_eq(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(o.json, "payload"), "Summary"), "TotalOfferCount")),
	    (json_int_t)json_array_size(offers));
	h_resp_free(&o);
	h_resp_free(&s);
}

/* ---- a document whose reader leaves, and a reset in the middle of one ---- */

static void start_download(const char *url, int *fd)
{
	const char *path = strstr(url + 7, "/");
	*fd = h_connect(sim.port);
	char req[2048];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
	cr_assert_eq(write(*fd, req, (size_t)n), n);
	char buf[4096];
	cr_assert_gt(read(*fd, buf, sizeof(buf)), 0, "the document starts");
}

Test(marketsim_amazon_flags, readers_that_leave_and_resets_mid_document_are_survived)
{
	/* Plain: 24 MB, more than the socket buffers hold, so the reader leaves mid-document. */
	const char *args[] = {"--amazon-orders",       "20000", "--amazon-sellers", "1",
			      "--amazon-report-plain", NULL};
	start_with(args);
	msh_clock(&sim, "{\"frozen\":true}");
	const char *token = access_token(0);
	json_t *doc =
	    report_document(token, "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL");
	int fd;
	start_download(msh_str(doc, "url"), &fd);
	close(fd); /* gone after the first bytes */
	/* Still serving documents: a small one, whole. */
	json_t *small = report_document(token, "GET_MERCHANT_LISTINGS_ALL_DATA");
	h_resp_t f = h_http("GET", msh_str(small, "url"), NULL, NULL);
	cr_assert_eq(f.status, 200);
	long lines = 0;
	for (size_t i = 0; i < f.len; i++)
		lines += f.body[i] == '\n';
	cr_assert_eq(lines - 1, count(0, "skus"));
	h_resp_free(&f);
	json_decref(small);

	start_download(msh_str(doc, "url"), &fd);
	h_resp_t r = msh_sim(&sim, "POST", "/_sim/reset", "{}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	h_resp_free(&r);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		; /* the reset closed it */
	close(fd);
	cr_assert(h_get_status(&sim, "/_sim/amazon") == 200, "still serving");
	json_decref(doc);
	stop(); /* exits 0: every stream was freed, also under ASan */
}
