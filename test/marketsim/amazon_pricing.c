/* Product Pricing v0: getPricing (the caller's own offers by ASIN or SKU, ≤ 20) and
 * getItemOffers (the lowest-priced offers on an ASIN: the owner's and its competitors', with
 * the buy box and the summary counts). Money is {CurrencyCode, Amount} with Amount a number.
 * Competing offers are drawn from the ASIN, so they are the same on every call. */
#include "amazon.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct offer {
	char seller[16];
	int64_t price, shipping;
	bool fba, mine, buy_box;
	int feedback, rating;
};

static int by_landed(const void *pa, const void *pb)
{
	const struct offer *a = pa, *b = pb;
	int64_t la = a->price + a->shipping, lb = b->price + b->shipping;
	return la < lb ? -1 : la > lb;
}

/* The owner's offer first, then k->offers competitors; sorted by landed price. */
static size_t offers_of(const am_sku_t *k, const am_seller_t *owner, const am_seller_t *caller,
			struct offer *out)
{
	uint64_t rng = 0;
	for (const char *p = k->asin; *p; p++)
		rng = rng * 131 + (unsigned char)*p;
	size_t n = 0;
	memset(out, 0, 21 * sizeof(*out));
	struct offer *mine = &out[n++];
	snprintf(mine->seller, sizeof(mine->seller), "%s", owner->id);
	mine->price = k->price_cents;
	mine->shipping = k->afn ? 0 : 499;
	mine->fba = k->afn;
	mine->mine = owner == caller;
	mine->feedback = 1200;
	mine->rating = 97;
	mine->buy_box = k->buy_box;
	for (int i = 0; i < k->offers && n < 21; i++) {
		struct offer *o = &out[n++];
		o->seller[0] = 'A';
		static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
		for (int c = 1; c < 14; c++)
			o->seller[c] = chars[rng_below(&rng, 36)];
		o->seller[14] = '\0';
		o->price =
		    k->price_cents * (int64_t)rng_range(&rng, 88, 115) / 100 / 100 * 100 + 99;
		o->fba = rng_below(&rng, 2);
		o->shipping = o->fba ? 0 : (int64_t)rng_range(&rng, 0, 1) * 599;
		o->feedback = (int)rng_range(&rng, 3, 40000);
		o->rating = (int)rng_range(&rng, 70, 100);
	}
	qsort(out, n, sizeof(*out), by_landed);
	if (!k->buy_box)
		for (size_t i = 0; i < n; i++)
			if (out[i].seller[0] && strcmp(out[i].seller, owner->id) != 0) {
				out[i].buy_box = true;
				break;
			}
	return n;
}

static json_t *price_json(int64_t price, int64_t shipping)
{
	return json_pack("{s:o, s:o, s:o}", "ListingPrice", am_money_num(price), "Shipping",
			 am_money_num(shipping), "LandedPrice", am_money_num(price + shipping));
}

static json_t *own_price(const am_seller_t *s, const am_sku_t *k, bool by_sku)
{
	json_t *offer = json_pack("{s:o, s:o, s:s, s:s, s:s, s:s}", "BuyingPrice",
				  price_json(k->price_cents, k->afn ? 0 : 499), "RegularPrice",
				  am_money_num(k->list_price_cents), "FulfillmentChannel",
				  k->afn ? "AMAZON" : "MERCHANT", "ItemCondition", "New",
				  "ItemSubCondition", "New", "SellerSKU", k->sku);
	json_t *j =
	    json_pack("{s:s, s:{s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}}, s:[o]}}", "status", "Success",
		      "Product", "Identifiers", "MarketplaceASIN", "MarketplaceId", AM_MARKETPLACE,
		      "ASIN", k->asin, "SKUIdentifier", "MarketplaceId", AM_MARKETPLACE, "SellerId",
		      s->id, "SellerSKU", k->sku, "Offers", offer);
	json_object_set_new(j, by_sku ? "SellerSKU" : "ASIN",
			    json_string(by_sku ? k->sku : k->asin));
	return j;
}

void h_am_pricing(ms_req_t *r)
{
	am_seller_t *s = am_req_seller(r);
	const char *type = ms_arg(r, "ItemType");
	if (!am_marketplace_ok(r, "MarketplaceId", true))
		return;
	if (!type || (strcmp(type, "Asin") != 0 && strcmp(type, "Sku") != 0)) {
		am_error(r, 400, "InvalidInput", "ItemType must be Asin or Sku");
		return;
	}
	bool by_sku = type[0] == 'S';
	size_t n;
	const char **ids = am_csv(r, by_sku ? "Skus" : "Asins", &n);
	if (n == 0 || n > 20) {
		am_error(r, 400, "InvalidInput", "%s must hold from 1 to 20 values",
			 by_sku ? "Skus" : "Asins");
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		am_sku_t *k =
		    by_sku ? am_sku_find(s, ids[i]) : strmap_get(r->ms->amazon->asins, ids[i]);
		if (k && am_sku_owner(r->ms->amazon, k) != s)
			k = NULL; /* getPricing shows the caller's own offers only */
		if (k)
			json_array_append_new(list, own_price(s, k, by_sku));
		else
			json_array_append_new(
			    list, json_pack("{s:s, s:s, s:{s:s, s:s}}", "status", "ClientError",
					    by_sku ? "SellerSKU" : "ASIN", ids[i], "Error", "code",
					    "InvalidInput", "message", "Item not found"));
	}
	am_payload(r, list);
}

