/* Finances API v0: listFinancialEventGroups (14-day settlement periods), listFinancialEvents
 * (PostedAfter/PostedBefore, MaxResultsPerPage, NextToken), and the same by order and by group.
 * Events are the shipments of orders (principal, tax and shipping charges; Commission and FBA
 * fees as negative amounts) and their refunds (adjustments), in Finances' Currency shape with
 * CurrencyAmount as a number. */
#include "amazon.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

#define MIN_MS	      60000LL
#define DAY_MS	      86400000LL
#define TOKEN_LIFE_MS (24 * 3600000LL)
#define FBA_FEE_CENTS 322

static int64_t commission(int64_t principal)
{
	return (principal * 15 + 50) / 100;
}

/* The charges and fees of line k as the event posts them (quantity: shipped or refunded). */
struct line_money {
	int qty;
	int64_t principal, tax, shipping, promo, commission, fba, refund_commission;
};

static struct line_money line_money(const am_seller_t *s, const am_order_t *o, int k, bool refund)
{
	const am_item_t *it = &s->items[o->first_item + k];
	struct line_money m = {0};
	m.qty = refund ? it->qty : it->shipped;
	if (m.qty == 0)
		return m;
	m.principal = (int64_t)it->unit_cents * m.qty;
	m.tax = (int64_t)it->tax_cents * m.qty / it->qty;
	m.shipping = refund ? 0 : it->ship_cents;
	m.promo = refund ? 0 : (int64_t)it->promo_cents * m.qty / it->qty;
	m.commission = commission(m.principal);
	m.fba = o->afn && !refund ? (int64_t)FBA_FEE_CENTS * m.qty : 0;
	m.refund_commission = refund ? (m.commission / 5 < 500 ? m.commission / 5 : 500) : 0;
	return m;
}

/* A refund gives back the order's first line. */
static int lines_of(const am_order_t *o, bool refund)
{
	return refund ? 1 : o->n_items;
}

int64_t am_event_total_cents(const am_seller_t *s, const am_event_t *e)
{
	if (e->cost)
		return -s->costs[e->order].cents;
	const am_order_t *o = &s->orders[e->order];
	int64_t total = 0;
	for (int k = 0; k < lines_of(o, e->refund); k++) {
		struct line_money m = line_money(s, o, k, e->refund);
		if (e->refund)
			total += -m.principal - m.tax + m.commission - m.refund_commission;
		else
			total += m.principal + m.tax + m.shipping - m.promo - m.commission - m.fba;
	}
	return total;
}

static json_t *charge(const char *type, int64_t cents)
{
	return json_pack("{s:s, s:o}", "ChargeType", type, "ChargeAmount", am_currency(cents));
}

static json_t *fee(const char *type, int64_t cents)
{
	return json_pack("{s:s, s:o}", "FeeType", type, "FeeAmount", am_currency(cents));
}

