/* report.c: flat-file report documents into documents — by header name, gzip or plain, short
 * rows and CRLF tolerated, malformed rows counted and skipped (never the whole document), one
 * order per run of lines, chunks that never split an order. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "channels/amazon/report.h"

static const char orders_head[] =
    "amazon-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\t"
    "sku\tasin\tquantity\tcurrency\titem-price\titem-tax\tship-city\n";

static json_t *all_docs(const amazon_report_t *r)
{
	json_t *all = json_array();
	for (size_t i = 0; i < r->n_chunks; i++) {
		json_t *c = json_loads(r->chunks[i], 0, NULL);
		cr_assert(json_is_array(c), "chunk %zu is a JSON array", i);
		json_array_extend(all, c);
		json_decref(c);
	}
	return all;
}

Test(amazon_report, orders_group_their_lines_and_sum_their_total)
{
	const char doc[] =
	    "x\t2026-03-01T10:00:00+00:00\t2026-03-02T10:00:00+00:00\tShipped\tAmazon\t"
	    "S1\tB1\t2\tUSD\t20.00\t1.50\tRio\r\n"
	    "x\t2026-03-01T10:00:00+00:00\t2026-03-02T10:00:00+00:00\tShipped\tAmazon\t"
	    "S2\tB2\t1\tUSD\t5.5\t\tRio\n"
	    "y\t2026-03-03T10:00:00+00:00\t2026-03-03T11:00:00+00:00\tPending\tMerchant\t"
	    "S1\tB1\t1\t\t\t\n"; /* pending: no amounts, a short row */
	char text[2048];
	snprintf(text, sizeof(text), "%s%s", orders_head, doc);
	amazon_report_t r;
	amazon_report_read(AMAZON_REPORT_ORDERS, text, strlen(text), &r);
	cr_assert_str_empty(r.error);
	cr_assert_eq(r.rows, 3);
	cr_assert_eq(r.bad, 0);
	cr_assert_eq(r.docs, 2);
	json_t *all = all_docs(&r);
	json_t *x = json_array_get(all, 0), *y = json_array_get(all, 1);
	cr_assert_str_eq(json_string_value(json_object_get(x, "FulfillmentChannel")), "AFN");
	cr_assert_eq(json_array_size(json_object_get(x, "OrderItems")), 2);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(x, "OrderTotal"), "Amount")),
	    "27.00");
	cr_assert_str_eq(json_string_value(json_object_get(y, "FulfillmentChannel")), "MFN");
	cr_assert_null(json_object_get(y, "OrderTotal"), "a pending order has no amounts yet");
	json_decref(all);
	amazon_report_free(&r);
}

Test(amazon_report, malformed_rows_are_counted_and_skipped)
{
	const char doc[] =
	    "ok\t2026-03-01T10:00:00+00:00\t2026-03-01T10:00:00+00:00\tShipped\tAmazon\tS\tB\t1\tUSD\t1\t0\tA\n"
	    "\t2026-03-01T10:00:00+00:00\t2026-03-01T10:00:00+00:00\tShipped\tAmazon\tS\tB\t1\tUSD\t1\t0\tA\n"
	    "d1\t2026-02-30T10:00:00+00:00\t2026-03-01T10:00:00+00:00\tShipped\tAmazon\tS\tB\t1\tUSD\t1\t0\tA\n"
	    "d2\tyesterday\t2026-03-01T10:00:00+00:00\tShipped\tAmazon\tS\tB\t1\tUSD\t1\t0\tA\n"
	    "q1\t2026-03-01T10:00:00+00:00\t2026-03-01T10:00:00+00:00\tShipped\tAmazon\tS\tB\tmany\tUSD\t1\t0\tA\n"
	    "m1\t2026-03-01T10:00:00+00:00\t2026-03-01T10:00:00+00:00\tShipped\tAmazon\tS\tB\t1\tUSD\t1,50\t0\tA\n"
	    "cut\t2026-03-01T10:00:00+00:00\n";
	char text[4096];
	snprintf(text, sizeof(text), "%s%s", orders_head, doc);
	amazon_report_t r;
	amazon_report_read(AMAZON_REPORT_ORDERS, text, strlen(text), &r);
	cr_assert_eq(r.rows, 7);
	cr_assert_eq(r.bad, 6);
	cr_assert_eq(r.docs, 1);
	amazon_report_free(&r);
}

