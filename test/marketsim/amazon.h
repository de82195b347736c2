/* marketsim speaks Amazon: Login with Amazon (the token endpoint and the website authorization
 * workflow) and the Selling Partner API (Orders v0, FBA Inventory v1, Finances v0, Catalog Items
 * 2022-04-01, Product Pricing v0, Listings Items 2021-08-01, Reports 2021-06-30) on the same
 * process and port as Mercado Livre, routed by path. Facts: shared/providers/amazon.md.
 *
 * The data is compact C structs built from --seed (orders, items, SKUs, financial events);
 * JSON and report rows are rendered from them on demand, so a seller of 20,000 orders costs a
 * few megabytes and a report document is streamed, never held. */
#ifndef MARKETSIM_AMAZON_H
#define MARKETSIM_AMAZON_H

#include "marketsim.h"

#include <stdarg.h>

#define AM_MARKETPLACE "ATVPDKIKX0DER" /* Amazon.com (US) */
#define AM_CURRENCY    "USD"

/* OrderStatus values the seed uses (the filter accepts every documented one). */
enum am_status { AM_PENDING, AM_UNSHIPPED, AM_PARTIALLY_SHIPPED, AM_SHIPPED, AM_CANCELED };
extern const char *const am_status_names[]; /* indexed by enum am_status */

/* One SKU of a seller: its catalog entry (ASIN, product), listing (price, quantity) and stock. */
typedef struct am_sku {
	char sku[32], asin[12], fnsku[12];
	int product, variant; /* product table index; colour/size variant */
	bool afn;	      /* fulfilled by Amazon (else by the merchant) */
	int price_cents, list_price_cents;
	int quantity; /* AFN: fulfillable units at Amazon; MFN: what the seller can ship */
	int inbound_working, inbound_shipped, inbound_receiving, reserved, unfulfillable,
	    researching;
	int offers;	  /* competing offers on the ASIN besides the seller's */
	bool buy_box;	  /* the seller's offer holds the buy box */
	int64_t open_ms;  /* listed since */
	int64_t stock_ms; /* stock last changed */
	int64_t listing_ms;
} am_sku_t;

/* One order line. Prices are the seller's at the time of the order; lines are stored per seller,
 * an order's lines contiguous. */
typedef struct am_item {
	uint32_t sku;
	uint16_t qty, shipped;
	int32_t unit_cents, tax_cents, ship_cents, promo_cents; /* tax/ship/promo: the line's */
} am_item_t;

typedef struct am_order {
	char id[20]; /* 3-7-7 digits; the first group names the seller, the last the index */
	int64_t purchase_ms, updated_ms;
	int64_t shipped_ms, refund_ms; /* 0 = not shipped / not refunded */
	uint32_t first_item;
	uint8_t n_items, status, city, level;
	bool afn, prime, business;
} am_order_t;

/* A financial event: the shipment or the refund of an order, by posting date; or (cost set)
 * a charge to the account, s->costs[order]. */
enum { AM_ORDER_EVENT, AM_COST_ADS, AM_COST_FEE };
typedef struct am_event {
	uint32_t order;
	bool refund;
	int64_t posted_ms;
	uint8_t cost;
} am_event_t;

/* What the account is charged besides its orders: ad spend (refund: an ad credit) and
 * service fees (a subscription). cents: the cost, negative for a credit. */
typedef struct am_cost {
	int64_t cents;
	char invoice[24];
} am_cost_t;

/* A settlement period (financial event group). */
typedef struct am_group {
	char id[48];
	int64_t start_ms, end_ms;
	int64_t total_cents;
	bool open;
} am_group_t;