json_t *am_event_json(const am_seller_t *s, const am_event_t *e)
{
	const am_order_t *o = &s->orders[e->order];
	json_t *items = json_array();
	for (int k = 0; k < lines_of(o, e->refund); k++) {
		struct line_money m = line_money(s, o, k, e->refund);
		if (!m.qty)
			continue;
		const am_item_t *it = &s->items[o->first_item + k];
		char item_id[24];
		snprintf(item_id, sizeof(item_id), "%.3s%011u", o->id,
			 (unsigned)(o->first_item + (uint32_t)k));
		json_t *line = json_pack("{s:s, s:s, s:i}", "SellerSKU", s->skus[it->sku].sku,
					 "OrderItemId", item_id, "QuantityShipped", m.qty);
		if (e->refund) {
			char adj[24];
			snprintf(adj, sizeof(adj), "9%.2s%011u", o->id + 1,
				 (unsigned)(o->first_item + (uint32_t)k));
			json_object_set_new(line, "OrderAdjustmentItemId", json_string(adj));
			json_object_set_new(line, "ItemChargeAdjustmentList",
					    json_pack("[o, o]", charge("Principal", -m.principal),
						      charge("Tax", -m.tax)));
			json_object_set_new(
			    line, "ItemFeeAdjustmentList",
			    json_pack("[o, o]", fee("Commission", m.commission),
				      fee("RefundCommission", -m.refund_commission)));
		} else {
			json_object_set_new(line, "ItemChargeList",
					    json_pack("[o, o, o]", charge("Principal", m.principal),
						      charge("Tax", m.tax),
						      charge("ShippingCharge", m.shipping)));
			json_t *fees = json_pack("[o]", fee("Commission", -m.commission));
			if (m.fba)
				json_array_append_new(fees,
						      fee("FBAPerUnitFulfillmentFee", -m.fba));
			json_object_set_new(line, "ItemFeeList", fees);
			json_t *promos = json_array();
			if (m.promo)
				json_array_append_new(
				    promos, json_pack("{s:s, s:s, s:o}", "PromotionType",
						      "PromotionMetaDataDefinitionValue",
						      "PromotionId", "US Core Free Shipping",
						      "PromotionAmount", am_currency(-m.promo)));
			json_object_set_new(line, "PromotionList", promos);
		}
		json_array_append_new(items, line);
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:o}", "AmazonOrderId", o->id, "SellerOrderId",
			 o->id, "MarketplaceName", "Amazon.com", "PostedDate",
			 am_time_json(e->posted_ms),
			 e->refund ? "ShipmentItemAdjustmentList" : "ShipmentItemList", items);
}

static json_t *empty_lists(void)
{
	static const char *const others[] = {
	    "GuaranteeClaimEventList",	     "ChargebackEventList",
	    "PayWithAmazonEventList",	     "ServiceProviderCreditEventList",
	    "RetrochargeEventList",	     "RentalTransactionEventList",
	    "ProductAdsPaymentEventList",    "ServiceFeeEventList",
	    "SellerDealPaymentEventList",    "DebtRecoveryEventList",
	    "LoanServicingEventList",	     "AdjustmentEventList",
	    "SAFETReimbursementEventList",   "SellerReviewEnrollmentPaymentEventList",
	    "FBALiquidationEventList",	     "CouponPaymentEventList",
	    "ImagingServicesFeeEventList",   "NetworkComminglingTransactionEventList",
	    "AffordabilityExpenseEventList", "AffordabilityExpenseReversalEventList",
	    "RemovalShipmentEventList",	     "RemovalShipmentAdjustmentEventList",
	    "TrialShipmentEventList",	     "TDSReimbursementEventList",
	    "TaxWithholdingEventList"};
	json_t *j = json_pack("{s:[], s:[]}", "ShipmentEventList", "RefundEventList");
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		json_object_set_new(j, others[i], json_array());
	return j;
}

/* ProductAdsPaymentEvent (camelCase, as the model has it; the value is what the seller is
 * paid: negative for a charge) or ServiceFeeEvent (no date, no id: FeeList's fees are
 * negative). */
static json_t *cost_json(const am_seller_t *s, const am_event_t *e)
{
	const am_cost_t *c = &s->costs[e->order];
	if (e->cost == AM_COST_FEE) {
		char what[64];
		snprintf(what, sizeof(what), "Subscription Fee %s", c->invoice);
		return json_pack("{s:s, s:s, s:[o], s:s}", "FeeReason", "Subscription",
				 "FeeDescription", what, "FeeList", fee("Subscription", -c->cents),
				 "StoreName", s->name);
	}
	int64_t base = c->cents < 0 ? -c->cents : c->cents;
	int64_t sign = c->cents < 0 ? 1 : -1;
	return json_pack("{s:o, s:s, s:s, s:o, s:o, s:o}", "postedDate", am_time_json(e->posted_ms),
			 "transactionType", c->cents < 0 ? "refund" : "charge", "invoiceId",
			 c->invoice, "baseValue", am_currency(sign * base), "taxValue",
			 am_currency(0), "transactionValue", am_currency(sign * base));
}

