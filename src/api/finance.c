/* /api/finance: the caller's tenant's revenue, costs and profit (finance.h). Parameters are
 * checked here, before any SQL. */
#include "api.h"
#include "finance.h"
#include "listing.h"
#include "permissions.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

#define FINANCE_MAX_YEARS 3
#define AMOUNT_MAX	  1e11 /* numeric(14, 2) holds less than 1e12 */

static const char *const periods[] = {"today", "week", "month", "quarter", "year", "custom", NULL};

/* ?period (default month; custom takes startDate and endDate), ?channel into q. */
static void query_parse(req_t *r, finance_query_t *q, json_t **d)
{
	q->tenant_id = r->tenant_id;
	q->channel = list_channel_param(r, d);
	q->period = validate_query_enum(r, "period", periods, d);
	if (!q->period)
		q->period = http_query(r, "startDate") ? "custom" : "month";
	if (strcmp(q->period, "custom") == 0) {
		char *s = arena_alloc(r->arena, 11), *e = arena_alloc(r->arena, 11);
		if (validate_query_days(r, "startDate", "endDate", FINANCE_MAX_YEARS, s, e, d)) {
			q->start = s;
			q->end = e;
		}
	}
}

static void summary(req_t *r)
{
	static const char *const groups[] = {"day", "week", "month", NULL};
	if (!perm_require(r, "reports.view"))
		return;
	json_t *d = NULL;
	finance_query_t q = {0};
	query_parse(r, &q, &d);
	const char *group = validate_query_enum(r, "groupBy", groups, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	finance_summary(r->app, &q, group ? group : "day", list_value_done,
			list_ctx(r, "finance: summary", NULL));
}

static void transactions(req_t *r)
{
	static const char *const types[] = {"sale",	   "refund", "fee", "shipping",
					    "advertising", "other",  NULL};
	if (!perm_require(r, "reports.view"))
		return;
	json_t *d = NULL;
	finance_query_t q = {0};
	query_parse(r, &q, &d);
	const char *type = validate_query_enum(r, "type", types, &d);
	const char *min = validate_query_amount(r, "minAmount", AMOUNT_MAX, &d);
	int page, limit;
	validate_page(r, &page, &limit, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	finance_transactions(r->app, &q, type, min, limit, (long long)(page - 1) * limit,
			     list_value_done, list_ctx(r, "finance: transactions", NULL));
}

static void pnl(req_t *r)
{
	static const char *const compare[] = {"previous_period", "previous_year", NULL};
	if (!perm_require(r, "reports.view"))
		return;
	json_t *d = NULL;
	char s[11], e[11];
	finance_query_t q = {.tenant_id = r->tenant_id, .period = "custom", .start = s, .end = e};
	q.channel = list_channel_param(r, &d);
	validate_query_days(r, "startDate", "endDate", FINANCE_MAX_YEARS, s, e, &d);
	const char *with = validate_query_enum(r, "compareWith", compare, &d);
	if (d) {
		http_invalid(r, d);
		return;
	}
	finance_pnl(r->app, &q, with, list_value_done, list_ctx(r, "finance: pnl", NULL));
}

void api_finance_routes(app_t *app)
{
	http_server_t *s = app->http;
	http_route(s, "GET", "/api/finance/summary", summary, ROUTE_AUTH,
		   "Revenue, costs and profit of a period with its trend and breakdowns (period, "
		   "startDate, endDate, groupBy, channel)");
	http_route(
	    s, "GET", "/api/finance/transactions", transactions, ROUTE_AUTH,
	    "The money movements of a period: its orders' sales, refunds, fees, shipping, and the "
	    "accounts' advertising and other costs (type, minAmount, page, limit)");
	http_route(s, "GET", "/api/finance/pnl", pnl, ROUTE_AUTH,
		   "A period's profit and loss statement with a comparison period and variance "
		   "(startDate, endDate, compareWith)");
}
