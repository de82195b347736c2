/* Reports API 2021-06-30: createReport (202 {reportId}), getReport moving IN_QUEUE → IN_PROGRESS
 * → DONE as marketsim's clock passes (CANCELLED when the range holds no data, or when cancelled
 * while queued), getReports, cancelReport, and getReportDocument, whose URL points at a separate
 * path (/amazon-reports/, standing in for S3) and expires 300 s after it was made.
 *
 * A document is never built in memory: its tab-separated rows are rendered from the seller's
 * data while the connection drains, 64 KB at a time, through zlib when GZIP. Supported types:
 * GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL (and ..._BY_ORDER_DATE_GENERAL), one row
 * per order line, and GET_MERCHANT_LISTINGS_ALL_DATA, one row per SKU. */
#include "amazon.h"
#include "rng.h"

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "http_method.h"
#include "util.h"

#define DOC_URL_LIFE_MS 300000LL
#define CHUNK		(64 * 1024)
#define REPORT_BASE	50000000001LL
#define DAY_MS		86400000LL

enum rtype { RT_ORDERS_BY_UPDATE, RT_ORDERS_BY_DATE, RT_LISTINGS };
static const char *const type_names[] = {"GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
					 "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
					 "GET_MERCHANT_LISTINGS_ALL_DATA"};
#define N_TYPES 3

struct am_report {
	char id[24], doc_id[80];
	size_t seller;
	int type;
	int64_t created_ms, start_ms, end_ms;
	bool cancelled;
	bool fatal; /* ends FATAL (POST /_sim/amazon/reports/fail) */
};

enum rstatus { RS_IN_QUEUE, RS_IN_PROGRESS, RS_DONE, RS_CANCELLED, RS_FATAL };
static const char *const status_names[] = {"IN_QUEUE", "IN_PROGRESS", "DONE", "CANCELLED", "FATAL"};

/* One document being sent; owned by the state's list, freed when sent or when its connection
 * closes (or with the state, on reset and at exit). */
struct am_stream {
	am_stream_t *prev, *next;
	am_state_t *a;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	const am_seller_t *seller;
	const am_report_t *report;
	size_t pos; /* next order position or SKU */
	bool gzip;
	z_stream z;
	struct evbuffer *text;
};

static void stream_free(am_stream_t *st)
{
	am_state_t *a = st->a;
	if (st->prev)
		st->prev->next = st->next;
	else
		a->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	if (st->gzip)
		deflateEnd(&st->z);
	evbuffer_free(st->text);
	free(st);
}

void am_reports_free(am_state_t *a)
{
	while (a->streams) {
		/* A reset while a document is being sent: drop its connection. */
		struct evhttp_connection *c = a->streams->conn;
		evhttp_connection_set_closecb(c, NULL, NULL);
		stream_free(a->streams);
		evhttp_connection_free(c);
	}
	free(a->reports);
}

static enum rstatus report_status(ms_t *ms, const am_report_t *rp, bool *has_rows);

/* ---- rows ---- */

static void tsv_time(int64_t wall_ms, char *buf, size_t size)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

static void cents(char *buf, size_t size, int64_t c)
{
	snprintf(buf, size, "%lld.%02lld", (long long)(c / 100), (long long)(c % 100));
}

static const char order_header[] =
    "amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\t"
    "fulfillment-channel\tsales-channel\torder-channel\tship-service-level\tproduct-name\tsku\t"
    "asin\titem-status\tquantity\tcurrency\titem-price\titem-tax\tshipping-price\tshipping-tax\t"
    "gift-wrap-price\tgift-wrap-tax\titem-promotion-discount\tship-promotion-discount\t"
    "ship-city\tship-state\tship-postal-code\tship-country\tpromotion-ids\tis-business-order\t"
    "purchase-order-number\tprice-designation\n";

