/* The tenant's money over a period (GET /api/finance/summary, /transactions, /pnl), from every
 * channel's orders, lines, payments (fees, refunds) and shipments: see sql/0028's
 * order_figures for what each figure counts. Periods are cut in the tenant's time zone. Each
 * call's cb gets one row whose one column is the answer's JSON text. */
#ifndef SH_FINANCE_H
#define SH_FINANCE_H

#include "app.h"

/* period: today|week|month|quarter|year (the current one) or custom (start..end, YYYY-MM-DD,
 * both included); channel NULL for all. */
typedef struct finance_query {
	const char *tenant_id, *period, *start, *end, *channel;
} finance_query_t;

/* {period, revenue {gross, net, refunds, trend}, costs {product, marketplaceFees, advertising,
 * shipping, other, total}, profit {gross, net, margin}, breakdown {byChannel, byCategory,
 * byProduct}, currency}; group_by: day|week|month, the trend's buckets. advertising and other
 * are the account costs of the period (account_costs, sql/0039: Amazon's ad spend and service
 * fees); Mercado Livre's order data has no ad cost, so they stay 0 for ML. */
void finance_summary(app_t *app, const finance_query_t *q, const char *group_by, pg_cb cb,
		     void *arg);
/* {transactions, totals {credits, debits, net}, pagination}; type: sale|refund|fee|shipping
 * (NULL: all); min_amount: the smallest size (decimal text, NULL: any). */
void finance_transactions(app_t *app, const finance_query_t *q, const char *type,
			  const char *min_amount, int limit, long long offset, pg_cb cb, void *arg);
/* {current, comparison?, variance?}: q's custom days as a statement {revenue, cogs, grossProfit,
 * operatingExpenses, netIncome} with line items; compare_with: previous_period|previous_year
 * (NULL: none). */
void finance_pnl(app_t *app, const finance_query_t *q, const char *compare_with, pg_cb cb,
		 void *arg);

#endif
