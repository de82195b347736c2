/* FBA Inventory API v1: getInventorySummaries for the seller's FBA SKUs (granularity
 * Marketplace, one marketplace, details, startDateTime, sellerSkus), 50 a page, with a
 * top-level pagination.nextToken that expires 30 seconds after it was made. */
#include "amazon.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

#define PAGE	      50
#define TOKEN_LIFE_MS 30000LL

static json_t *summary(const am_sku_t *k, bool details)
{
	char title[160];
	int total = k->quantity + k->inbound_working + k->inbound_shipped + k->inbound_receiving +
		    k->reserved + k->unfulfillable + k->researching;
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:i, s:[]}", "asin", k->asin, "fnSku",
			      k->fnsku, "sellerSku", k->sku, "condition", "NewItem", "productName",
			      am_sku_title(k, title, sizeof(title)), "lastUpdatedTime",
			      am_time_json(k->stock_ms), "totalQuantity", total, "stores");
	if (details)
		json_object_set_new(
		    j, "inventoryDetails",
		    json_pack(
			"{s:i, s:i, s:i, s:i, s:{s:i, s:i, s:i, s:i}, s:{s:i, s:[{s:s, "
			"s:i}]}, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i}}",
			"fulfillableQuantity", k->quantity, "inboundWorkingQuantity",
			k->inbound_working, "inboundShippedQuantity", k->inbound_shipped,
			"inboundReceivingQuantity", k->inbound_receiving, "reservedQuantity",
			"totalReservedQuantity", k->reserved, "pendingCustomerOrderQuantity",
			k->reserved - k->reserved / 2, "pendingTransshipmentQuantity", 0,
			"fcProcessingQuantity", k->reserved / 2, "researchingQuantity",
			"totalResearchingQuantity", k->researching, "researchingQuantityBreakdown",
			"name", "researchingQuantityInShortTerm", "quantity", k->researching,
			"unfulfillableQuantity", "totalUnfulfillableQuantity", k->unfulfillable,
			"customerDamagedQuantity", k->unfulfillable, "warehouseDamagedQuantity", 0,
			"distributorDamagedQuantity", 0, "carrierDamagedQuantity", 0,
			"defectiveQuantity", 0, "expiredQuantity", 0));
	return j;
}

void h_am_inventory(ms_req_t *r)
{
	am_seller_t *s = am_req_seller(r);
	int64_t since = 0;
	bool has_since = false, details;
	long pos = 0;
	const char *skus_arg;
	const char *next = ms_arg(r, "nextToken");
	const char *gt = ms_arg(r, "granularityType"), *gid = ms_arg(r, "granularityId");
	if (!gt || strcmp(gt, "Marketplace") != 0 || !gid || strcmp(gid, AM_MARKETPLACE) != 0) {
		am_error(r, 400, "InvalidInput",
			 "granularityType must be Marketplace and granularityId the marketplace");
		return;
	}
	size_t n_mkt;
	am_csv(r, "marketplaceIds", &n_mkt);
	if (n_mkt > 1) {
		am_error(r, 400, "InvalidInput", "marketplaceIds accepts exactly one marketplace");
		return;
	}
	if (!am_marketplace_ok(r, "marketplaceIds", true))
		return;
	if (next) {
		json_t *c = am_token_decode(r, next, "getInventorySummaries");
		if (!c)
			return;
		pos = (long)json_integer_value(json_object_get(c, "p"));
		since = json_integer_value(json_object_get(c, "t"));
		has_since = json_is_true(json_object_get(c, "h"));
		json_decref(c);
	} else if (!am_arg_time(r, "startDateTime", &since, &has_since)) {
		return;
	}
	const char *d = ms_arg(r, "details");
	details = d && strcmp(d, "true") == 0;
	skus_arg = ms_arg(r, "sellerSkus") ? "sellerSkus" : "sellerSku";
	size_t n_skus;
	const char **skus = am_csv(r, skus_arg, &n_skus);
	if (n_skus > 50) {
		am_error(r, 400, "InvalidInput", "sellerSkus accepts at most 50 SKUs");
		return;
	}
	json_t *list = json_array();
	size_t i = (size_t)pos;
	bool more = false;
	for (; i < s->n_skus; i++) {
		const am_sku_t *k = &s->skus[i];
		if (!k->afn || (has_since && k->stock_ms < since) ||
		    (n_skus && !am_csv_has(skus, n_skus, k->sku)))
			continue;
		if (json_array_size(list) == PAGE) {
			more = true;
			break;
		}
		json_array_append_new(list, summary(k, details));
	}
	json_t *body =
	    json_pack("{s:{s:{s:s, s:s}, s:o}}", "payload", "granularity", "granularityType",
		      "Marketplace", "granularityId", AM_MARKETPLACE, "inventorySummaries", list);
	if (more) {
		json_t *c = json_pack("{s:I, s:I, s:b}", "p", (json_int_t)i, "t", (json_int_t)since,
				      "h", has_since);
		json_object_set_new(
		    body, "pagination",
		    json_pack("{s:s}", "nextToken",
			      am_token_encode(r, "getInventorySummaries", c, TOKEN_LIFE_MS)));
	}
	am_reply(r, 200, body);
}