void h_am_item_offers(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	const char *cond = ms_arg(r, "ItemCondition");
	if (!am_marketplace_ok(r, "MarketplaceId", true))
		return;
	static const char *const conditions[] = {"New", "Used", "Collectible", "Refurbished",
						 "Club"};
	bool ok = false;
	for (size_t i = 0; cond && i < 5; i++)
		ok |= strcmp(cond, conditions[i]) == 0;
	if (!ok) {
		am_error(r, 400, "InvalidInput",
			 "ItemCondition must be New, Used, Collectible, Refurbished or Club");
		return;
	}
	am_sku_t *k = strmap_get(a->asins, r->params[0]);
	if (!k) {
		am_error(r, 404, "NotFound", "ASIN %s was not found", r->params[0]);
		return;
	}
	json_t *ident = json_pack("{s:s, s:s, s:s}", "MarketplaceId", AM_MARKETPLACE,
				  "ItemCondition", cond, "ASIN", k->asin);
	if (strcmp(cond, "New") != 0) {
		am_payload(r, json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:i}, s:[]}", "ASIN", k->asin,
					"status", "Success", "ItemCondition", cond, "marketplaceId",
					AM_MARKETPLACE, "Identifier", ident, "Summary",
					"TotalOfferCount", 0, "Offers"));
		return;
	}
	struct offer offers[21];
	size_t n = offers_of(k, am_sku_owner(a, k), am_req_seller(r), offers);
	json_t *list = json_array(), *lowest = json_array(), *buybox = json_array();
	int count[2] = {0, 0};
	bool lowest_seen[2] = {false, false};
	for (size_t i = 0; i < n; i++) {
		const struct offer *o = &offers[i];
		count[o->fba]++;
		json_t *j = json_pack(
		    "{s:b, s:s, s:s, s:{s:i, s:I}, s:o, s:o, s:{s:i, s:i, s:s}, s:{s:s}, s:b, s:b, "
		    "s:b, s:{s:b, s:b}}",
		    "MyOffer", o->mine, "SellerId", o->seller, "SubCondition", "new",
		    "SellerFeedbackRating", "SellerPositiveFeedbackRating", o->rating,
		    "FeedbackCount", (json_int_t)o->feedback, "ListingPrice",
		    am_money_num(o->price), "Shipping", am_money_num(o->shipping), "ShippingTime",
		    "minimumHours", o->fba ? 0 : 24, "maximumHours", o->fba ? 0 : 48,
		    "availabilityType", "NOW", "ShipsFrom", "Country", "US", "IsFulfilledByAmazon",
		    o->fba, "IsBuyBoxWinner", o->buy_box, "IsFeaturedMerchant", o->rating >= 90,
		    "PrimeInformation", "IsPrime", o->fba, "IsNationalPrime", o->fba);
		json_array_append_new(list, j);
		if (!lowest_seen[o->fba]) {
			lowest_seen[o->fba] = true;
			json_t *lp = price_json(o->price, o->shipping);
			json_object_set_new(lp, "condition", json_string("new"));
			json_object_set_new(lp, "fulfillmentChannel",
					    json_string(o->fba ? "Amazon" : "Merchant"));
			json_array_append_new(lowest, lp);
		}
		if (o->buy_box) {
			json_t *bb = price_json(o->price, o->shipping);
			json_object_set_new(bb, "condition", json_string("new"));
			json_object_set_new(bb, "sellerId", json_string(o->seller));
			json_array_append_new(buybox, bb);
		}
	}
	json_t *numbers = json_array();
	for (int f = 0; f < 2; f++)
		if (count[f])
			json_array_append_new(numbers, json_pack("{s:s, s:s, s:i}", "condition",
								 "new", "fulfillmentChannel",
								 f ? "Amazon" : "Merchant",
								 "OfferCount", count[f]));
	json_t *summary = json_pack("{s:i, s:o, s:o, s:o, s:O, s:o}", "TotalOfferCount", (int)n,
				    "NumberOfOffers", numbers, "LowestPrices", lowest,
				    "BuyBoxPrices", buybox, "BuyBoxEligibleOffers", numbers,
				    "ListPrice", am_money_num(k->list_price_cents));
	am_payload(r, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "ASIN", k->asin, "status",
				"Success", "ItemCondition", cond, "marketplaceId", AM_MARKETPLACE,
				"Identifier", ident, "Summary", summary, "Offers", list));
}