typedef struct am_seller {
	char id[16]; /* selling_partner_id, also the merchant id */
	char name[48];
	char refresh_token[160]; /* the self-authorized refresh token */
	unsigned grant_epoch;	 /* bumped by a revoke: older refresh and access tokens die */
	unsigned access_epoch;	 /* bumped by /_sim/amazon/tokens/expire: older access tokens die */
	am_sku_t *skus;
	size_t n_skus;
	am_order_t *orders; /* by purchase date */
	size_t n_orders;
	uint32_t *by_update; /* order indexes by (updated_ms, index) */
	am_item_t *items;
	size_t n_items;
	am_event_t *events; /* by posted date */
	size_t n_events;
	am_group_t *groups;
	size_t n_groups;
	am_cost_t *costs; /* by events[i].order when events[i].cost */
	size_t n_costs;
	ms_budget_t *buckets; /* one per operation of the rate table */
} am_seller_t;

/* The product table: what a SKU is (title, brand, category). */
typedef struct am_product {
	const char *title, *code, *product_type, *category, *classification, *display_group;
	int lo, hi; /* price range in dollars */
} am_product_t;
extern const am_product_t am_products[];
extern const char *const am_brands[];
const char *am_sku_brand(const am_sku_t *k);
/* "Wireless Earbuds, Black" into buf. */
const char *am_sku_title(const am_sku_t *k, char *buf, size_t size);

typedef struct am_report am_report_t;
typedef struct am_stream am_stream_t;
typedef struct am_delivery am_delivery_t;

typedef struct am_state {
	char app_id[64], client_id[80], client_secret[96];
	am_seller_t *sellers;
	size_t n_sellers;
	strmap_t *asins;		    /* ASIN → am_sku_t */
	strmap_t *access, *refresh, *codes; /* amazon_lwa.c */
	am_report_t *reports;
	size_t n_reports, cap_reports;
	int fail_reports[4];	   /* per report type: how many of the next ones end FATAL */
	unsigned char url_key[32]; /* signs document URLs */
	am_stream_t *streams;	   /* documents being sent */
	am_delivery_t *deliveries; /* notifications in flight */
	json_t *op_stats;	   /* {operation: {calls, throttled}} */
	json_int_t notified, notify_delivered, notify_failed;
	uint64_t rng; /* draws after start (notification ids) */
} am_state_t;

/* ---- amazon_seed.c ---- */
am_state_t *am_new(ms_t *ms);
void am_free(am_state_t *a);
am_seller_t *am_seller_find(am_state_t *a, const char *selling_partner_id);
am_order_t *am_order_find(am_seller_t *s, const char *id);
am_sku_t *am_sku_find(am_seller_t *s, const char *sku);
am_seller_t *am_sku_owner(am_state_t *a, const am_sku_t *k);
/* The order's status or update time changed: keep by_update sorted. */
void am_order_touched(am_seller_t *s, am_order_t *o);
size_t am_order_index(const am_seller_t *s, const am_order_t *o);

