/* Every channel's synced orders (orders, order_items, payments, shipments and the per-day
 * totals order_days, sql/0013_neutral_data.sql), as the tenant reads them. */
#ifndef SH_ORDERS_H
#define SH_ORDERS_H

#include "app.h"
#include "paging.h"

/* A list's filters; NULL is no filter. from and to bound date_created (ISO-8601 dates or
 * date-times, as PostgreSQL reads a timestamptz); fulfillment is order_fulfillment's value
 * (sql/0028; each channel's list is channel_t.fulfillments); the amounts bound total_amount
 * (decimal text). */
typedef struct orders_filter {
	const char *account_id, *status, *from, *to, *channel;
	const char *fulfillment, *min_amount, *max_amount;
	const char *oversold; /* "true" or "false": orders flagged oversold (sql/0023) or not */
} orders_filter_t;
bool orders_filter_empty(const orders_filter_t *f);

/* The columns of orders_list's rows, in order. Times are timestamptz text in UTC
 * ("2026-10-25 10:00:00.123456+00", pg.c pins the session's zone); ORDER_TAGS is a JSON array
 * (or NULL); the amounts are numeric text, the buyer and pack ids bigint text. */
enum order_col {
	ORDER_ID,
	ORDER_ACCOUNT_ID,
	ORDER_EXTERNAL_ID,
	ORDER_STATUS,
	ORDER_STATUS_DETAIL,
	ORDER_DATE_CREATED,
	ORDER_DATE_CLOSED,
	ORDER_LAST_UPDATED,
	ORDER_TOTAL_AMOUNT,
	ORDER_PAID_AMOUNT,
	ORDER_CURRENCY,
	ORDER_BUYER_ID,
	ORDER_BUYER_NICKNAME,
	ORDER_PACK_ID,
	ORDER_SHIPMENT_EXTERNAL_ID,
	ORDER_TAGS,
	ORDER_CHANNEL,
	ORDER_OVERSOLD, /* "t" or "f" */
	ORDER_NCOLS
};

/* The tenant's orders that pass f, newest first (date_created, then id): cb gets the page's
 * rows (enum order_col) and the count of every page's. A keyset cursor is the last row's
 * ORDER_DATE_CREATED and ORDER_ID. */
void orders_list(app_t *app, const char *tenant_id, const orders_filter_t *f, const page_t *page,
		 paging_cb cb, void *arg);

/* The figures of every order that passes f: cb gets one row (enum order_summary_col; numbers
 * as decimal text, the currency NULL when there is no order). */
enum order_summary_col {
	ORDER_SUMMARY_COUNT,
	ORDER_SUMMARY_REVENUE,
	ORDER_SUMMARY_AVERAGE,
	ORDER_SUMMARY_UNITS,
	ORDER_SUMMARY_CURRENCY
};
void orders_summary(app_t *app, const char *tenant_id, const orders_filter_t *f, pg_cb cb,
		    void *arg);

/* One order of the tenant: cb gets no row (no such order) or one whose one column is its JSON
 * {order, items, payments, shipment, financial} (financial: revenue, refunds, fees {marketplace,
 * shipping, total}, productCost, units, profit, margin %, currency: sql/0028's order_figures). */
void orders_get(app_t *app, const char *tenant_id, const char *id, pg_cb cb, void *arg);

/* The tenant's (or one account's, account_id not NULL) orders per UTC day from from_day to
 * to_day (YYYY-MM-DD, both included), days without orders left out: cb gets one row a day,
 * oldest first, with the columns of enum order_day_col; every row repeats the period's totals.
 * Revenue counts the orders not cancelled or invalid. */
enum order_day_col {
	ORDER_DAY_DATE,
	ORDER_DAY_COUNT,
	ORDER_DAY_REVENUE,
	ORDER_DAY_AVERAGE_TICKET,
	ORDER_DAY_CURRENCY,
	ORDER_PERIOD_COUNT,
	ORDER_PERIOD_REVENUE,
	ORDER_PERIOD_AVERAGE_TICKET,
	ORDER_PERIOD_CURRENCY
};
void orders_per_day(app_t *app, const char *tenant_id, const char *account_id, const char *from_day,
		    const char *to_day, pg_cb cb, void *arg);

#endif
