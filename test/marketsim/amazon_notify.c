/* Amazon notifications on demand: POST /_sim/amazon/notify {url, type, sellerId, orderId | sku}
 * builds an ORDER_CHANGE or FBA_INVENTORY_AVAILABILITY_CHANGES notification from the current data
 * and POSTs it to url as the body of the SQS message Amazon would enqueue (PascalCase envelope:
 * NotificationVersion, NotificationType, PayloadVersion, EventTime, Payload,
 * NotificationMetadata). One attempt each, answered 2xx or counted as failed; SQS redelivery is
 * the consumer's business. */
#include "amazon.h"
#include "rng.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NOTIFY_TIMEOUT_S 5

/* One notification in flight; owned by the state's list. */
struct am_delivery {
	am_delivery_t *prev, *next;
	am_state_t *a;
	struct evhttp_connection *conn;
	struct event done; /* frees conn outside its own callback */
	int status;
};

static void delivery_free(am_delivery_t *d)
{
	am_state_t *a = d->a;
	if (d->prev)
		d->prev->next = d->next;
	else
		a->deliveries = d->next;
	if (d->next)
		d->next->prev = d->prev;
	event_del(&d->done);
	if (d->conn)
		evhttp_connection_free(d->conn);
	free(d);
}

void am_notify_free(am_state_t *a)
{
	while (a->deliveries)
		delivery_free(a->deliveries);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	am_delivery_t *d = arg;
	if (d->status >= 200 && d->status < 300)
		d->a->notify_delivered++;
	else
		d->a->notify_failed++;
	delivery_free(d);
}

static void on_response(struct evhttp_request *req, void *arg)
{
	am_delivery_t *d = arg;
	d->status = req ? evhttp_request_get_response_code(req) : 0;
	struct timeval now = {0, 0};
	evtimer_add(&d->done, &now);
}

static json_t *order_change(ms_req_t *r, am_seller_t *s, const am_order_t *o)
{
	json_t *oj = am_order_json(s, o);
	json_t *items = json_array();
	for (int k = 0; k < o->n_items; k++) {
		const am_item_t *it = &s->items[o->first_item + k];
		char id[24];
		snprintf(id, sizeof(id), "%.3s%011u", o->id,
			 (unsigned)(o->first_item + (uint32_t)k));
		json_array_append_new(items, json_pack("{s:s, s:s, s:n, s:i, s:i, s:s, s:b}",
						       "OrderItemId", id, "SellerSKU",
						       s->skus[it->sku].sku, "SupplySourceId",
						       "Quantity", it->qty, "QuantityShipped",
						       it->shipped, "OrderItemStatus",
						       o->status == AM_CANCELED ? "Cancelled"
						       : it->shipped		? "Shipped"
										: "Unshipped",
						       "IsBuyerRequestedCancel", 0));
	}
	json_t *summary =
	    json_pack("{s:s, s:O, s:O, s:O, s:s, s:s, s:O, s:O, s:O, s:O, s:o}", "MarketplaceId",
		      AM_MARKETPLACE, "OrderStatus", json_object_get(oj, "OrderStatus"),
		      "PurchaseDate", json_object_get(oj, "PurchaseDate"), "DestinationPostalCode",
		      json_object_get(json_object_get(oj, "ShippingAddress"), "PostalCode"),
		      "FulfillmentType", o->afn ? "AFN" : "MFN", "OrderType", "StandardOrder",
		      "NumberOfItemsShipped", json_object_get(oj, "NumberOfItemsShipped"),
		      "NumberOfItemsUnshipped", json_object_get(oj, "NumberOfItemsUnshipped"),
		      "EarliestShipDate", json_object_get(oj, "EarliestShipDate"), "LatestShipDate",
		      json_object_get(oj, "LatestShipDate"), "OrderItems", items);
	json_decref(oj);
	return json_pack("{s:{s:s, s:s, s:s, s:s, s:{s:o, s:s}, s:o}}", "OrderChangeNotification",
			 "NotificationLevel", "OrderLevel", "SellerId", s->id, "AmazonOrderId",
			 o->id, "OrderChangeType", "OrderStatusChange", "OrderChangeTrigger",
			 "TimeOfOrderChange", am_time_json(o->updated_ms), "ChangeReason",
			 "OrderStatusChange", "Summary", summary);
}