/* ---- amazon_api.c: the SP-API plumbing every operation goes through ---- */
/* Token check (403) and the operation's bucket (429); true when the handler may run. */
bool am_gate(ms_req_t *r);
/* Paths Amazon answers (for 404/405 and faults in Amazon's shape). */
bool am_path(const char *path);
void am_reply(ms_req_t *r, int status, json_t *body); /* adds x-amzn-RateLimit-Limit */
void am_error(ms_req_t *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void am_payload(ms_req_t *r, json_t *payload); /* 200 {"payload": ...} */
/* The error code Amazon gives a bare status (429 QuotaExceeded, 503 ServiceUnavailable ...). */
const char *am_error_code(int status);
void am_request_id(ms_req_t *r);
/* A csv query parameter split into the arena; *n = 0 when absent. */
const char **am_csv(ms_req_t *r, const char *name, size_t *n);
const char **am_csv_split(arena_t *arena, const char *value, size_t *n);
bool am_csv_has(const char *const *list, size_t n, const char *value);
/* A date-time query parameter: false with a 400 sent when malformed; *set false when absent. */
bool am_arg_time(ms_req_t *r, const char *name, int64_t *out, bool *set);
/* An integer parameter in [lo, hi]; def when absent; false with a 400 sent. */
bool am_arg_int(ms_req_t *r, const char *name, long lo, long hi, long def, long *out);
/* The marketplace list must name the seller's marketplace: false with a 400 sent. */
bool am_marketplace_ok(ms_req_t *r, const char *name, bool required);
/* NextToken: the cursor itself (kind, seller, expiry and the query), base64 with +, / and =,
 * so a client must URL-encode it. encode steals cursor. decode: NULL with a 400 sent. */
char *am_token_encode(ms_req_t *r, const char *kind, json_t *cursor, int64_t life_ms);
json_t *am_token_decode(ms_req_t *r, const char *token, const char *kind);
/* "2026-03-01T12:00:00Z" */
void am_time_fmt(int64_t wall_ms, char *buf, size_t size);
json_t *am_time_json(int64_t wall_ms);
json_t *am_money_str(int64_t cents); /* Orders: {CurrencyCode, Amount:"1.00"} */
json_t *am_money_num(int64_t cents); /* Pricing: {CurrencyCode, Amount:1.0} */
json_t *am_currency(int64_t cents);  /* Finances: {CurrencyCode, CurrencyAmount:1.0} */
am_seller_t *am_req_seller(ms_req_t *r);
json_t *am_op_stats(am_state_t *a);

/* ---- amazon_lwa.c ---- */
/* The seller of the x-amz-access-token header, or NULL with the 403 sent. */
am_seller_t *am_lwa_check(ms_req_t *r);
void am_lwa_revoke(am_state_t *a, am_seller_t *s);
void am_lwa_expire(am_state_t *a, am_seller_t *s);
void am_lwa_init(am_state_t *a);
void am_lwa_free(am_state_t *a);

/* ---- amazon_orders.c ---- */
json_t *am_order_json(const am_seller_t *s, const am_order_t *o);
int am_order_units(const am_seller_t *s, const am_order_t *o, int *shipped);
const char *am_order_ship_level(const am_order_t *o);
void am_order_address(const am_order_t *o, const char **city, const char **state, const char **zip);

/* ---- amazon_finances.c ---- */
json_t *am_event_json(const am_seller_t *s, const am_event_t *e);
int64_t am_event_total_cents(const am_seller_t *s, const am_event_t *e);

/* ---- amazon_reports.c ---- */
void am_reports_free(am_state_t *a);

/* ---- amazon_notify.c ---- */
void am_notify_free(am_state_t *a);

/* Handlers. */
void h_am_token(ms_req_t *r);
void h_am_consent(ms_req_t *r);
void h_am_orders(ms_req_t *r);
void h_am_order(ms_req_t *r);
void h_am_order_items(ms_req_t *r);
void h_am_inventory(ms_req_t *r);
void h_am_event_groups(ms_req_t *r);
void h_am_events(ms_req_t *r);
void h_am_events_by_order(ms_req_t *r);
void h_am_events_by_group(ms_req_t *r);
void h_am_catalog_item(ms_req_t *r);
void h_am_catalog_search(ms_req_t *r);
void h_am_pricing(ms_req_t *r);
void h_am_item_offers(ms_req_t *r);
void h_am_listing_get(ms_req_t *r);
void h_am_listing_patch(ms_req_t *r);
void h_am_report_create(ms_req_t *r);
void h_am_report_get(ms_req_t *r);
void h_am_reports_list(ms_req_t *r);
void h_am_report_cancel(ms_req_t *r);
void h_am_report_document(ms_req_t *r);
void h_am_document_download(ms_req_t *r);
void h_sim_amazon(ms_req_t *r);
void h_sim_amazon_notify(ms_req_t *r);
void h_sim_amazon_revoke(ms_req_t *r);
void h_sim_amazon_expire(ms_req_t *r);
void h_sim_amazon_order(ms_req_t *r);
void h_sim_amazon_sku(ms_req_t *r);
void h_sim_amazon_skus(ms_req_t *r);
void h_sim_amazon_reports_fail(ms_req_t *r);

#endif
