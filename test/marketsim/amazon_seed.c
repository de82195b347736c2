/* Amazon's seeded data: the application's credentials and, per selling partner, SKUs (catalog,
 * listing, FBA or merchant stock, competing offers), 90 days of orders with their lines, and the
 * financial events (shipments with fees, refunds) grouped in 14-day settlement periods. Built
 * only from splitmix64 draws on --seed and from --now, so the same flags give the same bytes. */
#include "amazon.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

#define DAY_MS	86400000LL
#define HOUR_MS 3600000LL
#define MIN_MS	60000LL

const char *const am_status_names[] = {"Pending", "Unshipped", "PartiallyShipped", "Shipped",
				       "Canceled"};

const am_product_t am_products[] = {
    {"Wireless Bluetooth Earbuds", "EARB", "HEADPHONES", "Earbud Headphones", "12097479011",
     "ce_display_on_website", 19, 129},
    {"Stainless Steel Insulated Water Bottle 32 oz", "BOTL", "BOTTLE", "Water Bottles", "3741361",
     "kitchen_display_on_website", 14, 45},
    {"Non-Stick Ceramic Frying Pan 10 inch", "FPAN", "SAUTE_FRY_PAN", "Frying Pans", "289825",
     "kitchen_display_on_website", 22, 79},
    {"USB-C Fast Charger 30W", "CHRG", "CHARGING_ADAPTER", "Wall Chargers", "2407761011",
     "wireless_display_on_website", 12, 39},
    {"Yoga Mat Non-Slip 6mm", "YOGA", "EXERCISE_MAT", "Yoga Mats", "3422251",
     "sports_display_on_website", 18, 69},
    {"LED Desk Lamp with USB Port", "LAMP", "LAMP", "Desk Lamps", "1063292",
     "home_display_on_website", 24, 89},
    {"Ergonomic Wireless Mouse", "MOUS", "COMPUTER_INPUT_DEVICE", "Computer Mice", "11036491",
     "pc_display_on_website", 15, 59},
    {"Mechanical Gaming Keyboard RGB", "KEYB", "KEYBOARDS", "Computer Keyboards", "12879431",
     "pc_display_on_website", 39, 149},
    {"Cotton Crew Neck T-Shirt 3-Pack", "TSHT", "SHIRT", "T-Shirts", "2476517011",
     "apparel_display_on_website", 16, 35},
    {"Running Shoes Lightweight", "SHOE", "SHOES", "Running Shoes", "679286011",
     "shoes_display_on_website", 45, 139},
    {"Silicone Phone Case", "CASE", "CELLULAR_PHONE_CASE", "Basic Cases", "3081461011",
     "wireless_display_on_website", 8, 25},
    {"Airtight Food Storage Containers 10-Piece", "FOOD", "FOOD_STORAGE_CONTAINER",
     "Food Storage Sets", "3744051", "kitchen_display_on_website", 19, 49},
    {"Smart Fitness Watch Heart Rate Monitor", "WTCH", "WATCH", "Fitness Trackers", "5393958011",
     "ce_display_on_website", 39, 199},
    {"Dog Chew Toys 6-Pack", "DTOY", "PET_TOY", "Dog Chew Toys", "2975420011",
     "pet_products_display_on_website", 11, 29},
    {"Cordless Drill 20V with Battery", "DRIL", "DRILL", "Power Drills", "552740",
     "home_improvement_display_on_website", 49, 159},
    {"Makeup Brush Set 14 Pieces", "BRSH", "MAKEUP_BRUSH", "Makeup Brushes", "11059191",
     "beauty_display_on_website", 9, 35},
    {"Backpack for Laptop 15.6 inch Water Resistant", "BKPK", "BACKPACK", "Laptop Backpacks",
     "172470", "luggage_display_on_website", 25, 79},
    {"Cast Iron Dutch Oven 6 Quart", "DOVN", "DUTCH_OVEN", "Dutch Ovens", "289832",
     "kitchen_display_on_website", 39, 119},
    {"Portable Bluetooth Speaker Waterproof", "SPKR", "SPEAKERS", "Portable Speakers", "7073956011",
     "ce_display_on_website", 25, 99},
    {"Queen Sheet Set Microfiber 4-Piece", "SHET", "BED_SHEET_SET", "Sheet & Pillowcase Sets",
     "1063268", "home_display_on_website", 21, 69},
};
#define N_PRODUCTS (sizeof(am_products) / sizeof(am_products[0]))

