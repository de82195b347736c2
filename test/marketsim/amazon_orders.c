/* Orders API v0: getOrders (CreatedAfter/Before or LastUpdatedAfter/Before, MarketplaceIds,
 * OrderStatuses, FulfillmentChannels, AmazonOrderIds, MaxResultsPerPage ≤ 100, NextToken),
 * getOrder and getOrderItems, in the v0 {"payload"} envelope with Money amounts as strings. */
#include "amazon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MIN_MS	      60000LL
#define DAY_MS	      86400000LL
#define TOKEN_LIFE_MS (24 * 3600000LL)

/* Every documented OrderStatus, as filter bits. */
static const char *const filter_statuses[] = {
    "PendingAvailability", "Pending",  "Unshipped",    "PartiallyShipped", "Shipped",
    "InvoiceUnconfirmed",  "Canceled", "Unfulfillable"};
static const int status_bit[] = {1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 6}; /* by enum am_status */

struct city {
	const char *city, *state, *zip;
};
static const struct city cities[] = {
    {"SEATTLE", "WA", "98101"},	  {"AUSTIN", "TX", "78701"},   {"DENVER", "CO", "80202"},
    {"BROOKLYN", "NY", "11201"},  {"CHICAGO", "IL", "60601"},  {"PORTLAND", "OR", "97205"},
    {"ATLANTA", "GA", "30303"},	  {"PHOENIX", "AZ", "85004"},  {"MIAMI", "FL", "33130"},
    {"SAN DIEGO", "CA", "92101"}, {"COLUMBUS", "OH", "43215"}, {"BOSTON", "MA", "02108"},
};

int am_order_units(const am_seller_t *s, const am_order_t *o, int *shipped)
{
	int units = 0;
	*shipped = 0;
	for (int k = 0; k < o->n_items; k++) {
		units += s->items[o->first_item + k].qty;
		*shipped += s->items[o->first_item + k].shipped;
	}
	return units;
}

static int level_category(const am_order_t *o)
{
	return o->level < 6 ? 0 : o->level < 8 ? 1 : o->level < 9 ? 2 : 3;
}

const char *am_order_ship_level(const am_order_t *o)
{
	static const char *const afn_levels[] = {"Standard", "Expedited", "Expedited", "Expedited"};
	static const char *const mfn_levels[] = {"Std US D2D Dom", "Exp US D2D Dom",
						 "Second US D2D Dom", "Next US D2D Dom"};
	return (o->afn ? afn_levels : mfn_levels)[level_category(o)];
}

void am_order_address(const am_order_t *o, const char **city, const char **state, const char **zip)
{
	const struct city *c = &cities[o->city % (sizeof(cities) / sizeof(cities[0]))];
	*city = c->city;
	*state = c->state;
	*zip = c->zip;
}

