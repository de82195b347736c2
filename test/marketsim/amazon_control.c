/* The Amazon part of the /_sim/ control API: the truth a test compares against (the app's
 * credentials, each seller's refresh token and counts), and changes as Amazon or the seller
 * would make them: revoke an authorization, expire access tokens, move an order's status,
 * change a SKU's stock or price. Notifications are in amazon_notify.c. */
#include "amazon.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

/* The account costs' events: {kind: ads|service_fee, posted (ms), cents (the cost)}. */
static json_t *costs_json(const am_seller_t *s, json_int_t *ads, json_int_t *fees)
{
	json_t *list = json_array();
	for (size_t i = 0; i < s->n_events; i++) {
		const am_event_t *e = &s->events[i];
		if (!e->cost)
			continue;
		*(e->cost == AM_COST_ADS ? ads : fees) += 1;
		json_array_append_new(list,
				      json_pack("{s:s, s:I, s:I}", "kind",
						e->cost == AM_COST_ADS ? "ads" : "service_fee",
						"posted", (json_int_t)e->posted_ms, "cents",
						(json_int_t)s->costs[e->order].cents));
	}
	return list;
}

static json_t *seller_json(const am_seller_t *s)
{
	json_int_t units = 0, fba = 0, refunds = 0, ads = 0, fees = 0;
	for (size_t i = 0; i < s->n_items; i++)
		units += s->items[i].qty;
	for (size_t i = 0; i < s->n_skus; i++)
		fba += s->skus[i].afn;
	for (size_t i = 0; i < s->n_events; i++)
		refunds += s->events[i].refund;
	json_t *costs = costs_json(s, &ads, &fees);
	return json_pack("{s:s, s:s, s:s, s:[s], s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			 "s:I}, s:o}",
			 "selling_partner_id", s->id, "name", s->name, "refresh_token",
			 s->refresh_token, "marketplace_ids", AM_MARKETPLACE, "counts", "orders",
			 (json_int_t)s->n_orders, "order_items", (json_int_t)s->n_items, "units",
			 units, "skus", (json_int_t)s->n_skus, "fba_skus", fba, "financial_events",
			 (json_int_t)(s->n_events - s->n_costs), "refunds", refunds,
			 "financial_event_groups", (json_int_t)s->n_groups, "ad_payments", ads,
			 "service_fees", fees, "costs", costs);
}

void h_sim_amazon(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	json_t *sellers = json_array();
	for (size_t i = 0; i < a->n_sellers; i++)
		json_array_append_new(sellers, seller_json(&a->sellers[i]));
	json_t *app = json_pack("{s:s, s:s, s:s}", "application_id", a->app_id, "client_id",
				a->client_id, "client_secret", a->client_secret);
	if (r->ms->opt.amazon_redirect_uri[0])
		json_object_set_new(app, "redirect_uri",
				    json_string(r->ms->opt.amazon_redirect_uri));
	ms_reply_json(r, 200,
		      json_pack("{s:o, s:s, s:o, s:o, s:{s:I, s:I, s:I}}", "application", app,
				"marketplace_id", AM_MARKETPLACE, "sellers", sellers, "operations",
				am_op_stats(a), "notifications", "sent", a->notified, "delivered",
				a->notify_delivered, "failed", a->notify_failed));
}

/* The seller named by body.sellerId (or the path), or NULL with a 400/404 sent. */
static am_seller_t *seller_of(ms_req_t *r, const char *id)
{
	am_seller_t *s = am_seller_find(r->ms->amazon, id);
	if (!s)
		ms_reply_error(r, id ? 404 : 400, "bad_request",
			       "sellerId must name an Amazon seller");
	return s;
}

void h_sim_amazon_revoke(ms_req_t *r)
{
	am_seller_t *s = seller_of(r, r->params[0]);
	if (!s)
		return;
	am_lwa_revoke(r->ms->amazon, s);
	ms_reply_json(r, 200, json_pack("{s:b}", "revoked", 1));
}

void h_sim_amazon_expire(ms_req_t *r)
{
	am_seller_t *s = seller_of(r, r->params[0]);
	if (!s)
		return;
	am_lwa_expire(r->ms->amazon, s);
	ms_reply_json(r, 200, json_pack("{s:b}", "expired", 1));
}

