/* Listings Items 2021-08-01: getListingsItem (summaries, attributes, offers,
 * fulfillmentAvailability, issues) and patchListingsItem for the price
 * (/attributes/purchasable_offer) and the merchant quantity (/attributes/fulfillment_availability).
 * A patch is applied at once and ACCEPTED, so later reads (listings, pricing, reports) show it. */
#include "amazon.h"
#include "rng.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *const datasets[] = {
    "summaries", "attributes", "issues", "offers", "fulfillmentAvailability", "procurement"};

static am_sku_t *path_sku(ms_req_t *r)
{
	am_seller_t *s = am_req_seller(r);
	if (strcmp(r->params[0], s->id) != 0) {
		am_error(r, 403, "Unauthorized", "Access to requested resource is denied.");
		return NULL;
	}
	if (!am_marketplace_ok(r, "marketplaceIds", true))
		return NULL;
	am_sku_t *k = am_sku_find(s, r->params[1]);
	if (!k)
		am_error(r, 404, "NotFound", "SKU '%s' not found in marketplace %s", r->params[1],
			 AM_MARKETPLACE);
	return k;
}

static json_t *money(int64_t cents)
{
	char amount[24];
	snprintf(amount, sizeof(amount), "%lld.%02lld", (long long)(cents / 100),
		 (long long)(cents % 100));
	return json_pack("{s:s, s:s}", "currencyCode", AM_CURRENCY, "amount", amount);
}

void h_am_listing_get(ms_req_t *r)
{
	am_sku_t *k = path_sku(r);
	if (!k)
		return;
	size_t n;
	const char **inc = am_csv(r, "includedData", &n);
	for (size_t i = 0; i < n; i++) {
		size_t d = 0;
		while (d < sizeof(datasets) / sizeof(datasets[0]) && strcmp(inc[i], datasets[d]))
			d++;
		if (d == sizeof(datasets) / sizeof(datasets[0])) {
			am_error(r, 400, "InvalidInput", "Invalid includedData value: %s", inc[i]);
			return;
		}
	}
	static const char *dflt[] = {"summaries"};
	if (!n) {
		inc = dflt;
		n = 1;
	}
	char title[160];
	am_sku_title(k, title, sizeof(title));
	const char *channel = k->afn ? "AMAZON_NA" : "DEFAULT";
	json_t *j = json_pack("{s:s}", "sku", k->sku);
	if (am_csv_has(inc, n, "summaries")) {
		json_t *status = k->quantity > 0 ? json_pack("[s, s]", "BUYABLE", "DISCOVERABLE")
						 : json_pack("[s]", "DISCOVERABLE");
		json_object_set_new(
		    j, "summaries",
		    json_pack(
			"[{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o}]", "marketplaceId",
			AM_MARKETPLACE, "asin", k->asin, "productType",
			am_products[k->product].product_type, "conditionType", "new_new", "status",
			status, "itemName", title, "createdDate", am_time_json(k->open_ms),
			"lastUpdatedDate",
			am_time_json(k->listing_ms > k->stock_ms ? k->listing_ms : k->stock_ms)));
	}
	if (am_csv_has(inc, n, "attributes"))
		json_object_set_new(
		    j, "attributes",
		    json_pack("{s:[{s:s, s:s}], s:[{s:s, s:s, s:[{s:[{s:f}]}]}], s:[{s:s, s:i}]}",
			      "item_name", "value", title, "marketplace_id", AM_MARKETPLACE,
			      "purchasable_offer", "marketplace_id", AM_MARKETPLACE, "currency",
			      AM_CURRENCY, "our_price", "schedule", "value_with_tax",
			      k->price_cents / 100.0, "fulfillment_availability",
			      "fulfillment_channel_code", channel, "quantity", k->quantity));
	if (am_csv_has(inc, n, "offers"))
		json_object_set_new(j, "offers",
				    json_pack("[{s:s, s:s, s:o}]", "marketplaceId", AM_MARKETPLACE,
					      "offerType", "B2C", "price", money(k->price_cents)));
	if (am_csv_has(inc, n, "fulfillmentAvailability"))
		json_object_set_new(j, "fulfillmentAvailability",
				    json_pack("[{s:s, s:i}]", "fulfillmentChannelCode", channel,
					      "quantity", k->quantity));
	if (am_csv_has(inc, n, "issues"))
		json_object_set_new(j, "issues", json_array());
	am_reply(r, 200, j);
}