json_t *am_order_json(const am_seller_t *s, const am_order_t *o)
{
	const struct city *c = &cities[o->city % (sizeof(cities) / sizeof(cities[0]))];
	static const char *const categories[] = {"Standard", "Expedited", "SecondDay", "NextDay"};
	int cat = level_category(o);
	int shipped, units = am_order_units(s, o, &shipped);
	int64_t total = 0;
	for (int k = 0; k < o->n_items; k++) {
		const am_item_t *it = &s->items[o->first_item + k];
		total += (int64_t)it->unit_cents * it->qty + it->tax_cents + it->ship_cents -
			 it->promo_cents;
	}
	json_t *j = json_pack(
	    "{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:[s], s:s, s:s, s:s, s:o, "
	    "s:o, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:{s:s, s:s, s:s, s:s}, "
	    "s:{s:b}}",
	    "AmazonOrderId", o->id, "PurchaseDate", am_time_json(o->purchase_ms), "LastUpdateDate",
	    am_time_json(o->updated_ms), "OrderStatus", am_status_names[o->status],
	    "FulfillmentChannel", o->afn ? "AFN" : "MFN", "SalesChannel", "Amazon.com",
	    "ShipServiceLevel", am_order_ship_level(o), "OrderType", "StandardOrder",
	    "NumberOfItemsShipped", o->status == AM_CANCELED ? 0 : shipped,
	    "NumberOfItemsUnshipped", o->status == AM_CANCELED ? 0 : units - shipped,
	    "PaymentMethod", "Other", "PaymentMethodDetails", "Standard", "MarketplaceId",
	    AM_MARKETPLACE, "ShipmentServiceLevelCategory", categories[cat], "SellerOrderId", o->id,
	    "EarliestShipDate", am_time_json(o->purchase_ms), "LatestShipDate",
	    am_time_json(o->purchase_ms + 2 * DAY_MS), "IsBusinessOrder", o->business, "IsPrime",
	    o->prime, "IsPremiumOrder", 0, "IsGlobalExpressEnabled", 0, "IsReplacementOrder", 0,
	    "IsSoldByAB", 0, "IsISPU", 0, "IsAccessPointOrder", 0, "HasRegulatedItems", 0,
	    "ShippingAddress", "City", c->city, "StateOrRegion", c->state, "PostalCode", c->zip,
	    "CountryCode", "US", "AutomatedShippingSettings", "HasAutomatedShippingSettings", 0);
	if (o->status != AM_PENDING)
		json_object_set_new(j, "OrderTotal", am_money_str(total));
	if (!o->afn) {
		json_object_set_new(j, "EarliestDeliveryDate",
				    am_time_json(o->purchase_ms + 3 * DAY_MS));
		json_object_set_new(j, "LatestDeliveryDate",
				    am_time_json(o->purchase_ms + 7 * DAY_MS));
	}
	return j;
}

static json_t *item_json(const am_seller_t *s, const am_order_t *o, int k)
{
	const am_item_t *it = &s->items[o->first_item + k];
	const am_sku_t *sku = &s->skus[it->sku];
	char title[160], id[24];
	/* 14 digits: the seller's order-id group, then the line's index. */
	snprintf(id, sizeof(id), "%.3s%011u", o->id, (unsigned)(o->first_item + (uint32_t)k));
	json_t *j = json_pack(
	    "{s:s, s:s, s:s, s:s, s:i, s:i, s:{s:s}, s:s, s:s, s:s, s:b, s:b, s:{s:s, s:s}}",
	    "ASIN", sku->asin, "SellerSKU", sku->sku, "OrderItemId", id, "Title",
	    am_sku_title(sku, title, sizeof(title)), "QuantityOrdered", it->qty, "QuantityShipped",
	    it->shipped, "ProductInfo", "NumberOfItems", "1", "IsGift", "false", "ConditionId",
	    "New", "ConditionSubtypeId", "New", "IsTransparency", 0, "SerialNumberRequired", 0,
	    "BuyerRequestedCancel", "IsBuyerRequestedCancel", "false", "BuyerCancelReason", "");
	if (o->status != AM_PENDING) {
		json_object_set_new(j, "ItemPrice",
				    am_money_str((int64_t)it->unit_cents * it->qty));
		json_object_set_new(j, "ItemTax", am_money_str(it->tax_cents));
		json_object_set_new(j, "ShippingPrice", am_money_str(it->ship_cents));
		json_object_set_new(j, "ShippingTax", am_money_str(0));
		json_object_set_new(j, "ShippingDiscount", am_money_str(0));
		json_object_set_new(j, "ShippingDiscountTax", am_money_str(0));
		json_object_set_new(j, "PromotionDiscount", am_money_str(it->promo_cents));
		json_object_set_new(j, "PromotionDiscountTax", am_money_str(0));
		json_object_set_new(j, "PromotionIds",
				    it->promo_cents ? json_pack("[s]", "US Core Free Shipping")
						    : json_array());
	}
	return j;
}

/* ---- getOrders ---- */

struct query {
	bool by_update;
	int64_t after, before;
	int statuses, channels; /* bit masks; 0 = any */
	long page;
	int64_t last_key; /* resume after (last_key, last_idx); last_idx < 0 = from the start */
	long last_idx;
};