static json_t *inventory_change(am_seller_t *s, const am_sku_t *k)
{
	char title[160];
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:{s:{s:i, s:i, s:i}, s:i, s:i, s:i, s:{s:i, s:i, "
	    "s:i}, s:i, s:i}}]}",
	    "SellerId", s->id, "FNSKU", k->fnsku, "ASIN", k->asin, "SKU", k->sku,
	    "FulfillmentInventoryByMarketplace", "MarketplaceId", AM_MARKETPLACE, "ItemName",
	    am_sku_title(k, title, sizeof(title)), "FulfillmentInventory",
	    "InboundQuantityBreakdown", "Working", k->inbound_working, "Shipped",
	    k->inbound_shipped, "Receiving", k->inbound_receiving, "Fulfillable", k->quantity,
	    "Unfulfillable", k->unfulfillable, "Researching", k->researching,
	    "ReservedQuantityBreakdown", "WarehouseProcessing", k->reserved / 2,
	    "WarehouseTransfer", 0, "PendingCustomerOrder", k->reserved - k->reserved / 2,
	    "FutureSupplyBuyable", 0, "PendingCustomerOrderInTransit", 0);
}

static void uuid(am_state_t *a, char out[40])
{
	uint64_t x = rng_next(&a->rng), y = rng_next(&a->rng);
	snprintf(out, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(x >> 32),
		 (unsigned)(x >> 16) & 0xffff, (unsigned)x & 0xfff,
		 (unsigned)((y >> 48) & 0x3fff) | 0x8000,
		 (unsigned long long)(y & 0xffffffffffffULL));
}

static bool send_to(ms_req_t *r, const char *url, const char *body)
{
	am_state_t *a = r->ms->amazon;
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
	if (!u || !scheme || strcmp(scheme, "http") != 0 || !evhttp_uri_get_host(u)) {
		if (u)
			evhttp_uri_free(u);
		return false;
	}
	am_delivery_t *d = xcalloc(1, sizeof(*d));
	d->a = a;
	evtimer_assign(&d->done, r->ms->base, on_done, d);
	const char *host = evhttp_uri_get_host(u), *path = evhttp_uri_get_path(u);
	const char *query = evhttp_uri_get_query(u);
	int port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	d->conn = evhttp_connection_base_new(r->ms->base, NULL, host, (ev_uint16_t)port);
	evhttp_connection_set_timeout(d->conn, NOTIFY_TIMEOUT_S);
	evhttp_connection_set_retries(d->conn, 0);
	struct evhttp_request *req = evhttp_request_new(on_response, d);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "marketsim-amazon-notifications");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	char *target = arena_printf(r->arena, "%s%s%s", path && *path ? path : "/",
				    query ? "?" : "", query ? query : "");
	evhttp_uri_free(u);
	d->next = a->deliveries;
	if (d->next)
		d->next->prev = d;
	a->deliveries = d;
	a->notified++;
	if (evhttp_make_request(d->conn, req, EVHTTP_REQ_POST, target) != 0)
		on_response(NULL, d);
	return true;
}

void h_sim_amazon_notify(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	json_t *body = ms_body_json(r);
	const char *url = json_string_value(json_object_get(body, "url"));
	const char *type = json_string_value(json_object_get(body, "type"));
	am_seller_t *s = am_seller_find(a, json_string_value(json_object_get(body, "sellerId")));
	const char *order_id = json_string_value(json_object_get(body, "orderId"));
	const char *sku = json_string_value(json_object_get(body, "sku"));
	json_t *payload = NULL;
	const char *bad = NULL;
	if (!url || !type || !s)
		bad = "give url, type and sellerId (a selling partner id)";
	else if (strcmp(type, "ORDER_CHANGE") == 0) {
		am_order_t *o = am_order_find(s, order_id);
		if (!o)
			bad = "orderId must name an order of the seller";
		else
			payload = order_change(r, s, o);
	} else if (strcmp(type, "FBA_INVENTORY_AVAILABILITY_CHANGES") == 0) {
		am_sku_t *k = am_sku_find(s, sku);
		if (!k || !k->afn)
			bad = "sku must name an FBA SKU of the seller";
		else
			payload = inventory_change(s, k);
	} else {
		bad = "type must be ORDER_CHANGE or FBA_INVENTORY_AVAILABILITY_CHANGES";
	}
	if (bad) {
		json_decref(body);
		ms_reply_error(r, 400, "bad_request", "%s", bad);
		return;
	}
	char id[40], sub[40], now[32];
	uuid(a, id);
	uuid(a, sub);
	am_time_fmt(ms_wall_ms(r->ms), now, sizeof(now));
	json_t *note =
	    json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:s, s:s}}", "NotificationVersion",
		      "1.0", "NotificationType", type, "PayloadVersion", "1.0", "EventTime", now,
		      "Payload", payload, "NotificationMetadata", "ApplicationId", a->app_id,
		      "SubscriptionId", sub, "PublishTime", now, "NotificationId", id);
	char *text = json_dumps(note, JSON_COMPACT);
	bool ok = send_to(r, url, text);
	free(text);
	json_decref(body);
	if (!ok) {
		json_decref(note);
		ms_reply_error(r, 400, "bad_request", "url must be an http:// URL");
		return;
	}
	ms_reply_json(r, 202, note);
}