/* PATCH /_sim/amazon/orders/{orderId} {"status": "Shipped"}: the order moves on as Amazon would
 * move it; its LastUpdateDate becomes now. */
void h_sim_amazon_order(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	am_order_t *o = NULL;
	am_seller_t *s = NULL;
	for (size_t i = 0; !o && i < a->n_sellers; i++)
		o = am_order_find(s = &a->sellers[i], r->params[0]);
	if (!o) {
		ms_reply_error(r, 404, "not_found", "Unknown Amazon order %s", r->params[0]);
		return;
	}
	json_t *body = ms_body_json(r);
	const char *st = json_string_value(json_object_get(body, "status"));
	int status = -1;
	for (int k = 0; st && k <= AM_CANCELED; k++)
		if (strcmp(st, am_status_names[k]) == 0)
			status = k;
	json_decref(body);
	if (status < 0) {
		ms_reply_error(r, 400, "bad_request",
			       "status must be Pending, Unshipped, PartiallyShipped, Shipped or "
			       "Canceled");
		return;
	}
	int64_t now = ms_wall_ms(r->ms) / 1000 * 1000;
	o->status = (uint8_t)status;
	for (int k = 0; k < o->n_items; k++) {
		am_item_t *it = &s->items[o->first_item + k];
		it->shipped = status == AM_SHIPPED	       ? it->qty
			      : status == AM_PARTIALLY_SHIPPED ? 1
							       : 0;
	}
	o->updated_ms = now;
	am_order_touched(s, o);
	ms_reply_json(r, 200, am_order_json(s, o));
}

/* GET /_sim/amazon/skus/{sellerId}: every SKU of the seller with its stock and whether it is FBA.
 */
void h_sim_amazon_skus(ms_req_t *r)
{
	am_seller_t *s = seller_of(r, r->params[0]);
	if (!s)
		return;
	json_t *skus = json_array();
	for (size_t i = 0; i < s->n_skus; i++)
		json_array_append_new(skus, json_pack("{s:s, s:s, s:i, s:b}", "sku", s->skus[i].sku,
						      "asin", s->skus[i].asin, "quantity",
						      s->skus[i].quantity, "fba", s->skus[i].afn));
	ms_reply_json(r, 200, json_pack("{s:o}", "skus", skus));
}

/* PATCH /_sim/amazon/skus/{sellerId}/{sku} {"quantity": n, "price": 12.34}: stock or price
 * change (at Amazon's warehouse for FBA SKUs, the seller's own for merchant SKUs). */
void h_sim_amazon_sku(ms_req_t *r)
{
	am_seller_t *s = seller_of(r, r->params[0]);
	if (!s)
		return;
	am_sku_t *k = am_sku_find(s, r->params[1]);
	if (!k) {
		ms_reply_error(r, 404, "not_found", "Unknown SKU %s", r->params[1]);
		return;
	}
	json_t *body = ms_body_json(r);
	json_t *qty = json_object_get(body, "quantity"), *price = json_object_get(body, "price");
	bool ok = body && (qty || price) &&
		  (!qty || (json_is_integer(qty) && json_integer_value(qty) >= 0 &&
			    json_integer_value(qty) <= 1000000)) &&
		  (!price || (json_is_number(price) && json_number_value(price) > 0 &&
			      json_number_value(price) < 1e6));
	if (ok) {
		int64_t now = ms_wall_ms(r->ms) / 1000 * 1000;
		if (qty) {
			k->quantity = (int)json_integer_value(qty);
			k->stock_ms = now;
		}
		if (price) {
			k->price_cents = (int)(json_number_value(price) * 100 + 0.5);
			k->listing_ms = now;
		}
	}
	json_decref(body);
	if (!ok) {
		ms_reply_error(r, 400, "bad_request",
			       "give quantity (integer ≥ 0) and/or price (number > 0)");
		return;
	}
	ms_reply_json(r, 200,
		      json_pack("{s:s, s:s, s:i, s:f, s:b}", "sku", k->sku, "asin", k->asin,
				"quantity", k->quantity, "price", k->price_cents / 100.0, "fba",
				k->afn));
}