static int64_t key_of(const am_seller_t *s, const struct query *q, size_t i)
{
	return q->by_update ? s->orders[i].updated_ms : s->orders[i].purchase_ms;
}

static bool matches(const am_order_t *o, const struct query *q)
{
	if (q->statuses && !(q->statuses & status_bit[o->status]))
		return false;
	if (q->channels && !(q->channels & (o->afn ? 1 : 2)))
		return false;
	return true;
}

static bool parse_query(ms_req_t *r, struct query *q)
{
	int64_t now = ms_wall_ms(r->ms), latest = now - 2 * MIN_MS;
	int64_t ca, cb, ua, ub;
	bool has_ca, has_cb, has_ua, has_ub;
	if (!am_marketplace_ok(r, "MarketplaceIds", true) ||
	    !am_arg_time(r, "CreatedAfter", &ca, &has_ca) ||
	    !am_arg_time(r, "CreatedBefore", &cb, &has_cb) ||
	    !am_arg_time(r, "LastUpdatedAfter", &ua, &has_ua) ||
	    !am_arg_time(r, "LastUpdatedBefore", &ub, &has_ub) ||
	    !am_arg_int(r, "MaxResultsPerPage", 1, 100, 100, &q->page))
		return false;
	const char *bad = NULL;
	if (!has_ca && !has_ua)
		bad = "Either CreatedAfter or LastUpdatedAfter must be specified";
	else if (has_ca && (has_ua || has_ub))
		bad = "LastUpdatedAfter and LastUpdatedBefore cannot be used with CreatedAfter";
	else if (has_ua && has_cb)
		bad = "CreatedBefore cannot be used with LastUpdatedAfter";
	if (bad) {
		am_error(r, 400, "InvalidInput", "%s", bad);
		return false;
	}
	q->by_update = has_ua;
	q->after = has_ua ? ua : ca;
	bool has_before = has_ua ? has_ub : has_cb;
	q->before = has_before ? (has_ua ? ub : cb) : latest;
	const char *name = has_ua ? "LastUpdated" : "Created";
	if (q->after > latest || q->before > latest) {
		am_error(r, 400, "InvalidInput",
			 "%sAfter and %sBefore must be at least 2 minutes before the time of the "
			 "request",
			 name, name);
		return false;
	}
	if (q->before < q->after) {
		am_error(r, 400, "InvalidInput", "%sBefore must be later than %sAfter", name, name);
		return false;
	}
	size_t n;
	const char **list = am_csv(r, "OrderStatuses", &n);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < 8 && strcmp(list[i], filter_statuses[k]) != 0)
			k++;
		if (k == 8) {
			am_error(r, 400, "InvalidInput", "Invalid OrderStatuses value: %s",
				 list[i]);
			return false;
		}
		q->statuses |= 1 << k;
	}
	if (!(q->statuses & (1 << 2)) != !(q->statuses & (1 << 3))) {
		am_error(r, 400, "InvalidInput",
			 "Unshipped and PartiallyShipped must be used together in OrderStatuses");
		return false;
	}
	list = am_csv(r, "FulfillmentChannels", &n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], "AFN") != 0 && strcmp(list[i], "MFN") != 0) {
			am_error(r, 400, "InvalidInput", "Invalid FulfillmentChannels value: %s",
				 list[i]);
			return false;
		}
		q->channels |= list[i][0] == 'A' ? 1 : 2;
	}
	q->last_idx = -1;
	return true;
}

static bool query_from_token(ms_req_t *r, struct query *q)
{
	json_t *c = am_token_decode(r, ms_arg(r, "NextToken"), "getOrders");
	if (!c)
		return false;
	q->by_update = json_is_true(json_object_get(c, "u"));
	q->after = json_integer_value(json_object_get(c, "a"));
	q->before = json_integer_value(json_object_get(c, "b"));
	q->statuses = (int)json_integer_value(json_object_get(c, "st"));
	q->channels = (int)json_integer_value(json_object_get(c, "fc"));
	q->page = (long)json_integer_value(json_object_get(c, "n"));
	q->last_key = json_integer_value(json_object_get(c, "lk"));
	q->last_idx = (long)json_integer_value(json_object_get(c, "li"));
	json_decref(c);
	return true;
}