const char *const am_brands[] = {"Northpeak", "Brightwell", "Cedar & Pine", "Lumora",
				 "Vantor",    "Hollis",	    "Kestrel",	    "Oakhaven",
				 "Zephyra",   "Tidewater",  "Amberlane",    "Quillon"};
#define N_BRANDS (sizeof(am_brands) / sizeof(am_brands[0]))

static const char *const variants[] = {"Black", "White", "Navy Blue", "Gray", "Red",
				       "Green", "Small", "Medium",    "Large"};
static const char *const store_names[] = {"Direct", "Outfitters", "Goods Co.",
					  "Supply", "Trading",	  "Home & Co."};

const char *am_sku_brand(const am_sku_t *k)
{
	return am_brands[(size_t)(k->product * 7 + k->variant) % N_BRANDS];
}

const char *am_sku_title(const am_sku_t *k, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s, %s", am_sku_brand(k), am_products[k->product].title,
		 variants[k->variant]);
	return buf;
}

static void rand_chars(uint64_t *rng, const char *alphabet, char *out, size_t n)
{
	size_t len = strlen(alphabet);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[rng_below(rng, len)];
	out[n] = '\0';
}

static const char upper_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char token_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ASINs are B0 + 8 base-36 digits of a bijection of (seller, index): unique by construction. */
static void make_asin(size_t seller, size_t index, char out[12])
{
	const uint64_t m = 2821109907456ULL; /* 36^8; the multiplier is prime to it */
	uint64_t n =
	    (uint64_t)((unsigned __int128)(((uint64_t)seller * 1000003ULL + index + 7777777ULL) %
					   m) *
		       1099511628211ULL % m);
	out[0] = 'B';
	out[1] = '0';
	for (int i = 9; i >= 2; i--) {
		out[i] = upper_digits[(n % 36 + 26) % 36]; /* digits first, like real ASINs */
		n /= 36;
	}
	out[10] = '\0';
}

static int price_cents(uint64_t *rng, int lo, int hi)
{
	return (int)rng_range(rng, lo, hi) * 100 + 99;
}

static void seed_skus(am_state_t *a, am_seller_t *s, size_t si, uint64_t *rng, int n, int64_t now)
{
	s->n_skus = (size_t)n;
	s->skus = xcalloc(s->n_skus, sizeof(*s->skus));
	for (size_t i = 0; i < s->n_skus; i++) {
		am_sku_t *k = &s->skus[i];
		k->product = (int)rng_below(rng, N_PRODUCTS);
		k->variant = (int)rng_below(rng, sizeof(variants) / sizeof(variants[0]));
		const am_product_t *p = &am_products[k->product];
		snprintf(k->sku, sizeof(k->sku), "%s-%05zu-%c%c", p->code, i + 1,
			 variants[k->variant][0], variants[k->variant][1] & ~0x20);
		make_asin(si, i, k->asin);
		k->afn = rng_below(rng, 100) < 60;
		if (k->afn) {
			memcpy(k->fnsku, "X00", 3);
			rand_chars(rng, upper_digits, k->fnsku + 3, 7);
		}
		k->price_cents = price_cents(rng, p->lo, p->hi);
		k->list_price_cents = k->price_cents + (int)rng_range(rng, 0, 4) * 500;
		k->quantity =
		    rng_below(rng, 10) == 0 ? 0 : (int)rng_range(rng, 1, k->afn ? 400 : 150);
		if (k->afn) {
			k->inbound_working =
			    rng_below(rng, 4) == 0 ? (int)rng_range(rng, 1, 60) : 0;
			k->inbound_shipped =
			    rng_below(rng, 4) == 0 ? (int)rng_range(rng, 1, 80) : 0;
			k->inbound_receiving =
			    rng_below(rng, 6) == 0 ? (int)rng_range(rng, 1, 30) : 0;
			k->reserved = (int)rng_range(rng, 0, 12);
			k->unfulfillable = rng_below(rng, 5) == 0 ? (int)rng_range(rng, 1, 6) : 0;
			k->researching = rng_below(rng, 8) == 0 ? (int)rng_range(rng, 1, 3) : 0;
		}
		k->offers = (int)rng_range(rng, 0, 8);
		k->buy_box = k->offers == 0 || rng_below(rng, 100) < 55;
		k->open_ms = now - (int64_t)rng_range(rng, 100, 900) * DAY_MS -
			     (int64_t)rng_below(rng, DAY_MS);
		k->stock_ms = now - (int64_t)rng_below(rng, 20 * DAY_MS);
		k->listing_ms = now - (int64_t)rng_below(rng, 60 * DAY_MS);
		strmap_put(a->asins, k->asin, k);
	}
}