static void add_event(json_t *lists, const am_seller_t *s, const am_event_t *e)
{
	if (e->cost) {
		json_array_append_new(json_object_get(lists, e->cost == AM_COST_ADS
								 ? "ProductAdsPaymentEventList"
								 : "ServiceFeeEventList"),
				      cost_json(s, e));
		return;
	}
	json_array_append_new(
	    json_object_get(lists, e->refund ? "RefundEventList" : "ShipmentEventList"),
	    am_event_json(s, e));
}

/* Events posted in [after, before), a page of `page` from position pos. */
static void events_page(ms_req_t *r, int64_t after, int64_t before, long page, long pos)
{
	am_seller_t *s = am_req_seller(r);
	json_t *lists = empty_lists();
	long taken = 0;
	size_t i = (size_t)pos;
	if (pos == 0) {
		size_t lo = 0, hi = s->n_events;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (s->events[mid].posted_ms < after)
				lo = mid + 1;
			else
				hi = mid;
		}
		i = lo;
	}
	bool too_wide = before - after > 180 * DAY_MS; /* documented: an empty answer */
	for (; !too_wide && i < s->n_events && s->events[i].posted_ms < before; i++) {
		if (taken == page)
			break;
		add_event(lists, s, &s->events[i]);
		taken++;
	}
	json_t *payload = json_pack("{s:o}", "FinancialEvents", lists);
	if (!too_wide && i < s->n_events && s->events[i].posted_ms < before) {
		json_t *c = json_pack("{s:I, s:I, s:i, s:I}", "a", (json_int_t)after, "b",
				      (json_int_t)before, "n", (int)page, "p", (json_int_t)i);
		json_object_set_new(
		    payload, "NextToken",
		    json_string(am_token_encode(r, "listFinancialEvents", c, TOKEN_LIFE_MS)));
	}
	am_payload(r, payload);
}

void h_am_events(ms_req_t *r)
{
	const char *next = ms_arg(r, "NextToken");
	if (next) {
		json_t *c = am_token_decode(r, next, "listFinancialEvents");
		if (!c)
			return;
		int64_t a = json_integer_value(json_object_get(c, "a"));
		int64_t b = json_integer_value(json_object_get(c, "b"));
		long n = (long)json_integer_value(json_object_get(c, "n"));
		long p = (long)json_integer_value(json_object_get(c, "p"));
		json_decref(c);
		events_page(r, a, b, n, p > 0 ? p : 1);
		return;
	}
	int64_t after = 0, before = 0;
	bool has_after, has_before;
	long page;
	if (!am_arg_time(r, "PostedAfter", &after, &has_after) ||
	    !am_arg_time(r, "PostedBefore", &before, &has_before) ||
	    !am_arg_int(r, "MaxResultsPerPage", 1, 100, 100, &page))
		return;
	int64_t latest = ms_wall_ms(r->ms) - 2 * MIN_MS;
	if (has_before && !has_after) {
		am_error(r, 400, "InvalidInput",
			 "PostedAfter is required when PostedBefore is set");
		return;
	}
	if (!has_before)
		before = latest;
	if ((has_after && after > latest) || before > latest) {
		am_error(r, 400, "InvalidInput",
			 "PostedAfter and PostedBefore must be at least 2 minutes before the time "
			 "of the request");
		return;
	}
	if (has_after && before < after) {
		am_error(r, 400, "InvalidInput", "PostedBefore must be later than PostedAfter");
		return;
	}
	events_page(r, has_after ? after : before - 180 * DAY_MS, before, page, 0);
}