/* The order at position pos of the query's sort (purchase date, or last update). */
static size_t at(const am_seller_t *s, const struct query *q, size_t pos)
{
	return q->by_update ? s->by_update[pos] : pos;
}

/* First position whose (key, index) comes after (key, idx). */
static size_t seek(const am_seller_t *s, const struct query *q, int64_t key, long idx)
{
	size_t lo = 0, hi = s->n_orders;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, i = at(s, q, mid);
		int64_t k = key_of(s, q, i);
		if (k < key || (k == key && (long)i <= idx))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void by_ids(ms_req_t *r, am_seller_t *s, const char **ids, size_t n)
{
	if (n > 50) {
		am_error(r, 400, "InvalidInput", "AmazonOrderIds accepts at most 50 ids");
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		am_order_t *o = am_order_find(s, ids[i]);
		if (o)
			json_array_append_new(list, am_order_json(s, o));
	}
	am_payload(r, json_pack("{s:o}", "Orders", list));
}

void h_am_orders(ms_req_t *r)
{
	am_seller_t *s = am_req_seller(r);
	struct query q = {0};
	size_t n_ids;
	const char **ids = am_csv(r, "AmazonOrderIds", &n_ids);
	if (!ms_arg(r, "NextToken") && n_ids) {
		if (am_marketplace_ok(r, "MarketplaceIds", true))
			by_ids(r, s, ids, n_ids);
		return;
	}
	if (ms_arg(r, "NextToken") ? !query_from_token(r, &q) : !parse_query(r, &q))
		return;
	size_t pos =
	    q.last_idx < 0 ? seek(s, &q, q.after, -1) : seek(s, &q, q.last_key, q.last_idx);
	json_t *list = json_array();
	bool more = false;
	for (; pos < s->n_orders; pos++) {
		size_t i = at(s, &q, pos);
		if (key_of(s, &q, i) > q.before)
			break;
		if (!matches(&s->orders[i], &q))
			continue;
		if ((long)json_array_size(list) == q.page) {
			more = true;
			break;
		}
		json_array_append_new(list, am_order_json(s, &s->orders[i]));
		q.last_key = key_of(s, &q, i);
		q.last_idx = (long)i;
	}
	json_t *payload =
	    json_pack("{s:o, s:o}", "Orders", list,
		      q.by_update ? "LastUpdatedBefore" : "CreatedBefore", am_time_json(q.before));
	if (more) {
		json_t *c = json_pack("{s:b, s:I, s:I, s:i, s:i, s:i, s:I, s:I}", "u", q.by_update,
				      "a", (json_int_t)q.after, "b", (json_int_t)q.before, "st",
				      q.statuses, "fc", q.channels, "n", (int)q.page, "lk",
				      (json_int_t)q.last_key, "li", (json_int_t)q.last_idx);
		json_object_set_new(payload, "NextToken",
				    json_string(am_token_encode(r, "getOrders", c, TOKEN_LIFE_MS)));
	}
	am_payload(r, payload);
}

static am_order_t *path_order(ms_req_t *r)
{
	am_order_t *o = am_order_find(am_req_seller(r), r->params[0]);
	if (!o)
		am_error(r, 404, "NotFound", "Order %s was not found", r->params[0]);
	return o;
}

void h_am_order(ms_req_t *r)
{
	am_order_t *o = path_order(r);
	if (o)
		am_payload(r, am_order_json(am_req_seller(r), o));
}

void h_am_order_items(ms_req_t *r)
{
	am_seller_t *s = am_req_seller(r);
	am_order_t *o = path_order(r);
	if (!o)
		return;
	json_t *list = json_array();
	for (int k = 0; k < o->n_items; k++)
		json_array_append_new(list, item_json(s, o, k));
	am_payload(r, json_pack("{s:s, s:o}", "AmazonOrderId", o->id, "OrderItems", list));
}
