/* Reading flat-file report documents: see the header. The document is inflated through a small
 * window and cut into lines as it goes, so neither the inflated text nor all of its documents
 * are ever held at once. */
#include "report.h"
#include "util.h"
#include "validate.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_FIELDS 128
#define ROW_MAX	   (64 * 1024) /* a longer line is malformed */

enum order_col {
	O_ID,
	O_PURCHASE,
	O_UPDATED,
	O_STATUS,
	O_FULFILLMENT,
	O_SALES_CHANNEL,
	O_SHIP_LEVEL,
	O_PRODUCT,
	O_SKU,
	O_ASIN,
	O_QTY,
	O_CURRENCY,
	O_PRICE,
	O_TAX,
	O_SHIP,
	O_SHIP_TAX,
	O_PROMO,
	O_SHIP_PROMO,
	O_CITY,
	O_STATE,
	O_ZIP,
	O_COUNTRY,
	O_BUSINESS,
	O_N
};
static const char *const order_cols[O_N] = {"amazon-order-id",
					    "purchase-date",
					    "last-updated-date",
					    "order-status",
					    "fulfillment-channel",
					    "sales-channel",
					    "ship-service-level",
					    "product-name",
					    "sku",
					    "asin",
					    "quantity",
					    "currency",
					    "item-price",
					    "item-tax",
					    "shipping-price",
					    "shipping-tax",
					    "item-promotion-discount",
					    "ship-promotion-discount",
					    "ship-city",
					    "ship-state",
					    "ship-postal-code",
					    "ship-country",
					    "is-business-order"};

enum listing_col {
	L_NAME,
	L_LISTING_ID,
	L_SKU,
	L_PRICE,
	L_QTY,
	L_OPEN,
	L_ASIN,
	L_CHANNEL,
	L_STATUS,
	L_N
};
static const char *const listing_cols[L_N] = {
    "item-name", "listing-id", "seller-sku",	      "price", "quantity",
    "open-date", "asin1",      "fulfillment-channel", "status"};

typedef struct reader {
	enum amazon_report_kind kind;
	amazon_report_t *out;
	int col[(int)O_N > (int)L_N ? (int)O_N : (int)L_N]; /* field index of each wanted column, -1
							       when absent */
	bool header_seen;
	json_t *chunk;	      /* documents of the chunk being filled */
	json_t *order;	      /* the order whose lines are being read */
	int64_t order_cents;  /* its total so far */
	bool order_has_money; /* any line carried an amount */
	char currency[8];
} reader_t;

/* "12.34", "-0.5", "7": cents, false when it is not an amount. */
static bool money(const char *s, int64_t *cents)
{
	bool neg = *s == '-';
	s += neg;
	if (!isdigit((unsigned char)*s))
		return false;
	int64_t v = 0;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > INT64_MAX / 1000)
			return false;
		v = v * 10 + (*s - '0');
	}
	int frac = 0, digits = 0;
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s) && digits < 2; s++, digits++)
			frac = frac * 10 + (*s - '0');
	if (*s)
		return false;
	if (digits == 1)
		frac *= 10;
	*cents = (neg ? -1 : 1) * (v * 100 + frac);
	return true;
}

static bool count(const char *s, long *n)
{
	if (!isdigit((unsigned char)*s) || strlen(s) > 9)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	*n = strtol(s, NULL, 10);
	return true;
}

static json_t *amount(int64_t cents, const char *currency)
{
	char a[32];
	snprintf(a, sizeof(a), "%s%lld.%02lld", cents < 0 ? "-" : "",
		 (long long)(cents < 0 ? -cents : cents) / 100,
		 (long long)(cents < 0 ? -cents : cents) % 100);
	return json_pack("{s:s, s:s}", "Amount", a, "CurrencyCode", currency);
}

static void chunk_close(reader_t *rd)
{
	if (!json_array_size(rd->chunk))
		return;
	char *text = json_dumps(rd->chunk, JSON_COMPACT);
	json_array_clear(rd->chunk);
	amazon_report_t *o = rd->out;
	o->chunks = xrealloc(o->chunks, (o->n_chunks + 1) * sizeof(char *));
	o->chunks[o->n_chunks++] = text;
}

static void doc_add(reader_t *rd, json_t *doc)
{
	if (!doc) { /* every field was made UTF-8 (line): not expected, but never fatal */
		rd->out->bad++;
		return;
	}
	json_array_append_new(rd->chunk, doc);
	rd->out->docs++;
	if (json_array_size(rd->chunk) >= AMAZON_REPORT_CHUNK)
		chunk_close(rd);
}

static void order_close(reader_t *rd)
{
	if (!rd->order)
		return;
	if (rd->order_has_money)
		json_object_set_new(rd->order, "OrderTotal", amount(rd->order_cents, rd->currency));
	doc_add(rd, rd->order);
	rd->order = NULL;
}

static const char *field(const reader_t *rd, char **f, int n, int c)
{
	int i = rd->col[c];
	return i >= 0 && i < n ? f[i] : "";
}