static size_t gzip(const char *in, size_t len, unsigned char *out, size_t cap)
{
	z_stream z = {0};
	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t n = cap - z.avail_out;
	deflateEnd(&z);
	return n;
}

Test(amazon_report, gzip_documents_in_chunks_and_truncated_ones)
{
	/* 2,500 orders of two lines: in whole chunks, no order split between two. */
	size_t cap = 1 << 20, len = 0;
	char *text = malloc(cap);
	len += (size_t)snprintf(text, cap, "%s", orders_head);
	for (int o = 0; o < 2500; o++)
		for (int k = 0; k < 2; k++)
			len += (size_t)snprintf(text + len, cap - len,
						"o%d\t2026-03-01T10:00:00Z\t2026-03-01T10:00:00Z\t"
						"Shipped\tAmazon\tS%d\tB\t1\tUSD\t1.00\t0\tA\n",
						o, k);
	unsigned char *gz = malloc(cap);
	size_t glen = gzip(text, len, gz, cap);
	amazon_report_t r;
	amazon_report_read(AMAZON_REPORT_ORDERS, (const char *)gz, glen, &r);
	cr_assert_str_empty(r.error);
	cr_assert_eq(r.docs, 2500);
	cr_assert_eq(r.n_chunks, (2500 + AMAZON_REPORT_CHUNK - 1) / AMAZON_REPORT_CHUNK);
	json_t *all = all_docs(&r);
	cr_assert_eq(json_array_size(all), 2500);
	for (size_t i = 0; i < 2500; i++)
		cr_assert_eq(json_array_size(json_object_get(json_array_get(all, i), "OrderItems")),
			     2);
	json_decref(all);
	amazon_report_free(&r);

	/* Cut in the middle: what was read stands, and the reader says so. */
	amazon_report_read(AMAZON_REPORT_ORDERS, (const char *)gz, glen / 2, &r);
	cr_assert_str_neq(r.error, "");
	cr_assert_gt(r.docs, 0);
	cr_assert_lt(r.docs, 2500);
	amazon_report_free(&r);
	free(gz);
	free(text);
}

Test(amazon_report, listings_by_header_name_whatever_their_order)
{
	const char text[] =
	    "status\tseller-sku\tquantity\tprice\tasin1\titem-name\tBusiness Price\t"
	    "fulfillment-channel\n"
	    "Active\tSKU-1\t5\t19.90\tB01\tLamp\t18.00\tDEFAULT\n"
	    "Active\tSKU-2\t\t9.90\tB02\tShade\t\tAMAZON_NA\n"
	    "Inactive\t\t3\t1.00\tB03\tNo SKU\t\tDEFAULT\n";
	amazon_report_t r;
	amazon_report_read(AMAZON_REPORT_LISTINGS, text, strlen(text), &r);
	cr_assert_eq(r.docs, 2);
	cr_assert_eq(r.bad, 1);
	json_t *all = all_docs(&r);
	json_t *a = json_array_get(all, 0), *b = json_array_get(all, 1);
	cr_assert_str_eq(json_string_value(json_object_get(a, "SellerSKU")), "SKU-1");
	cr_assert_eq(json_integer_value(json_object_get(a, "Quantity")), 5);
	cr_assert_null(json_object_get(b, "Quantity"), "an FBA listing's stock is Amazon's");
	json_decref(all);
	amazon_report_free(&r);

	amazon_report_read(AMAZON_REPORT_LISTINGS, "", 0, &r);
	cr_assert_str_neq(r.error, "", "no header row");
	amazon_report_free(&r);
}

Test(amazon_report, a_latin1_row_becomes_utf8)
{
	/* "São Paulo" and "Luminária" in ISO-8859-1, as European flat files come. */
	const char text[] = "item-name\tseller-sku\tprice\n"
			    "Lumin\xe1ria S\xe3o Paulo\tSKU-1\t10.00\n";
	amazon_report_t r;
	amazon_report_read(AMAZON_REPORT_LISTINGS, text, strlen(text), &r);
	cr_assert_eq(r.docs, 1);
	cr_assert_eq(r.bad, 0);
	json_t *all = all_docs(&r);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "Title")),
			 "Lumin\xc3\xa1ria S\xc3\xa3o Paulo");
	json_decref(all);
	amazon_report_free(&r);
}
