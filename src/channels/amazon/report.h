/* Reading a flat-file report document (amazon.md 5): gzip or plain (sniffed by its magic bytes,
 * whatever compressionAlgorithm said), tab-separated with a header row, fields found by header
 * name, short rows tolerated. The rows become the documents the channel's upserts take, in
 * chunks of at most AMAZON_REPORT_CHUNK documents (JSON array texts), so no statement holds a
 * whole report. A malformed row is counted and skipped, never fatal. Pure and thread-safe: it
 * runs on a worker thread. */
#ifndef SH_AMAZON_REPORT_H
#define SH_AMAZON_REPORT_H

#include <stddef.h>

/* 250: a chunk's store (every trigger of 250 orders) is one bulk statement of the database's
 * CPU; webhook acknowledgements commit between two (pg_query_bulk), so shorter ones keep them
 * waiting less. */
#define AMAZON_REPORT_CHUNK 250

enum amazon_report_kind {
	AMAZON_REPORT_ORDERS,	/* GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL */
	AMAZON_REPORT_LISTINGS, /* GET_MERCHANT_LISTINGS_ALL_DATA */
};

typedef struct amazon_report {
	char **chunks; /* JSON arrays of documents, malloc'd */
	size_t n_chunks;
	long rows, bad, docs; /* data rows read, of them skipped, documents made */
	char error[160];      /* set when the document could not be read at all */
} amazon_report_t;

/* Orders: one document per order (its rows are its lines), shaped like getOrders' Order with
 * an OrderItems array like getOrderItems' (amazon_orders_upsert takes both). Listings: one per
 * row, {SellerSKU, ASIN, Title, Price, Quantity, FulfillmentChannel, Status, OpenDate,
 * ListingId}. */
void amazon_report_read(enum amazon_report_kind kind, const char *data, size_t len,
			amazon_report_t *out);
void amazon_report_free(amazon_report_t *r);

#endif