static int compare_by_update(const void *pa, const void *pb, void *arg)
{
	const am_seller_t *s = arg;
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	int64_t ua = s->orders[ia].updated_ms, ub = s->orders[ib].updated_ms;
	if (ua != ub)
		return ua < ub ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static int compare_events(const void *pa, const void *pb)
{
	const am_event_t *a = pa, *b = pb;
	if (a->posted_ms != b->posted_ms)
		return a->posted_ms < b->posted_ms ? -1 : 1;
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	if (a->cost != b->cost)
		return (int)a->cost - (int)b->cost;
	return (int)a->refund - (int)b->refund;
}

/* Ad spend every week from 3.5 days ago (one of them an ad credit) and a monthly
 * subscription fee from 5.5 days ago: half-day offsets keep them off day boundaries. */
#define AD_WEEKS   9
#define FEE_MONTHS 3
static void seed_costs(am_seller_t *s, size_t si, int64_t now, size_t *n)
{
	s->costs = xcalloc(AD_WEEKS + FEE_MONTHS, sizeof(*s->costs));
	for (size_t k = 0; k < AD_WEEKS + FEE_MONTHS; k++) {
		bool ads = k < AD_WEEKS;
		am_cost_t *c = &s->costs[s->n_costs];
		c->cents = ads ? 1500 + (int64_t)((si * 7 + k * 13) % 40) * 125 : 3999;
		if (ads && k == 1)
			c->cents = -350; /* a refund of ad spend */
		snprintf(c->invoice, sizeof(c->invoice), "%s%03u%02u", ads ? "TR" : "SUB",
			 (unsigned)(si % 1000), (unsigned)k);
		int64_t ago = ads ? (int64_t)k * 7 * DAY_MS + 84 * HOUR_MS
				  : (int64_t)(k - AD_WEEKS) * 30 * DAY_MS + 132 * HOUR_MS;
		s->events[(*n)++] =
		    (am_event_t){(uint32_t)s->n_costs++, false, (now - ago) / 1000 * 1000,
				 ads ? AM_COST_ADS : AM_COST_FEE};
	}
}

static void seed_orders(am_seller_t *s, size_t si, uint64_t *rng, int n, int64_t now)
{
	s->n_orders = (size_t)n;
	s->orders = xcalloc(s->n_orders ? s->n_orders : 1, sizeof(*s->orders));
	size_t cap_items = s->n_orders * 3 + 8;
	s->items = xmalloc(cap_items * sizeof(*s->items));
	int64_t span = 90 * DAY_MS;
	for (size_t i = 0; i < s->n_orders; i++) {
		am_order_t *o = &s->orders[i];
		/* Spread evenly over the 90 days before now, jittered, in purchase order. */
		int64_t jitter = span / n / 3 < 30000 ? span / n / 3 : 30000; /* keeps the order */
		o->purchase_ms = now - span +
				 (int64_t)((double)span * ((double)i + 0.5) / (double)n) +
				 (int64_t)rng_range(rng, -jitter, jitter);
		o->purchase_ms = o->purchase_ms / 1000 * 1000;
		snprintf(o->id, sizeof(o->id), "%03u-%07u-%07u", (unsigned)(111 + si) % 1000,
			 (unsigned)rng_below(rng, 10000000), (unsigned)i % 10000000);
		/* The first line's SKU decides the channel; the other lines share it. */
		o->afn = s->skus[rng_below(rng, s->n_skus)].afn;
		o->prime = o->afn && rng_below(rng, 100) < 70;
		o->business = rng_below(rng, 100) < 6;
		o->city = (uint8_t)rng_below(rng, 12);
		o->level = (uint8_t)rng_below(rng, 10);
		o->n_items = (uint8_t)rng_range(rng, 1, 5);
		if (s->n_items + o->n_items > cap_items) {
			cap_items *= 2;
			s->items = xrealloc(s->items, cap_items * sizeof(*s->items));
		}
		o->first_item = (uint32_t)s->n_items;
		int64_t age = now - o->purchase_ms;
		/* Status by age: old orders are shipped (or cancelled), fresh ones still open. */
		uint64_t roll = rng_below(rng, 100);
		if (roll < 4)
			o->status = AM_CANCELED;
		else if (age < 30 * MIN_MS && roll < 30)
			o->status = AM_PENDING;
		else if (age < 2 * DAY_MS)
			o->status = roll < 50	? AM_UNSHIPPED
				    : roll < 58 ? AM_PARTIALLY_SHIPPED
						: AM_SHIPPED;
		else
			o->status = AM_SHIPPED;
		for (int k = 0; k < o->n_items; k++) {
			am_item_t *it = &s->items[s->n_items++];
			it->sku = (uint32_t)rng_below(rng, s->n_skus);
			for (int tries = 0; s->skus[it->sku].afn != o->afn && tries < 32; tries++)
				it->sku = (uint32_t)rng_below(rng, s->n_skus);
			it->qty = (uint16_t)(rng_below(rng, 100) < 75 ? 1 : rng_range(rng, 2, 4));
			it->unit_cents = s->skus[it->sku].price_cents;
			it->tax_cents = it->unit_cents * it->qty * 8 / 100;
			it->ship_cents = !o->afn && !o->prime && k == 0 ? 499 : 0;
			it->promo_cents = rng_below(rng, 100) < 10 ? 100 * it->qty : 0;
			it->shipped = o->status == AM_SHIPPED			    ? it->qty
				      : o->status == AM_PARTIALLY_SHIPPED && k == 0 ? it->qty
										    : 0;
		}
		if (o->status == AM_PARTIALLY_SHIPPED && o->n_items == 1) {
			am_item_t *it = &s->items[o->first_item];
			it->qty = it->qty < 2 ? 2 : it->qty;
			it->shipped = 1;
		}
		o->updated_ms = o->purchase_ms + (int64_t)rng_range(rng, 1, 20) * MIN_MS;
		if (o->status == AM_SHIPPED || o->status == AM_PARTIALLY_SHIPPED) {
			int64_t ship = o->purchase_ms + (int64_t)rng_range(rng, 2, 40) * HOUR_MS;
			if (ship > now - MIN_MS)
				ship = o->purchase_ms + (now - o->purchase_ms) / 2;
			o->shipped_ms = ship / 1000 * 1000;
			o->updated_ms = o->shipped_ms + (int64_t)rng_range(rng, 1, 120) * MIN_MS;
			if (o->status == AM_SHIPPED && rng_below(rng, 100) < 4) {
				int64_t refund =
				    o->shipped_ms + (int64_t)rng_range(rng, 3, 20) * DAY_MS;
				if (refund < now - HOUR_MS)
					o->refund_ms = o->updated_ms = refund / 1000 * 1000;
			}
		} else if (o->status == AM_CANCELED) {
			o->updated_ms = o->purchase_ms + (int64_t)rng_range(rng, 10, 1440) * MIN_MS;
		}
		if (o->updated_ms > now - MIN_MS)
			o->updated_ms =
			    now - MIN_MS > o->purchase_ms ? now - MIN_MS : o->purchase_ms;
		o->updated_ms = o->updated_ms / 1000 * 1000;
	}
	s->by_update = xmalloc((s->n_orders ? s->n_orders : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < s->n_orders; i++)
		s->by_update[i] = (uint32_t)i;
	qsort_r(s->by_update, s->n_orders, sizeof(uint32_t), compare_by_update, s);
}

static void seed_finances(am_seller_t *s, size_t si, int64_t now)
{
	size_t n = AD_WEEKS + FEE_MONTHS;
	for (size_t i = 0; i < s->n_orders; i++)
		n += (s->orders[i].shipped_ms != 0) + (s->orders[i].refund_ms != 0);
	s->events = xcalloc(n, sizeof(*s->events));
	seed_costs(s, si, now, &s->n_events);
	for (size_t i = 0; i < s->n_orders; i++) {
		const am_order_t *o = &s->orders[i];
		if (o->shipped_ms)
			s->events[s->n_events++] =
			    (am_event_t){(uint32_t)i, false, o->shipped_ms, AM_ORDER_EVENT};
		if (o->refund_ms)
			s->events[s->n_events++] =
			    (am_event_t){(uint32_t)i, true, o->refund_ms, AM_ORDER_EVENT};
	}
	qsort(s->events, s->n_events, sizeof(*s->events), compare_events);
	/* 14-day settlement periods from 98 days ago; the last one is still open. */
	int64_t first = (now - 98 * DAY_MS) / DAY_MS * DAY_MS;
	s->n_groups = 7;
	s->groups = xcalloc(s->n_groups, sizeof(*s->groups));
	for (size_t g = 0; g < s->n_groups; g++) {
		am_group_t *gr = &s->groups[g];
		gr->start_ms = first + (int64_t)g * 14 * DAY_MS;
		gr->end_ms = gr->start_ms + 14 * DAY_MS;
		gr->open = g == s->n_groups - 1;
		snprintf(gr->id, sizeof(gr->id), "%s-FEG-%03zu", s->id, g + 1);
	}
	for (size_t i = 0; i < s->n_events; i++) {
		int64_t t = s->events[i].posted_ms;
		if (t < first)
			continue;
		size_t g = (size_t)((t - first) / (14 * DAY_MS));
		if (g < s->n_groups)
			s->groups[g].total_cents += am_event_total_cents(s, &s->events[i]);
	}
}

am_state_t *am_new(ms_t *ms)
{
	const ms_options_t *opt = &ms->opt;
	am_state_t *a = xcalloc(1, sizeof(*a));
	uint64_t rng = opt->seed ^ 0xa3a20e5eedULL;
	char hex[65];
	rand_chars(&rng, "0123456789abcdef", hex, 32);
	snprintf(a->app_id, sizeof(a->app_id), "amzn1.sp.solution.%.8s-%.4s-%.4s-%.4s-%.12s", hex,
		 hex + 8, hex + 12, hex + 16, hex + 20);
	rand_chars(&rng, "0123456789abcdef", hex, 32);
	snprintf(a->client_id, sizeof(a->client_id), "amzn1.application-oa2-client.%.32s", hex);
	rand_chars(&rng, "0123456789abcdef", hex, 64);
	snprintf(a->client_secret, sizeof(a->client_secret), "amzn1.oa2-cs.v1.%s", hex);
	a->asins = strmap_new();
	a->op_stats = json_object();
	a->rng = rng ^ 0x5eed;
	if (getrandom(a->url_key, sizeof(a->url_key), 0) != (ssize_t)sizeof(a->url_key))
		die("marketsim: getrandom failed");
	a->n_sellers = (size_t)opt->amazon_sellers;
	a->sellers = xcalloc(a->n_sellers, sizeof(*a->sellers));
	for (size_t i = 0; i < a->n_sellers; i++) {
		am_seller_t *s = &a->sellers[i];
		uint64_t r = opt->seed * 0x9e3779b97f4a7c15ULL + 0xa11ce + i * 0x1000193ULL;
		s->id[0] = 'A';
		rand_chars(&r, upper_digits, s->id + 1, 13);
		snprintf(s->name, sizeof(s->name), "%.20s %.20s",
			 am_brands[rng_below(&r, N_BRANDS)],
			 store_names[rng_below(&r, sizeof(store_names) / sizeof(store_names[0]))]);
		memcpy(s->refresh_token, "Atzr|IwEB", 9);
		rand_chars(&r, token_chars, s->refresh_token + 9, 140);
		seed_skus(a, s, i, &r, opt->amazon_skus, opt->now_ms);
		seed_orders(s, i, &r, opt->amazon_orders, opt->now_ms);
		seed_finances(s, i, opt->now_ms);
	}
	am_lwa_init(a);
	return a;
}

void am_free(am_state_t *a)
{
	if (!a)
		return;
	am_reports_free(a);
	am_notify_free(a);
	am_lwa_free(a);
	for (size_t i = 0; i < a->n_sellers; i++) {
		am_seller_t *s = &a->sellers[i];
		free(s->skus);
		free(s->orders);
		free(s->by_update);
		free(s->items);
		free(s->events);
		free(s->costs);
		free(s->groups);
		free(s->buckets);
	}
	free(a->sellers);
	strmap_free(a->asins, NULL);
	json_decref(a->op_stats);
	free(a);
}

am_seller_t *am_seller_find(am_state_t *a, const char *id)
{
	for (size_t i = 0; id && i < a->n_sellers; i++)
		if (strcmp(a->sellers[i].id, id) == 0)
			return &a->sellers[i];
	return NULL;
}

/* The id's first group is 111 + the seller's index and its last group the order's index. */
am_order_t *am_order_find(am_seller_t *s, const char *id)
{
	if (!id || strlen(id) != 19 || id[3] != '-' || id[11] != '-')
		return NULL;
	char *end;
	unsigned long idx = strtoul(id + 12, &end, 10);
	if (*end || idx >= s->n_orders)
		return NULL;
	am_order_t *o = &s->orders[idx];
	return strcmp(o->id, id) == 0 ? o : NULL;
}

am_sku_t *am_sku_find(am_seller_t *s, const char *sku)
{
	/* SKUs end in -NNNNN-XX, NNNNN being the index + 1. */
	size_t n = sku ? strlen(sku) : 0;
	if (n < 10)
		return NULL;
	unsigned long idx = strtoul(sku + n - 8, NULL, 10);
	if (idx < 1 || idx > s->n_skus)
		return NULL;
	am_sku_t *k = &s->skus[idx - 1];
	return strcmp(k->sku, sku) == 0 ? k : NULL;
}

am_seller_t *am_sku_owner(am_state_t *a, const am_sku_t *k)
{
	for (size_t i = 0; i < a->n_sellers; i++) {
		am_seller_t *s = &a->sellers[i];
		if (k >= s->skus && k < s->skus + s->n_skus)
			return s;
	}
	return NULL;
}

size_t am_order_index(const am_seller_t *s, const am_order_t *o)
{
	return (size_t)(o - s->orders);
}

void am_order_touched(am_seller_t *s, am_order_t *o)
{
	qsort_r(s->by_update, s->n_orders, sizeof(uint32_t), compare_by_update, s);
}
