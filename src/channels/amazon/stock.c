/* Stock pushes to Amazon (channel_t.push_stock): patchListingsItem replacing the listing's
 * fulfillment_availability with the quantity, in the account's first marketplace. An FBA
 * listing's stock is Amazon's own (its fulfilment centres): never pushed. */
#include "amazon.h"
#include "client.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct push_call {
	channel_push_cb cb;
	void *arg;
} push_call_t;

/* The answer is 200 with status ACCEPTED, or INVALID and the issues that say why. */
static void patched(const amazon_result_t *res, void *arg)
{
	push_call_t *c = arg;
	const char *status = json_string_value(json_object_get(res->body, "status"));
	if (res->err != CHANNEL_OK)
		c->cb(res->err, res->message, c->arg);
	else if (status && strcmp(status, "ACCEPTED") == 0)
		c->cb(CHANNEL_OK, NULL, c->arg);
	else {
		json_t *issue = json_array_get(json_object_get(res->body, "issues"), 0);
		const char *why = json_string_value(json_object_get(issue, "message"));
		c->cb(CHANNEL_ERR_OTHER, why ? why : "the patch was not accepted", c->arg);
	}
	free(c);
}

void amazon_push_stock(app_t *app, const channel_listing_t *l, long quantity, channel_push_cb cb,
		       void *arg)
{
	if (strcmp(l->logistic_type, "AFN") == 0) {
		cb(CHANNEL_OK, "Amazon keeps the stock of an FBA listing", arg);
		return;
	}
	const json_t *s = l->account_settings;
	const char *region = json_string_value(json_object_get(s, "region"));
	const char *marketplace =
	    json_string_value(json_array_get(json_object_get(s, "marketplaceIds"), 0));
	const char *type = json_string_value(json_object_get(l->raw, "productType"));
	if (!region || !marketplace || !l->account_external_id[0]) {
		cb(CHANNEL_ERR_CONFIG, "the account has no region or marketplace", arg);
		return;
	}
	char *seller = curl_easy_escape(NULL, l->account_external_id, 0);
	char *sku = curl_easy_escape(NULL, l->external_id, 0);
	char *mp = curl_easy_escape(NULL, marketplace, 0);
	char path[1024];
	snprintf(path, sizeof(path), "/listings/2021-08-01/items/%s/%s?marketplaceIds=%s", seller,
		 sku, mp);
	curl_free(seller);
	curl_free(sku);
	curl_free(mp);
	json_t *body = json_pack(
	    "{s:s, s:[{s:s, s:s, s:[{s:s, s:I}]}]}", "productType", type ? type : "PRODUCT",
	    "patches", "op", "replace", "path", "/attributes/fulfillment_availability", "value",
	    "fulfillment_channel_code", "DEFAULT", "quantity", (json_int_t)quantity);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	push_call_t *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	amazon_call(app, l->account_id, region, "patchListingsItem", "PATCH", path, text, patched,
		    c);
	free(text);
}