void h_am_events_by_order(ms_req_t *r)
{
	am_seller_t *s = am_req_seller(r);
	am_order_t *o = am_order_find(s, r->params[0]);
	json_t *lists = empty_lists();
	for (size_t i = 0; o && i < s->n_events; i++)
		if (!s->events[i].cost && &s->orders[s->events[i].order] == o)
			add_event(lists, s, &s->events[i]);
	am_payload(r, json_pack("{s:o}", "FinancialEvents", lists));
}

static json_t *group_json(const am_group_t *g)
{
	json_t *j =
	    json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:o}", "FinancialEventGroupId", g->id,
		      "ProcessingStatus", g->open ? "Open" : "Closed", "OriginalTotal",
		      am_currency(g->total_cents), "ConvertedTotal", am_currency(g->total_cents),
		      "BeginningBalance", am_currency(0), "AccountTail", "042",
		      "FinancialEventGroupStart", am_time_json(g->start_ms));
	if (!g->open) {
		json_object_set_new(j, "FundTransferStatus", json_string("Succeeded"));
		json_object_set_new(j, "FundTransferDate", am_time_json(g->end_ms + DAY_MS));
		json_object_set_new(j, "FinancialEventGroupEnd", am_time_json(g->end_ms));
		json_object_set_new(j, "TraceId", json_string(g->id + strlen(g->id) - 7));
	}
	return j;
}

void h_am_event_groups(ms_req_t *r)
{
	am_seller_t *s = am_req_seller(r);
	int64_t after = 0, before = 0;
	bool has_after = false, has_before = false;
	long page, pos = 0;
	const char *next = ms_arg(r, "NextToken");
	if (next) {
		json_t *c = am_token_decode(r, next, "listFinancialEventGroups");
		if (!c)
			return;
		after = json_integer_value(json_object_get(c, "a"));
		before = json_integer_value(json_object_get(c, "b"));
		page = (long)json_integer_value(json_object_get(c, "n"));
		pos = (long)json_integer_value(json_object_get(c, "p"));
		has_after = has_before = true;
		json_decref(c);
	} else if (!am_arg_time(r, "FinancialEventGroupStartedAfter", &after, &has_after) ||
		   !am_arg_time(r, "FinancialEventGroupStartedBefore", &before, &has_before) ||
		   !am_arg_int(r, "MaxResultsPerPage", 1, 100, 10, &page)) {
		return;
	}
	if (!has_after)
		after = 0;
	if (!has_before)
		before = ms_wall_ms(r->ms);
	json_t *list = json_array();
	size_t i = (size_t)pos;
	for (; i < s->n_groups; i++) {
		const am_group_t *g = &s->groups[i];
		if (g->start_ms < after || g->start_ms > before)
			continue;
		if ((long)json_array_size(list) == page)
			break;
		json_array_append_new(list, group_json(g));
	}
	json_t *payload = json_pack("{s:o}", "FinancialEventGroupList", list);
	if (i < s->n_groups) {
		json_t *c = json_pack("{s:I, s:I, s:i, s:I}", "a", (json_int_t)after, "b",
				      (json_int_t)before, "n", (int)page, "p", (json_int_t)i);
		json_object_set_new(
		    payload, "NextToken",
		    json_string(am_token_encode(r, "listFinancialEventGroups", c, TOKEN_LIFE_MS)));
	}
	am_payload(r, payload);
}

void h_am_events_by_group(ms_req_t *r)
{
	am_seller_t *s = am_req_seller(r);
	const am_group_t *g = NULL;
	for (size_t i = 0; i < s->n_groups; i++)
		if (strcmp(s->groups[i].id, r->params[0]) == 0)
			g = &s->groups[i];
	if (!g) {
		am_error(r, 404, "NotFound", "Financial event group %s was not found",
			 r->params[0]);
		return;
	}
	json_t *lists = empty_lists();
	for (size_t i = 0; i < s->n_events; i++)
		if (s->events[i].posted_ms >= g->start_ms && s->events[i].posted_ms < g->end_ms)
			add_event(lists, s, &s->events[i]);
	am_payload(r, json_pack("{s:o}", "FinancialEvents", lists));
}