static const char listing_header[] =
    "item-name\titem-description\tlisting-id\tseller-sku\tprice\tquantity\topen-date\t"
    "image-url\titem-is-marketplace\tproduct-id-type\tzshop-shipping-fee\titem-note\t"
    "item-condition\tzshop-category1\tzshop-browse-path\tzshop-storefront-feature\tasin1\t"
    "asin2\tasin3\twill-ship-internationally\texpedited-shipping\tzshop-boldface\tproduct-id\t"
    "bid-for-featured-placement\tadd-delete\tpending-quantity\tfulfillment-channel\t"
    "merchant-shipping-group\tstatus\n";

static bool by_update(const am_report_t *rp)
{
	return rp->type == RT_ORDERS_BY_UPDATE;
}

static int64_t order_key(const am_seller_t *s, const am_report_t *rp, size_t pos)
{
	const am_order_t *o = by_update(rp) ? &s->orders[s->by_update[pos]] : &s->orders[pos];
	return by_update(rp) ? o->updated_ms : o->purchase_ms;
}

/* First position of the report's sort at or after its start. */
static size_t first_order(const am_seller_t *s, const am_report_t *rp)
{
	size_t lo = 0, hi = s->n_orders;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (order_key(s, rp, mid) < rp->start_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void order_rows(struct evbuffer *out, const am_seller_t *s, const am_order_t *o)
{
	const char *city, *state, *zip;
	am_order_address(o, &city, &state, &zip);
	char purchase[40], updated[40];
	tsv_time(o->purchase_ms, purchase, sizeof(purchase));
	tsv_time(o->updated_ms, updated, sizeof(updated));
	for (int k = 0; k < o->n_items; k++) {
		const am_item_t *it = &s->items[o->first_item + k];
		const am_sku_t *sku = &s->skus[it->sku];
		char title[160], price[24] = "", tax[24] = "", ship[24] = "", promo[24] = "";
		if (o->status != AM_PENDING) {
			cents(price, sizeof(price), (int64_t)it->unit_cents * it->qty);
			cents(tax, sizeof(tax), it->tax_cents);
			cents(ship, sizeof(ship), it->ship_cents);
			cents(promo, sizeof(promo), -(int64_t)it->promo_cents);
		}
		const char *item_status = o->status == AM_CANCELED ? "Cancelled"
					  : it->shipped		   ? "Shipped"
								   : "Unshipped";
		evbuffer_add_printf(
		    out,
		    "%s\t%s\t%s\t%s\t%s\t%s\tAmazon.com\t\t%s\t%s\t%s\t%s\t%s\t%d\tUSD\t%s\t%s\t%s\t%s"
		    "\t\t\t%s\t%s\t%s\t%s\t%s\tUS\t%s\t%s\t\t\n",
		    o->id, o->id, purchase, updated, am_status_names[o->status],
		    o->afn ? "Amazon" : "Merchant", am_order_ship_level(o),
		    am_sku_title(sku, title, sizeof(title)), sku->sku, sku->asin, item_status,
		    it->qty, price, tax, ship, o->status != AM_PENDING ? "0.00" : "", promo,
		    o->status != AM_PENDING ? "0.00" : "", city, state, zip,
		    it->promo_cents ? "US Core Free Shipping" : "", o->business ? "true" : "false");
	}
}

static void listing_row(struct evbuffer *out, const am_seller_t *s, size_t i)
{
	const am_sku_t *k = &s->skus[i];
	char title[160], price[24], open[40], qty[16] = "";
	am_sku_title(k, title, sizeof(title));
	cents(price, sizeof(price), k->price_cents);
	time_t t = (time_t)(k->open_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(open, sizeof(open), "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (!k->afn)
		snprintf(qty, sizeof(qty), "%d", k->quantity);
	bool active = k->afn ? k->quantity > 0 : k->quantity > 0;
	evbuffer_add_printf(
	    out,
	    "%s\t%s by %s\t%.3s%07zu\t%s\t%s\t%s\t%s\t\ty\t1\t\t\t11\t\t\t\t%s\t\t\t"
	    "\t\t\t%s\t\t\t\t%s\tMigrated Template\t%s\n",
	    title, am_products[k->product].title, am_sku_brand(k), s->id + 1, i + 1, k->sku, price,
	    qty, open, k->asin, k->asin, k->afn ? "AMAZON_NA" : "DEFAULT",
	    active ? "Active" : "Inactive");
}

/* Render rows into out until it holds about `limit` bytes; false when the data is exhausted. */
static bool render(struct evbuffer *out, const am_seller_t *s, const am_report_t *rp, size_t *pos,
		   size_t limit)
{
	if (rp->type == RT_LISTINGS) {
		for (; *pos < s->n_skus && evbuffer_get_length(out) < limit; (*pos)++)
			listing_row(out, s, *pos);
		return *pos < s->n_skus;
	}
	for (; *pos < s->n_orders && evbuffer_get_length(out) < limit; (*pos)++) {
		if (order_key(s, rp, *pos) > rp->end_ms) {
			*pos = s->n_orders;
			break;
		}
		order_rows(out, s,
			   by_update(rp) ? &s->orders[s->by_update[*pos]] : &s->orders[*pos]);
	}
	return *pos < s->n_orders;
}

static bool report_has_rows(const am_seller_t *s, const am_report_t *rp)
{
	if (rp->type == RT_LISTINGS)
		return s->n_skus > 0;
	size_t pos = first_order(s, rp);
	return pos < s->n_orders && order_key(s, rp, pos) <= rp->end_ms;
}

/* ---- the report's life ---- */

static enum rstatus report_status(ms_t *ms, const am_report_t *rp, bool *has_rows)
{
	int64_t age = ms_wall_ms(ms) - rp->created_ms;
	int64_t queue = (int64_t)(ms->opt.amazon_report_queue_s * 1000);
	int64_t build = (int64_t)(ms->opt.amazon_report_build_s * 1000);
	if (rp->cancelled)
		return RS_CANCELLED;
	if (age < queue)
		return RS_IN_QUEUE;
	if (age < queue + build)
		return RS_IN_PROGRESS;
	if (rp->fatal)
		return RS_FATAL;
	*has_rows = report_has_rows(&ms->amazon->sellers[rp->seller], rp);
	return *has_rows ? RS_DONE : RS_CANCELLED;
}

static json_t *report_json(ms_t *ms, const am_report_t *rp)
{
	bool rows = false;
	enum rstatus st = report_status(ms, rp, &rows);
	int64_t queue = (int64_t)(ms->opt.amazon_report_queue_s * 1000);
	int64_t build = (int64_t)(ms->opt.amazon_report_build_s * 1000);
	json_t *j = json_pack("{s:s, s:s, s:[s], s:o, s:o, s:o, s:s}", "reportId", rp->id,
			      "reportType", type_names[rp->type], "marketplaceIds", AM_MARKETPLACE,
			      "dataStartTime", am_time_json(rp->start_ms), "dataEndTime",
			      am_time_json(rp->end_ms), "createdTime", am_time_json(rp->created_ms),
			      "processingStatus", status_names[st]);
	if (st != RS_IN_QUEUE && !rp->cancelled)
		json_object_set_new(j, "processingStartTime", am_time_json(rp->created_ms + queue));
	if (st == RS_DONE || st == RS_FATAL || (st == RS_CANCELLED && !rp->cancelled))
		json_object_set_new(j, "processingEndTime",
				    am_time_json(rp->created_ms + queue + build));
	if (st == RS_DONE)
		json_object_set_new(j, "reportDocumentId", json_string(rp->doc_id));
	return j;
}

static am_report_t *report_find(ms_req_t *r, const char *id)
{
	am_state_t *a = r->ms->amazon;
	am_seller_t *s = am_req_seller(r);
	for (size_t i = 0; i < a->n_reports; i++)
		if (strcmp(a->reports[i].id, id) == 0 && &a->sellers[a->reports[i].seller] == s)
			return &a->reports[i];
	return NULL;
}

void h_am_report_create(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	am_seller_t *s = am_req_seller(r);
	json_t *body = ms_body_json(r);
	const char *type = json_string_value(json_object_get(body, "reportType"));
	json_t *mkts = json_object_get(body, "marketplaceIds");
	json_t *start = json_object_get(body, "dataStartTime");
	json_t *end = json_object_get(body, "dataEndTime");
	int64_t now = ms_wall_ms(r->ms), start_ms = now, end_ms = now;
	int t = 0;
	while (type && t < N_TYPES && strcmp(type, type_names[t]) != 0)
		t++;
	const char *bad = NULL;
	bool mkt_ok = false;
	for (size_t i = 0; i < json_array_size(mkts); i++)
		mkt_ok |= json_is_string(json_array_get(mkts, i)) &&
			  strcmp(json_string_value(json_array_get(mkts, i)), AM_MARKETPLACE) == 0;
	if (!body)
		bad = "The request body must be a JSON object";
	else if (!type)
		bad = "reportType is required";
	else if (t == N_TYPES)
		bad = "This report type is not supported by marketsim";
	else if (!json_is_array(mkts) || json_array_size(mkts) == 0)
		bad = "marketplaceIds is required";
	else if (!mkt_ok)
		bad = "The seller does not participate in the given marketplaceIds";
	else if ((start && (!json_is_string(start) ||
			    !ms_time_parse(json_string_value(start), &start_ms))) ||
		 (end && (!json_is_string(end) || !ms_time_parse(json_string_value(end), &end_ms))))
		bad = "dataStartTime and dataEndTime must be ISO 8601 date-times";
	else if (start_ms > now || end_ms > now)
		bad = "dataStartTime and dataEndTime cannot be in the future";
	else if (start_ms > end_ms)
		bad = "dataStartTime must be before dataEndTime";
	json_decref(body);
	if (bad) {
		am_error(r, 400, "InvalidInput", "%s", bad);
		return;
	}
	if (a->n_reports == a->cap_reports) {
		a->cap_reports = a->cap_reports ? a->cap_reports * 2 : 16;
		a->reports = xrealloc(a->reports, a->cap_reports * sizeof(*a->reports));
	}
	am_report_t *rp = &a->reports[a->n_reports];
	memset(rp, 0, sizeof(*rp));
	snprintf(rp->id, sizeof(rp->id), "%lld", REPORT_BASE + (long long)a->n_reports);
	snprintf(rp->doc_id, sizeof(rp->doc_id), "amzn1.spdoc.1.4.na.%08x-%04x-%04x-%04x-%012llx",
		 (unsigned)rng_next(&a->rng), (unsigned)a->n_reports & 0xffff,
		 (unsigned)(rng_next(&a->rng) & 0xffff), (unsigned)(rng_next(&a->rng) & 0xffff),
		 (unsigned long long)(REPORT_BASE + (long long)a->n_reports));
	rp->seller = (size_t)(s - a->sellers);
	rp->type = t;
	rp->created_ms = now;
	rp->start_ms = start_ms;
	rp->end_ms = end_ms;
	if (a->fail_reports[t] > 0) {
		a->fail_reports[t]--;
		rp->fatal = true;
	}
	a->n_reports++;
	am_reply(r, 202, json_pack("{s:s}", "reportId", rp->id));
}

void h_am_report_get(ms_req_t *r)
{
	am_report_t *rp = report_find(r, r->params[0]);
	if (!rp) {
		am_error(r, 404, "NotFound", "Report %s was not found", r->params[0]);
		return;
	}
	am_reply(r, 200, report_json(r->ms, rp));
}

void h_am_report_cancel(ms_req_t *r)
{
	am_report_t *rp = report_find(r, r->params[0]);
	bool rows;
	if (!rp) {
		am_error(r, 404, "NotFound", "Report %s was not found", r->params[0]);
		return;
	}
	if (report_status(r->ms, rp, &rows) != RS_IN_QUEUE) {
		am_error(r, 400, "InvalidInput", "Only a report that is IN_QUEUE can be cancelled");
		return;
	}
	rp->cancelled = true;
	am_reply(r, 200, NULL);
}

void h_am_reports_list(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	am_seller_t *s = am_req_seller(r);
	size_t n_types = 0, n_status = 0;
	const char **types = am_csv(r, "reportTypes", &n_types);
	const char **statuses = am_csv(r, "processingStatuses", &n_status);
	long page, pos = 0;
	int64_t since = ms_wall_ms(r->ms) - 90 * DAY_MS;
	bool set;
	const char *next = ms_arg(r, "nextToken");
	json_t *c = next ? am_token_decode(r, next, "getReports") : NULL;
	if (next && !c)
		return;
	if (c) {
		page = (long)json_integer_value(json_object_get(c, "n"));
		pos = (long)json_integer_value(json_object_get(c, "p"));
		since = json_integer_value(json_object_get(c, "c"));
		/* The token is sent alone: the filters come back from it. */
		types = am_csv_split(
		    r->arena, arena_strdup(r->arena, json_string_value(json_object_get(c, "t"))),
		    &n_types);
		statuses = am_csv_split(
		    r->arena, arena_strdup(r->arena, json_string_value(json_object_get(c, "st"))),
		    &n_status);
		json_decref(c);
	} else {
		if (!am_arg_int(r, "pageSize", 1, 100, 10, &page) ||
		    !am_arg_time(r, "createdSince", &since, &set))
			return;
		if (!n_types) {
			am_error(r, 400, "InvalidInput", "reportTypes is required");
			return;
		}
	}
	json_t *list = json_array();
	size_t i = (size_t)pos;
	bool more = false;
	for (; i < a->n_reports; i++) {
		am_report_t *rp = &a->reports[i];
		bool rows;
		if (&a->sellers[rp->seller] != s || rp->created_ms < since ||
		    !am_csv_has(types, n_types, type_names[rp->type]))
			continue;
		if (n_status &&
		    !am_csv_has(statuses, n_status, status_names[report_status(r->ms, rp, &rows)]))
			continue;
		if ((long)json_array_size(list) == page) {
			more = true;
			break;
		}
		json_array_append_new(list, report_json(r->ms, rp));
	}
	json_t *body = json_pack("{s:o}", "reports", list);
	if (more) {
		const char *ts = "", *ss = "";
		for (size_t k = 0; k < n_types; k++)
			ts = arena_printf(r->arena, "%s%s%s", ts, k ? "," : "", types[k]);
		for (size_t k = 0; k < n_status; k++)
			ss = arena_printf(r->arena, "%s%s%s", ss, k ? "," : "", statuses[k]);
		json_t *cursor =
		    json_pack("{s:i, s:I, s:I, s:s, s:s}", "n", (int)page, "p", (json_int_t)i, "c",
			      (json_int_t)since, "t", ts, "st", ss);
		json_object_set_new(body, "nextToken",
				    json_string(am_token_encode(r, "getReports", cursor, DAY_MS)));
	}
	am_reply(r, 200, body);
}

/* ---- documents ---- */

static void sign(const am_state_t *a, const char *doc_id, long long date_s, bool encoding,
		 char out[65])
{
	char msg[160];
	unsigned char mac[32];
	unsigned len = 0;
	snprintf(msg, sizeof(msg), "%s|%lld|%d", doc_id, date_s, encoding);
	HMAC(EVP_sha256(), a->url_key, sizeof(a->url_key), (const unsigned char *)msg, strlen(msg),
	     mac, &len);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

void h_am_report_document(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	am_seller_t *s = am_req_seller(r);
	am_report_t *rp = NULL;
	bool rows;
	for (size_t i = 0; i < a->n_reports; i++)
		if (strcmp(a->reports[i].doc_id, r->params[0]) == 0 &&
		    &a->sellers[a->reports[i].seller] == s)
			rp = &a->reports[i];
	if (!rp || report_status(r->ms, rp, &rows) != RS_DONE) {
		am_error(r, 404, "NotFound", "Report document %s was not found", r->params[0]);
		return;
	}
	const char *enc = ms_arg(r, "enableContentEncodingUrlHeader");
	bool encoding = enc && strcmp(enc, "true") == 0 && !r->ms->opt.amazon_report_plain;
	long long date_s = ms_wall_ms(r->ms) / 1000;
	char sig[65], date[20], port[16];
	sign(a, rp->doc_id, date_s, encoding, sig);
	time_t t = (time_t)date_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(port, sizeof(port), "%d", r->ms->opt.port);
	const char *host = ms_header(r, "Host");
	char *url = arena_printf(
	    r->arena,
	    "http://%s%s%s/amazon-reports/%s?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=%s"
	    "&X-Amz-Expires=300%s&X-Amz-SignedHeaders=host&X-Amz-Signature=%s",
	    host ? host : "127.0.0.1", host ? "" : ":", host ? "" : port, rp->doc_id, date,
	    encoding ? "&response-content-encoding=gzip" : "", sig);
	json_t *body = json_pack("{s:s, s:s}", "reportDocumentId", rp->doc_id, "url", url);
	if (!r->ms->opt.amazon_report_plain && !encoding)
		json_object_set_new(body, "compressionAlgorithm", json_string("GZIP"));
	am_reply(r, 200, body);
}

static void s3_error(ms_req_t *r, int status, const char *code, const char *message)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b,
			    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
			    "<Message>%s</Message></Error>",
			    code, message);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type",
			  "application/xml");
	evhttp_send_reply(r->req, status, NULL, b);
	evbuffer_free(b);
	r->status = status;
	ms_traffic_record(r->ms->traffic, http_method_name(r->method), r->path, r->query, status,
			  ms_wall_ms(r->ms));
}

static void on_chunk_sent(struct evhttp_connection *conn, void *arg);

/* Send the next chunk; at the end, finish the reply and free the stream. */
static void pump(am_stream_t *st)
{
	struct evbuffer *out = evbuffer_new();
	bool more;
	do { /* zlib may keep a whole chunk to itself: render on until it gives something */
		more = render(st->text, st->seller, st->report, &st->pos, CHUNK);
		if (!st->gzip) {
			evbuffer_add_buffer(out, st->text);
			continue;
		}
		size_t n = evbuffer_get_length(st->text);
		st->z.next_in = evbuffer_pullup(st->text, -1);
		st->z.avail_in = (uInt)n;
		unsigned char buf[16384];
		int rc;
		do {
			st->z.next_out = buf;
			st->z.avail_out = sizeof(buf);
			rc = deflate(&st->z, more ? Z_NO_FLUSH : Z_FINISH);
			evbuffer_add(out, buf, sizeof(buf) - st->z.avail_out);
		} while (st->z.avail_out == 0 || (!more && rc != Z_STREAM_END));
		evbuffer_drain(st->text, n);
	} while (more && evbuffer_get_length(out) == 0);
	if (more) {
		evhttp_send_reply_chunk_with_cb(st->req, out, on_chunk_sent, st);
		evbuffer_free(out);
		return;
	}
	if (evbuffer_get_length(out))
		evhttp_send_reply_chunk(st->req, out);
	evbuffer_free(out);
	evhttp_connection_set_closecb(st->conn, NULL, NULL);
	evhttp_send_reply_end(st->req);
	stream_free(st);
}

static void on_chunk_sent(struct evhttp_connection *conn, void *arg)
{
	pump(arg);
}

/* The connection closes mid-document. When the client left, libevent has already detached the
 * unfinished request and leaves it to us; when the connection itself is being freed (exit), the
 * request is still attached and goes with it. */
static void on_close(struct evhttp_connection *conn, void *arg)
{
	am_stream_t *st = arg;
	if (!evhttp_request_get_connection(st->req))
		evhttp_request_free(st->req);
	stream_free(st);
}

void h_am_document_download(ms_req_t *r)
{
	am_state_t *a = r->ms->amazon;
	const char *date = ms_arg(r, "X-Amz-Date"), *sig = ms_arg(r, "X-Amz-Signature");
	const char *enc = ms_arg(r, "response-content-encoding");
	am_report_t *rp = NULL;
	for (size_t i = 0; i < a->n_reports; i++)
		if (strcmp(a->reports[i].doc_id, r->params[0]) == 0)
			rp = &a->reports[i];
	struct tm tm = {0};
	const char *end = date ? strptime(date, "%Y%m%dT%H%M%SZ", &tm) : NULL;
	long long date_s = end && !*end ? (long long)timegm(&tm) : -1;
	char want[65];
	if (rp)
		sign(a, rp->doc_id, date_s, enc != NULL, want);
	if (!rp || !sig || date_s < 0 || strlen(sig) != 64 || CRYPTO_memcmp(sig, want, 64) != 0) {
		s3_error(r, 403, "AccessDenied",
			 "The request signature we calculated does not match the signature you "
			 "provided.");
		return;
	}
	if (ms_wall_ms(r->ms) > date_s * 1000 + DOC_URL_LIFE_MS) {
		s3_error(r, 403, "AccessDenied", "Request has expired");
		return;
	}
	am_stream_t *st = xcalloc(1, sizeof(*st));
	st->a = a;
	st->req = r->req;
	st->conn = evhttp_request_get_connection(r->req);
	st->seller = &a->sellers[rp->seller];
	st->report = rp;
	st->text = evbuffer_new();
	st->gzip = !r->ms->opt.amazon_report_plain;
	if (st->gzip && deflateInit2(&st->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		die("marketsim: deflateInit2 failed");
	evbuffer_add(st->text, rp->type == RT_LISTINGS ? listing_header : order_header,
		     strlen(rp->type == RT_LISTINGS ? listing_header : order_header));
	st->pos = rp->type == RT_LISTINGS ? 0 : first_order(st->seller, rp);
	st->next = a->streams;
	if (st->next)
		st->next->prev = st;
	a->streams = st;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	/* Like S3: the object's type, and Content-Encoding only when the URL asked for it. */
	evhttp_add_header(h, "Content-Type",
			  st->gzip && !enc ? "application/x-gzip" : "text/plain;charset=UTF-8");
	if (enc)
		evhttp_add_header(h, "Content-Encoding", "gzip");
	evhttp_connection_set_closecb(st->conn, on_close, st);
	evhttp_send_reply_start(r->req, 200, "OK");
	r->status = 200;
	ms_traffic_record(r->ms->traffic, http_method_name(r->method), r->path, r->query, 200,
			  ms_wall_ms(r->ms));
	pump(st);
}

/* POST /_sim/amazon/reports/fail {"reportType": "...", "count": n}: the next n reports of that
 * type end FATAL (Amazon's processing failed; no document). */
void h_sim_amazon_reports_fail(ms_req_t *r)
{
	json_t *body = ms_body_json(r);
	const char *type = json_string_value(json_object_get(body, "reportType"));
	json_t *count = json_object_get(body, "count");
	int t = 0;
	while (type && t < N_TYPES && strcmp(type, type_names[t]) != 0)
		t++;
	bool ok = type && t < N_TYPES && json_is_integer(count) && json_integer_value(count) >= 0 &&
		  json_integer_value(count) <= 1000;
	if (ok)
		r->ms->amazon->fail_reports[t] = (int)json_integer_value(count);
	json_decref(body);
	if (!ok) {
		ms_reply_error(r, 400, "bad_request",
			       "give reportType (a type marketsim builds) and count (0..1000)");
		return;
	}
	ms_reply_json(r, 200,
		      json_pack("{s:s, s:i}", "reportType", type_names[t], "count",
				r->ms->amazon->fail_reports[t]));
}