/* One line of an order: a new order when its id changes. Amounts must read as amounts. */
static bool order_line(reader_t *rd, char **f, int n)
{
	const char *id = field(rd, f, n, O_ID), *purchase = field(rd, f, n, O_PURCHASE);
	const char *updated = field(rd, f, n, O_UPDATED), *currency = field(rd, f, n, O_CURRENCY);
	long qty = 0;
	if (!*id || strlen(id) > 40 || !validate_iso_time(purchase) ||
	    !validate_iso_time(updated) || !count(field(rd, f, n, O_QTY), &qty) ||
	    strlen(currency) > 3)
		return false;
	static const int money_cols[] = {O_PRICE, O_TAX, O_SHIP, O_SHIP_TAX, O_PROMO, O_SHIP_PROMO};
	int64_t c[6] = {0};
	bool has[6] = {false};
	for (int k = 0; k < 6; k++) {
		const char *v = field(rd, f, n, money_cols[k]);
		if (*v && !(has[k] = money(v, &c[k])))
			return false;
	}
	if (rd->order &&
	    strcmp(json_string_value(json_object_get(rd->order, "AmazonOrderId")), id) != 0)
		order_close(rd);
	if (!rd->order) {
		const char *fc = field(rd, f, n, O_FULFILLMENT);
		rd->order = json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:s, s:s, s:s}, s:s, s:[]}",
		    "AmazonOrderId", id, "PurchaseDate", purchase, "LastUpdateDate", updated,
		    "OrderStatus", field(rd, f, n, O_STATUS), "FulfillmentChannel",
		    strcmp(fc, "Amazon") == 0 ? "AFN" : "MFN", "SalesChannel",
		    field(rd, f, n, O_SALES_CHANNEL), "ShipServiceLevel",
		    field(rd, f, n, O_SHIP_LEVEL), "IsBusinessOrder",
		    strcmp(field(rd, f, n, O_BUSINESS), "true") == 0, "ShippingAddress", "City",
		    field(rd, f, n, O_CITY), "StateOrRegion", field(rd, f, n, O_STATE),
		    "PostalCode", field(rd, f, n, O_ZIP), "CountryCode", field(rd, f, n, O_COUNTRY),
		    "Source", "report", "OrderItems");
		rd->order_cents = 0;
		rd->order_has_money = false;
		snprintf(rd->currency, sizeof(rd->currency), "%s", *currency ? currency : "USD");
	}
	json_t *line = json_pack("{s:s, s:s, s:s, s:I}", "ASIN", field(rd, f, n, O_ASIN),
				 "SellerSKU", field(rd, f, n, O_SKU), "Title",
				 field(rd, f, n, O_PRODUCT), "QuantityOrdered", (json_int_t)qty);
	static const char *const names[] = {"ItemPrice",   "ItemTax",		"ShippingPrice",
					    "ShippingTax", "PromotionDiscount", "ShippingDiscount"};
	for (int k = 0; k < 6; k++)
		if (has[k]) {
			json_object_set_new(line, names[k], amount(c[k], rd->currency));
			rd->order_cents += c[k];
			rd->order_has_money = true;
		}
	json_array_append_new(json_object_get(rd->order, "OrderItems"), line);
	return true;
}

static bool listing_line(reader_t *rd, char **f, int n)
{
	const char *sku = field(rd, f, n, L_SKU), *price = field(rd, f, n, L_PRICE);
	const char *qty = field(rd, f, n, L_QTY);
	int64_t cents = 0;
	long q = 0;
	if (!*sku || strlen(sku) > 200 || (*price && !money(price, &cents)) ||
	    (*qty && !count(qty, &q)))
		return false;
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "SellerSKU", sku, "ASIN",
				field(rd, f, n, L_ASIN), "Title", field(rd, f, n, L_NAME),
				"FulfillmentChannel", field(rd, f, n, L_CHANNEL), "Status",
				field(rd, f, n, L_STATUS), "OpenDate", field(rd, f, n, L_OPEN),
				"ListingId", field(rd, f, n, L_LISTING_ID));
	if (*price)
		json_object_set_new(doc, "Price", amount(cents, "USD"));
	if (*qty) /* FBA listings leave it empty: their stock is Amazon's (inventory summaries) */
		json_object_set_new(doc, "Quantity", json_integer(q));
	doc_add(rd, doc);
	return true;
}

static void header(reader_t *rd, char **f, int n)
{
	const char *const *want = rd->kind == AMAZON_REPORT_ORDERS ? order_cols : listing_cols;
	int nwant = rd->kind == AMAZON_REPORT_ORDERS ? O_N : L_N;
	for (int c = 0; c < nwant; c++) {
		rd->col[c] = -1;
		for (int i = 0; i < n; i++)
			if (strcmp(f[i], want[c]) == 0)
				rd->col[c] = i;
	}
	rd->header_seen = true;
}