static json_t *issue(const char *code, const char *message, const char *attribute)
{
	return json_pack("{s:s, s:s, s:s, s:[s]}", "code", code, "message", message, "severity",
			 "ERROR", "attributeNames", attribute);
}

/* Apply one patch; an issue (stolen by the caller) when it cannot. */
static json_t *apply(am_sku_t *k, json_t *p, int64_t now)
{
	const char *op = json_string_value(json_object_get(p, "op"));
	const char *path = json_string_value(json_object_get(p, "path"));
	json_t *v = json_array_get(json_object_get(p, "value"), 0);
	if (!op || !path || (strcmp(op, "replace") != 0 && strcmp(op, "add") != 0))
		return issue("4000001", "Only add and replace patches are simulated", "patches");
	if (strcmp(path, "/attributes/purchasable_offer") == 0) {
		json_t *sched = json_array_get(
		    json_object_get(json_array_get(json_object_get(v, "our_price"), 0), "schedule"),
		    0);
		json_t *price = json_object_get(sched, "value_with_tax");
		if (!json_is_number(price) || json_number_value(price) <= 0 ||
		    json_number_value(price) >= 1e6)
			return issue("4000001",
				     "our_price[0].schedule[0].value_with_tax must be a positive "
				     "number",
				     "purchasable_offer");
		k->price_cents = (int)(json_number_value(price) * 100 + 0.5);
		k->listing_ms = now;
		return NULL;
	}
	if (strcmp(path, "/attributes/fulfillment_availability") == 0) {
		json_t *q = json_object_get(v, "quantity");
		const char *code =
		    json_string_value(json_object_get(v, "fulfillment_channel_code"));
		if (k->afn)
			return issue("8541", "The quantity of an FBA listing is managed by Amazon",
				     "fulfillment_availability");
		if (!code || strcmp(code, "DEFAULT") != 0 || !json_is_integer(q) ||
		    json_integer_value(q) < 0 || json_integer_value(q) > 1000000)
			return issue("4000001",
				     "fulfillment_channel_code must be DEFAULT and quantity an "
				     "integer ≥ 0",
				     "fulfillment_availability");
		k->quantity = (int)json_integer_value(q);
		k->stock_ms = now;
		return NULL;
	}
	return issue("4000001", "Only purchasable_offer and fulfillment_availability are simulated",
		     "patches");
}

void h_am_listing_patch(ms_req_t *r)
{
	am_sku_t *k = path_sku(r);
	if (!k)
		return;
	json_t *body = ms_body_json(r);
	json_t *patches = json_object_get(body, "patches");
	if (!json_is_string(json_object_get(body, "productType")) || !json_is_array(patches) ||
	    json_array_size(patches) == 0) {
		json_decref(body);
		am_error(r, 400, "InvalidInput", "The body needs productType and patches");
		return;
	}
	/* All or nothing: check on a copy, then apply. */
	am_sku_t trial = *k;
	json_t *issues = json_array();
	int64_t now = ms_wall_ms(r->ms) / 1000 * 1000;
	size_t i;
	json_t *p;
	bool stock = false;
	json_array_foreach(patches, i, p)
	{
		const char *at = json_string_value(json_object_get(p, "path"));
		stock |= at && strcmp(at, "/attributes/fulfillment_availability") == 0;
		json_t *bad = apply(&trial, p, now);
		if (bad)
			json_array_append_new(issues, bad);
	}
	json_decref(body);
	bool ok = json_array_size(issues) == 0;
	if (ok && stock)
		ms_stock_write(r->ms, "amazon", k->sku, NULL, trial.quantity);
	if (ok)
		*k = trial;
	char id[40];
	uint64_t x = rng_next(&r->ms->amazon->rng);
	snprintf(id, sizeof(id), "%016llx%08x", (unsigned long long)x, (unsigned)(x >> 13));
	am_reply(r, 200,
		 json_pack("{s:s, s:s, s:s, s:o}", "sku", k->sku, "status",
			   ok ? "ACCEPTED" : "INVALID", "submissionId", id, "issues", issues));
}