/* Whether s (len bytes) is well-formed UTF-8. */
static bool utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = c < 0x80		? 1
			   : (c & 0xe0) == 0xc0 ? 2
			   : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4
						: 0;
		if (n == 0 || i + n > len || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4))
			return false;
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		if ((n == 3 && c == 0xe0 && s[i + 1] < 0xa0) ||
		    (n == 3 && c == 0xed && s[i + 1] > 0x9f) ||
		    (n == 4 && c == 0xf0 && s[i + 1] < 0x90) ||
		    (n == 4 && c == 0xf4 && s[i + 1] > 0x8f))
			return false;
		i += n;
	}
	return true;
}

static void line(reader_t *rd, char *s, size_t len);

/* A line that is not UTF-8 is ISO-8859-1, as Amazon's European flat files often are
 * (amazon.md 5.1): each byte is its code point. */
static void line_latin1(reader_t *rd, const char *s, size_t len)
{
	char *u = xmalloc(2 * len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			u[n++] = (char)c;
		} else {
			u[n++] = (char)(0xc0 | (c >> 6));
			u[n++] = (char)(0x80 | (c & 0x3f));
		}
	}
	u[n] = '\0';
	line(rd, u, n);
	free(u);
}

static void line(reader_t *rd, char *s, size_t len)
{
	if (len && s[len - 1] == '\r')
		s[--len] = '\0';
	if (len == 0)
		return;
	if (!utf8((const unsigned char *)s, len) || memchr(s, '\0', len)) {
		if (memchr(s, '\0', len)) { /* a NUL cannot be in a JSON string we make */
			if (rd->header_seen)
				rd->out->rows++, rd->out->bad++;
			return;
		}
		line_latin1(rd, s, len);
		return;
	}
	char *f[MAX_FIELDS];
	int n = 0;
	for (char *p = s; n < MAX_FIELDS;) {
		f[n++] = p;
		char *tab = strchr(p, '\t');
		if (!tab)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	if (!rd->header_seen) {
		header(rd, f, n);
		return;
	}
	rd->out->rows++;
	bool ok = rd->kind == AMAZON_REPORT_ORDERS ? order_line(rd, f, n) : listing_line(rd, f, n);
	if (!ok)
		rd->out->bad++;
}

/* Feeds bytes; complete lines go to line(), the rest waits in *pending. */
static void feed(reader_t *rd, char **pending, size_t *plen, size_t *pcap, const char *data,
		 size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		if (*plen + take + 1 > *pcap) {
			*pcap = (*plen + take + 1) * 2;
			*pending = xrealloc(*pending, *pcap);
		}
		memcpy(*pending + *plen, data, take);
		*plen += take;
		data += take + (nl ? 1 : 0);
		len -= take + (nl ? 1 : 0);
		if (!nl)
			break;
		(*pending)[*plen] = '\0';
		if (*plen <= ROW_MAX)
			line(rd, *pending, *plen);
		else if (rd->header_seen)
			rd->out->rows++, rd->out->bad++;
		*plen = 0;
	}
}

void amazon_report_read(enum amazon_report_kind kind, const char *data, size_t len,
			amazon_report_t *out)
{
	memset(out, 0, sizeof(*out));
	reader_t rd = {.kind = kind, .out = out, .chunk = json_array()};
	char *pending = NULL;
	size_t plen = 0, pcap = 0;
	bool gz = len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b;
	if (!gz) {
		feed(&rd, &pending, &plen, &pcap, data, len);
	} else {
		z_stream z = {0};
		if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
			snprintf(out->error, sizeof(out->error), "cannot start inflating");
		} else {
			unsigned char window[64 * 1024];
			z.next_in = (unsigned char *)(uintptr_t)data;
			z.avail_in = (uInt)len;
			int rc = Z_OK;
			while (rc == Z_OK) {
				z.next_out = window;
				z.avail_out = sizeof(window);
				rc = inflate(&z, Z_NO_FLUSH);
				feed(&rd, &pending, &plen, &pcap, (const char *)window,
				     sizeof(window) - z.avail_out);
				if (rc == Z_BUF_ERROR && z.avail_in == 0)
					break; /* truncated: what was read stands, the rest is lost
						*/
			}
			if (rc != Z_STREAM_END)
				snprintf(out->error, sizeof(out->error),
					 "the gzip document is truncated or corrupt (%s)",
					 z.msg ? z.msg : "unexpected end");
			inflateEnd(&z);
		}
	}
	if (plen) { /* a last line without its newline */
		feed(&rd, &pending, &plen, &pcap, "\n", 1);
	}
	if (!rd.header_seen && !out->error[0])
		snprintf(out->error, sizeof(out->error), "the document has no header row");
	order_close(&rd);
	chunk_close(&rd);
	json_decref(rd.chunk);
	free(pending);
}

void amazon_report_free(amazon_report_t *r)
{
	for (size_t i = 0; i < r->n_chunks; i++)
		free(r->chunks[i]);
	free(r->chunks);
	memset(r, 0, sizeof(*r));
}
